// What the API's `model` field names: a bot id (that bot's settings: its model, fallback chain, local-only and
// task; routing rules for the bot apply) or a model reference (a bot made for the request, with that model alone).
// Either way the request goes through the router, so the privacy check, the audit trail and budgets apply.
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ModelInfo } from '../../common/inference-types.ts';
import { botSchema, type BotConfig, type Settings } from '../../common/settings-schema.ts';
import type { InferenceBackend } from '../inference/types.ts';
import { modelNotFound, type ApiError } from './api-errors.ts';

export interface ApiModel {
  bot: BotConfig;
  /** True when the field named a bot. */
  viaBot: boolean;
}

/** The bot that answers a request naming `model`, or a 404 error for a name that is neither a bot nor a model here. */
export function resolveModel(
  settings: Settings,
  backendFor: (model: string) => InferenceBackend | undefined,
  model: string,
  caller: string,
): ApiModel | ApiError {
  const bot = settings.bots.find((b) => b.id === model);
  if (bot) return { bot, viaBot: true };
  if (!backendFor(model)) return modelNotFound(model);
  const path = model.startsWith('llama:') ? model.slice('llama:'.length) : undefined;
  if (path !== undefined && isAbsolute(path) && !existsSync(path)) return modelNotFound(model);
  const made = botSchema.parse({ id: 'api', displayName: 'API', model, systemPrompt: '' });
  return { bot: { ...made, id: caller }, viaBot: false };
}

export interface ApiModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** The bots first (their ids), then every model reference a bot could use. */
export function modelObjects(settings: Settings, models: ModelInfo[], created: number): ApiModelObject[] {
  const out: ApiModelObject[] = settings.bots.map((b) => ({
    id: b.id,
    object: 'model',
    created,
    owned_by: 'agent-room',
  }));
  const seen = new Set(out.map((m) => m.id));
  for (const m of models) {
    if (seen.has(m.ref)) continue;
    seen.add(m.ref);
    out.push({ id: m.ref, object: 'model', created, owned_by: m.backend });
  }
  return out;
}
