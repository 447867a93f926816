// AIMatrix `resources`: local_models (how many loaded at once, how they are swapped, what is preloaded) and
// cloud_apis (rate limits per provider, the fallback chain), onto Agent Room's inference limit, the endpoints'
// requests per minute and the bots' fallbacks; what has no setting is reported with what to do instead.
import { settingsSchema } from '../../common/settings-schema.ts';
import type { Settings } from '../../common/settings-schema.ts';
import type { AimatrixModels } from './import-aimatrix-models.ts';
import { checked, isRecord, reportUnknownKeys } from './import-support.ts';
import type { ImportReport } from './import-support.ts';

const SOURCE = 'an AIMatrix';
const inferenceShape = settingsSchema.shape.inference.unwrap().shape;
const PER_MINUTE: Record<string, number> = {
  s: 60,
  sec: 60,
  second: 60,
  m: 1,
  min: 1,
  minute: 1,
  h: 1 / 60,
  hour: 1 / 60,
};

interface Ctx {
  settings: Settings;
  report: ImportReport;
  models: AimatrixModels;
}

export function mapResources(value: unknown, label: string, ctx: Ctx): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    ctx.report.notMapped.push(`${label}: expected a mapping with local_models and cloud_apis; not imported.`);
    return;
  }
  reportUnknownKeys(value, ['local_models', 'cloud_apis'], label, ctx.report, SOURCE);
  mapLocalModels(value.local_models, `${label}.local_models`, ctx);
  const cloud = value.cloud_apis;
  if (cloud === undefined) return;
  if (!isRecord(cloud)) {
    ctx.report.notMapped.push(`${label}.cloud_apis: expected a mapping; not imported.`);
    return;
  }
  reportUnknownKeys(cloud, ['rate_limits', 'fallback_chain'], `${label}.cloud_apis`, ctx.report, SOURCE);
  mapRateLimits(cloud.rate_limits, `${label}.cloud_apis.rate_limits`, ctx);
  mapFallbackChain(cloud.fallback_chain, `${label}.cloud_apis.fallback_chain`, ctx);
}

function mapLocalModels(value: unknown, label: string, { settings, report }: Ctx): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    report.notMapped.push(`${label}: expected a mapping; not imported.`);
    return;
  }
  reportUnknownKeys(value, ['max_loaded', 'swap_strategy', 'preload'], label, report, SOURCE);
  if (value.max_loaded !== undefined) {
    const kept = `kept ${settings.inference.maxLoadedModels} (0 = from the hardware plan)`;
    const n = checked(inferenceShape.maxLoadedModels, value.max_loaded, `${label}.max_loaded`, report, kept);
    if (n !== undefined) {
      settings.inference.maxLoadedModels = n;
      report.mapped.push(`${label}.max_loaded ${n} → inference.maxLoadedModels.`);
      report.warnings.push(
        `${label}.max_loaded: inference.maxLoadedModels limits the models Agent Room loads itself (GGUF files); Ollama, which runs the local/ models, keeps its own limit: set OLLAMA_MAX_LOADED_MODELS=${n} where Ollama runs.`,
      );
    }
  }
  const swap = value.swap_strategy;
  if (swap === 'lru') {
    report.notMapped.push(
      `${label}.swap_strategy lru: nothing to set; Agent Room (and Ollama) always unload the least recently used idle model first.`,
    );
  } else if (swap !== undefined) {
    report.notMapped.push(
      `${label}.swap_strategy ${JSON.stringify(swap)}: Agent Room has only one strategy, least recently used first; not imported.`,
    );
  }
  if (value.preload !== undefined) {
    const list = Array.isArray(value.preload) ? value.preload.map(String) : [String(value.preload)];
    report.notMapped.push(
      `${label}.preload [${list.join(', ')}]: Agent Room has no preload list; a model loads at its first request. ` +
        `Pull them now (\`ollama pull ${list[0]}\`) so that request does not wait for a download, and raise keepAliveSeconds of the bots that use them to keep them loaded between requests.`,
    );
  }
}

/** `100/min`, `2/s`, `6000/hour` or a bare number (per minute) → requests per minute, at least 1; undefined if unreadable. */
export function perMinute(value: unknown): number | undefined {
  if (typeof value === 'number') return value >= 1 ? Math.floor(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/|per\s+)\s*([a-z]+)\s*$/i.exec(value);
  const factor = m ? PER_MINUTE[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * factor);
  return n >= 1 ? n : undefined;
}

function mapRateLimits(value: unknown, label: string, { settings, report, models }: Ctx): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    report.notMapped.push(`${label}: expected a mapping of provider to a limit such as 100/min; not imported.`);
    return;
  }
  const set = new Set<string>();
  for (const [provider, limit] of Object.entries(value)) {
    const at = `${label}.${provider}`;
    const rpm = perMinute(limit);
    if (rpm === undefined) {
      report.notMapped.push(
        `${at}: ${JSON.stringify(limit)} is not a rate such as 100/min, 2/s or 6000/hour; not imported.`,
      );
      continue;
    }
    const list = settings.endpoints.openai;
    const endpoint =
      list.find((e) => e.id === provider) ?? models.cloudEndpoint ?? (list.length === 1 ? list[0] : undefined);
    if (!endpoint) {
      report.notMapped.push(
        `${at} ${rpm}/min: no endpoint is called "${provider}" and the file names no api/ model; set requestsPerMinute of the endpoint that serves ${provider} in settings.json.`,
      );
      continue;
    }
    if (set.has(endpoint.id)) {
      report.notMapped.push(
        `${at} ${rpm}/min: endpoint "${endpoint.id}" already took a limit from this file, and Agent Room limits requests per endpoint; to limit ${provider} on its own, give it an endpoint of its own.`,
      );
      continue;
    }
    set.add(endpoint.id);
    endpoint.requestsPerMinute = rpm;
    const why = endpoint.id === provider ? '' : ' (the endpoint of the api/ models)';
    report.mapped.push(`${at} ${String(limit)} → endpoint "${endpoint.id}"${why} requestsPerMinute ${rpm}.`);
  }
}

function mapFallbackChain(value: unknown, label: string, { settings, report, models }: Ctx): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    report.notMapped.push(`${label}: expected a list of models; not imported.`);
    return;
  }
  const chain = value
    .map((m, i) => models.map(m, `${label}[${i}]`, 'left out of the chain'))
    .filter((r): r is string => r !== undefined);
  if (chain.length < 2) {
    report.notMapped.push(`${label}: fewer than two models Agent Room can use; no fallback set.`);
    return;
  }
  let used = false;
  for (const bot of settings.bots) {
    const at = chain.indexOf(bot.model);
    if (at < 0) continue;
    used = true;
    const before = bot.fallback;
    bot.fallback = chain.slice(at + 1);
    report.mapped.push(
      `${label} → bot "${bot.id}" (${bot.model}) falls back to ${bot.fallback.join(', ') || 'nothing (it is last in the chain)'}${before.length ? `, replacing ${before.join(', ')}` : ''}.`,
    );
  }
  if (!used) {
    report.notMapped.push(
      `${label} [${chain.join(', ')}]: no bot uses these models, and Agent Room keeps fallbacks per bot. When a bot uses one of them, set its fallback (settings.json, bots[].fallback) to the models after it in this chain.`,
    );
  }
}
