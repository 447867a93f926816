// AIMatrix model names as Agent Room model references: `local/<tag>` runs on this machine through Ollama,
// `api/<model>` on an OpenAI-compatible endpoint (the one in the settings, or a new `cloud` entry whose URL and key
// the person still has to give), and a bare name is whichever of those the same file already named.
import { settingsSchema } from '../../common/settings-schema.ts';
import type { Settings } from '../../common/settings-schema.ts';
import { uniqueId } from './import-support.ts';
import type { ImportReport } from './import-support.ts';

type OpenAIEndpoint = Settings['endpoints']['openai'][number];

/** Where the new endpoint points until the person sets it: `.invalid` never resolves, so nothing is sent anywhere. */
export const CLOUD_PLACEHOLDER_URL = 'https://cloud.invalid/v1';

const AGENT_ROOM_REF = /^(llama|ollama|ollama@[^:]+|openai):./;

export class AimatrixModels {
  readonly #settings: Settings;
  readonly #report: ImportReport;
  #endpoint: OpenAIEndpoint | undefined;
  #created = false;
  /** Bare name (`gpt-4`, `llama3:70b`) → the reference its prefixed form mapped to. */
  readonly #byName = new Map<string, string>();
  readonly #local = new Set<string>();
  readonly #cloud = new Set<string>();

  constructor(settings: Settings, report: ImportReport) {
    this.#settings = settings;
    this.#report = report;
  }

  /** The endpoint api/ models go to, once one was named. */
  get cloudEndpoint(): OpenAIEndpoint | undefined {
    return this.#endpoint;
  }

  /** The reference for an AIMatrix model name, or undefined (said in the report, `skipped` saying what was left out). */
  map(value: unknown, label: string, skipped: string): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') {
      this.#report.notMapped.push(`${label}: ${JSON.stringify(value)} is not a model name; ${skipped}.`);
      return undefined;
    }
    const name = value.trim();
    const local = /^local\/(.+)$/.exec(name)?.[1];
    if (local !== undefined) {
      this.#local.add(local);
      return this.#remember(local, `ollama:${local}`);
    }
    const api = /^api\/(.+)$/.exec(name)?.[1];
    if (api !== undefined) {
      this.#cloud.add(api);
      return this.#remember(api, `openai:${this.#cloudEndpoint().id}/${api}`);
    }
    if (AGENT_ROOM_REF.test(name)) return name;
    const known = this.#byName.get(name);
    if (known !== undefined) return known;
    this.#report.notMapped.push(
      `${label}: "${name}" does not say where it runs; write local/${name} (Ollama on this machine) or api/${name} (a cloud endpoint) and import again; ${skipped}.`,
    );
    return undefined;
  }

  #remember(name: string, ref: string): string {
    if (!this.#byName.has(name)) this.#byName.set(name, ref);
    return ref;
  }

  /** The only OpenAI-compatible endpoint in the settings, or a new `cloud` one with a placeholder URL. */
  #cloudEndpoint(): OpenAIEndpoint {
    if (this.#endpoint) return this.#endpoint;
    const list = this.#settings.endpoints.openai;
    if (list.length === 1) {
      this.#endpoint = list[0]!;
      this.#report.mapped.push(
        `api/<model> → openai:${this.#endpoint.id}/<model>, on "${this.#endpoint.id}" (${this.#endpoint.url}), the only OpenAI-compatible endpoint in the settings.`,
      );
      return this.#endpoint;
    }
    const id = uniqueId('cloud', (c) => list.some((e) => e.id === c));
    this.#endpoint = settingsSchema.shape.endpoints
      .unwrap()
      .shape.openai.unwrap()
      .element.parse({ id, url: CLOUD_PLACEHOLDER_URL });
    list.push(this.#endpoint);
    this.#created = true;
    const why =
      list.length === 1 ? 'the settings have none' : `the settings have ${list.length - 1}, so which one is unclear`;
    this.#report.mapped.push(
      `api/<model> → openai:${id}/<model>, on a new OpenAI-compatible endpoint "${id}" (${why}).`,
    );
    return this.#endpoint;
  }

  /** What the person still has to do for the models the file named: the cloud endpoint's URL and key, Ollama pulls. */
  finish(): void {
    const endpoint = this.#endpoint;
    const cloud = [...this.#cloud].map((m) => `api/${m}`).join(', ');
    if (endpoint && this.#created) {
      // Agent Room starts without it (only these models fail), so it is the first warning, not a start blocker.
      this.#report.warnings.unshift(
        `Endpoint "${endpoint.id}" serves ${cloud}, but the file does not say where: its URL is the placeholder ${CLOUD_PLACEHOLDER_URL}. ` +
          `Set its URL and key in the window (Settings → Cloud endpoints) or in settings.json (endpoints.openai, id "${endpoint.id}": "url" up to /v1, and "apiKeyRef": "env:VARIABLE" naming the environment variable that holds the key). ` +
          'Until then calls to these models fail.',
      );
    } else if (endpoint) {
      this.#report.warnings.push(
        `${cloud}: check that endpoint "${endpoint.id}" serves these model names (AIMatrix's short names such as claude-3 may need the endpoint's full name); change them in Settings → Tasks and Pipelines.`,
      );
    }
    if (this.#local.size > 0) {
      const tags = [...this.#local];
      const where =
        this.#settings.endpoints.ollama.length > 0
          ? `the Ollama endpoint ${this.#settings.endpoints.ollama[0]!.url}`
          : 'the Ollama that Agent Room finds at http://127.0.0.1:11434 (no Ollama endpoint is in the settings)';
      this.#report.warnings.push(
        `local/ models run on ${where}: pull ${tags.join(', ')} before their first use (\`ollama pull ${tags[0]}\`, or Models → Download or pull a model with ollama:${tags[0]}).`,
      );
    }
  }
}
