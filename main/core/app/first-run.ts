// First run: with no bots configured, make a team from what this machine already has (a GGUF on disk,
// an Ollama model), else from the plan's recommended model (recommend.ts), whose download starts at once unless
// settings.ui.downloadRecommendedModel is off (the window's first-run screen then waits for its button).
import type { ModelInfo } from '../../common/inference-types.ts';
import type { BotConfig } from '../../common/settings-schema.ts';
import { botSchema } from '../../common/settings-schema.ts';
import { BaseService } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { InferencePlan } from '../probe/plan.ts';
import type { SettingsStore } from '../settings/settings-store.ts';
import type { HardwareReport } from '../probe/report.ts';

export interface FirstRunInput {
  plan: InferencePlan;
  report: Pick<HardwareReport, 'ollama'>;
  /** Models found on disk (discovery), best first is not assumed. */
  discovered: ModelInfo[];
}

export interface FirstRunTeam {
  bots: BotConfig[];
  reason: string;
  /** The model reference the team still has to download (the recommended one), if any. */
  download?: string;
}

/** "qwen2.5-1.5b-instruct-q4_k_m" → "Qwen"; falls back to "Assistant". */
export function friendlyName(modelName: string): string {
  const family = /(qwen|llama|mistral|gemma|phi|deepseek|smollm|granite|olmo|tinyllama)/i.exec(modelName)?.[1];
  if (!family) return 'Assistant';
  const fixed: Record<string, string> = {
    deepseek: 'DeepSeek',
    smollm: 'SmolLM',
    tinyllama: 'TinyLlama',
    olmo: 'OLMo',
  };
  return fixed[family.toLowerCase()] ?? family.charAt(0).toUpperCase() + family.slice(1).toLowerCase();
}

function idFor(name: string, taken: Set<string>): string {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'assistant';
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}${n}`;
  taken.add(id);
  return id;
}

function bot(id: string, displayName: string, model: string): BotConfig {
  return botSchema.parse({ id, displayName, model, localOnly: true });
}

/** Pure: the team to create, and why. Local models only: a first run never sends anything off the machine. */
export function firstRunTeam({ plan, report, discovered }: FirstRunInput): FirstRunTeam {
  const budgetBytes = plan.memoryBudgetMiB * 1024 * 1024;
  const fits = discovered.filter(
    (m) => m.backend === 'llama' && (m.sizeBytes === undefined || m.sizeBytes <= budgetBytes),
  );
  // Prefer the largest model that fits: on-disk models are what the person already chose to download.
  fits.sort((a, b) => (b.sizeBytes ?? 0) - (a.sizeBytes ?? 0));
  const taken = new Set<string>();
  if (fits[0]) {
    const m = fits[0];
    const name = friendlyName(m.name);
    return { bots: [bot(idFor(name, taken), name, m.ref)], reason: `Using ${m.name} found on disk (${m.location}).` };
  }
  const ollamaModel = report.ollama.reachable ? report.ollama.models?.[0] : undefined;
  if (plan.backend === 'ollama' && ollamaModel) {
    const name = friendlyName(ollamaModel.name);
    return {
      bots: [bot(idFor(name, taken), name, `ollama:${ollamaModel.name}`)],
      reason: `Using ${ollamaModel.name} from Ollama at ${report.ollama.url}.`,
    };
  }
  const rec = plan.recommended;
  const name = friendlyName(rec.label);
  const by = plan.recommendedBy === 'node-llama-cpp' ? "by node-llama-cpp's fit estimate" : 'by the memory tier table';
  return {
    bots: [bot(idFor(name, taken), name, `llama:${rec.llama}`)],
    reason: `No model on disk: ${rec.label} (about ${rec.sizeMiB} MiB) is recommended for this machine ${by}.`,
    download: `llama:${rec.llama}`,
  };
}

/** Runs first: fills an empty team so the homeserver provisions bot accounts on the very first start. */
export class FirstRunService extends BaseService {
  readonly name = 'setup';
  reason: string | undefined;

  constructor(
    private readonly o: {
      settings: SettingsStore;
      getPlan: () => Promise<{ report: HardwareReport; plan: InferencePlan }>;
      discover: () => Promise<ModelInfo[]>;
      /** Starts downloading a model the bots wait for (model-download.ts); without it the window's button does. */
      startDownload?: (ref: string) => void;
      logger?: Logger;
    },
  ) {
    super();
  }

  async start(_signal: AbortSignal): Promise<void> {
    if (this.o.settings.get().bots.length > 0) {
      this.setState({ status: 'running', detail: 'team configured' });
      return;
    }
    this.setState({ status: 'starting' });
    const { report, plan } = await this.o.getPlan();
    const team = firstRunTeam({ plan, report, discovered: await this.o.discover() });
    this.o.settings.update((s) => ({ ...s, bots: team.bots }));
    this.reason = team.reason;
    this.o.logger?.info({ bots: team.bots.map((b) => `${b.id} → ${b.model}`) }, `first run: ${team.reason}`);
    if (team.download && this.o.startDownload && this.o.settings.get().ui.downloadRecommendedModel) {
      this.o.startDownload(team.download);
      this.o.logger?.info({ model: team.download }, 'first run: downloading the recommended model');
    }
    this.setState({ status: 'running', detail: `first run: ${team.reason}` });
  }

  /** The team's models are ready (downloaded or replaced): the status stops talking about the first run. */
  settle(): void {
    if (this.reason === undefined || this.state.status !== 'running') return;
    this.reason = undefined;
    this.setState({ status: 'running', detail: 'team ready' });
  }

  async stop(): Promise<void> {
    this.setState({ status: 'stopped' });
  }
}
