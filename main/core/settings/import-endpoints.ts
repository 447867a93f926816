// Maps a model entry's backend, api_url and API key onto an endpoint in settings: an Ollama one, or an
// OpenAI-compatible one reused only where the URL and the key are the same; a key found becomes a secret.
import { settingsSchema } from '../../common/settings-schema.ts';
import type { Settings } from '../../common/settings-schema.ts';
import { endpointIdFromUrl, hostKind, parseHttpUrl, uniqueId, urlText } from './import-support.ts';
import type { ImportReport } from './import-support.ts';

const OLLAMA_DEFAULT_URL = 'http://127.0.0.1:11434';
const OPENAI_DEFAULT_URL = 'https://api.openai.com/v1';
const ANTHROPIC_DEFAULT_URL = 'https://api.anthropic.com/v1';

/** What the import builds: the settings, the secrets found, the report; and the environment it reads keys from. */
export interface EndpointContext {
  settings: Settings;
  secrets: Record<string, string>;
  report: ImportReport;
  env: Record<string, string | undefined>;
}

export function ollamaModel(entry: Record<string, unknown>, label: string, ctx: EndpointContext): string | undefined {
  const url = endpointUrl(entry.api_url, OLLAMA_DEFAULT_URL, label, ctx.report);
  if (!url) return undefined;
  const list = ctx.settings.endpoints.ollama;
  let endpoint = list.find((e) => urlText(new URL(e.url)) === urlText(url));
  if (!endpoint) {
    const id = uniqueId(endpointIdFromUrl(url, '11434'), (c) => list.some((e) => e.id === c));
    endpoint = { id, url: urlText(url) };
    list.push(endpoint);
    ctx.report.mapped.push(`${label}.api_url ${urlText(url)} → Ollama endpoint "${id}".`);
    if (list.length === 2) {
      ctx.report.warnings.push(
        'endpoints: more than one Ollama URL; an ollama:<tag> model is served by whichever Ollama endpoint has that model.',
      );
    }
  }
  return `ollama:${entry.model as string}`;
}

export function openaiModel(
  entry: Record<string, unknown>,
  backend: 'openai' | 'anthropic' | 'custom',
  label: string,
  ctx: EndpointContext,
): string | undefined {
  const { report, env, settings } = ctx;
  const fallbackUrl =
    backend === 'openai' ? OPENAI_DEFAULT_URL : backend === 'anthropic' ? ANTHROPIC_DEFAULT_URL : undefined;
  const url = endpointUrl(entry.api_url, fallbackUrl, label, report);
  if (!url) return undefined;

  // Where the key comes from decides whether two bots can share an endpoint entry (one apiKeyRef each).
  let key: { value?: string; source: string; envRef?: string } | undefined;
  if (typeof entry.api_key_env === 'string' && entry.api_key_env !== '') {
    const value = env[entry.api_key_env];
    if (value) key = { value, source: `env ${entry.api_key_env}` };
    else {
      key = { source: `env ${entry.api_key_env}`, envRef: `env:${entry.api_key_env}` };
      report.warnings.push(
        `${label}.api_key_env: ${entry.api_key_env} is not set now, so no key was stored; the endpoint reads it from the environment at run time (apiKeyRef env:${entry.api_key_env}). Set it, or run the import again with it set, or enter the key in Settings.`,
      );
    }
  } else if (typeof entry.api_key === 'string' && entry.api_key !== '') {
    key = { value: entry.api_key, source: 'api_key' };
    report.warnings.push(
      `${label}.api_key: the key was stored as a secret; remove it from the YAML file, which keeps it in clear text.`,
    );
  } else if (backend === 'openai' && env.OPENAI_API_KEY) {
    // The original falls back to OPENAI_API_KEY for every OpenAI-style backend; only "openai" gets it
    // here, so an OpenAI key is never sent to an Anthropic or custom server.
    key = { value: env.OPENAI_API_KEY, source: 'env OPENAI_API_KEY' };
    report.mapped.push(
      `${label}: no api_key_env or api_key → OPENAI_API_KEY from the environment (the original's fallback).`,
    );
  } else if (backend !== 'custom') {
    report.warnings.push(
      `${label}: no API key (api_key_env, api_key${backend === 'openai' ? ' or OPENAI_API_KEY' : ''}); requests go without one until you enter it in Settings.`,
    );
  }

  const list = settings.endpoints.openai;
  const sameUrl = list.filter((e) => urlText(new URL(e.url)) === urlText(url));
  const baseId = endpointIdFromUrl(url);
  const wantRef = (id: string) => key?.envRef ?? (key ? `endpoint.${id}.apiKey` : undefined);
  // Reuse an endpoint with this URL and this key; a different key needs an endpoint of its own.
  const sameKey = (id: string) => !key?.value || [undefined, key.value].includes(ctx.secrets[`endpoint.${id}.apiKey`]);
  let endpoint = sameUrl.find((e) => e.apiKeyRef === wantRef(e.id) && sameKey(e.id));
  if (!endpoint) {
    const id = uniqueId(baseId, (c) => list.some((e) => e.id === c));
    endpoint = openaiEndpoint(id, urlText(url), wantRef(id));
    list.push(endpoint);
    report.mapped.push(
      `${label}.api_url ${urlText(url)} → OpenAI-compatible endpoint "${id}"${backend === 'openai' ? '' : ` (backend ${backend})`}.`,
    );
  }
  if (key?.value) {
    const name = `endpoint.${endpoint.id}.apiKey`;
    if (ctx.secrets[name] === undefined)
      report.mapped.push(`${label}: API key from ${key.source} → secret ${name} (not in settings.json).`);
    ctx.secrets[name] = key.value;
  }
  if (hostKind(url) === 'service-name')
    report.warnings.push(
      `${label}.api_url: "${url.hostname}" looks like a Docker Compose service name; change endpoint "${endpoint.id}" to a reachable URL in Settings.`,
    );
  return `openai:${endpoint.id}/${entry.model as string}`;
}

function openaiEndpoint(
  id: string,
  url: string,
  apiKeyRef: string | undefined,
): Settings['endpoints']['openai'][number] {
  return settingsSchema.shape.endpoints
    .unwrap()
    .shape.openai.unwrap()
    .element.parse({ id, url, ...(apiKeyRef ? { apiKeyRef } : {}) });
}

function endpointUrl(
  value: unknown,
  fallback: string | undefined,
  label: string,
  report: ImportReport,
): URL | undefined {
  if (value === undefined || value === '') {
    if (!fallback) {
      report.notMapped.push(`${label}: has no api_url, and backend custom has no default; bot not imported.`);
      return undefined;
    }
    report.mapped.push(`${label}: no api_url → ${fallback} (the default for its backend).`);
    return new URL(fallback);
  }
  const url = typeof value === 'string' ? parseHttpUrl(value) : undefined;
  if (!url)
    report.notMapped.push(`${label}.api_url: ${JSON.stringify(value)} is not an http(s) URL; bot not imported.`);
  else if (hostKind(url) === 'service-name' && fallback === OLLAMA_DEFAULT_URL) {
    report.warnings.push(
      `${label}.api_url: "${url.hostname}" looks like a Docker Compose service name; if Ollama runs on this machine, change the endpoint to ${OLLAMA_DEFAULT_URL} in Settings.`,
    );
  }
  return url;
}
