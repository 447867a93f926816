// Imports the original matrix-agent-room bots config (config.yaml) into Agent Room's settings, with a
// report of what was mapped and what was not. Pure: env is passed in, secrets are returned (the caller
// puts them in its SecretStore), nothing in the YAML that is a secret ever lands in the settings.
import { parseDocument, type Document } from 'yaml';
import { botSchema, defaultSettings, settingsSchema } from '../../common/settings-schema.ts';
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import { AgentRoomImportError, checked, isRecord, reportUnknownKeys, toId, uniqueId } from './import-support.ts';
import type { ImportReport } from './import-support.ts';
import { ollamaModel, openaiModel, type EndpointContext } from './import-endpoints.ts';
import { mapGlobals } from './import-globals.ts';
import { mapHomeserver } from './import-homeserver.ts';

export { AgentRoomImportError } from './import-support.ts';
export type { ImportErrorCode, ImportReport } from './import-support.ts';

export interface ImportResult {
  settings: Settings;
  /** Secret name → value, e.g. `endpoint.anthropic.apiKey`, `bot.alpha.password`. Store these; never log them. */
  secrets: Record<string, string>;
  report: ImportReport;
}

export const TOP_KEYS = ['homeserver', 'models', 'context_window', 'triggers', 'rate_limit', 'room'] as const;
const MODEL_KEYS = [
  'name',
  'display_name',
  'matrix_user',
  'password_env',
  'password',
  'backend',
  'api_url',
  'api_key_env',
  'api_key',
  'model',
  'system_prompt',
  'max_tokens',
  'temperature',
] as const;

export function importAgentRoomConfig(
  yamlText: string,
  env: Record<string, string | undefined>,
  base?: Settings,
): ImportResult {
  const { root } = parseYamlDocument(yamlText);
  const result = emptyResult(base);
  mapAgentRoomRoot(root, env, result);
  return validated(result);
}

/** A fresh result to map into: a copy of `base` (or the defaults), no secrets, an empty report. */
export function emptyResult(base?: Settings): ImportResult {
  return {
    settings: structuredClone(base ?? defaultSettings()),
    secrets: {},
    report: { mapped: [], notMapped: [], warnings: [], stillNeeded: [] },
  };
}

/** Every piece was checked on its own; this catches a combination the schema rejects. */
export function validated(result: ImportResult): ImportResult {
  const whole = settingsSchema.safeParse(result.settings);
  if (!whole.success) throw new Error(`import produced invalid settings: ${whole.error.message}`);
  return { ...result, settings: whole.data };
}

/** Maps a matrix-agent-room config's keys into `result`; `otherKeys` belong to another format in the same file. */
export function mapAgentRoomRoot(
  root: Record<string, unknown>,
  env: Record<string, string | undefined>,
  result: ImportResult,
  otherKeys: readonly string[] = [],
): void {
  const { settings, secrets, report } = result;
  reportUnknownKeys(root, [...TOP_KEYS, ...otherKeys], '', report);

  mapHomeserver(root.homeserver, settings, report);
  const imported = new Set<string>();
  if (!Array.isArray(root.models) || root.models.length === 0) {
    report.warnings.push(
      'models: the file defines no models, so no bots were imported. Add bots in Settings, or fix the file and import again.',
    );
  } else {
    root.models.forEach((entry, index) => mapModel(entry, index, { settings, secrets, report, env, imported }));
  }
  mapGlobals(root, settings, report);
}

/** The YAML document (its comments too) and its top-level mapping; throws AgentRoomImportError when it is neither. */
export function parseYamlDocument(text: string): { doc: Document; root: Record<string, unknown> } {
  const doc = parseDocument(text, { prettyErrors: true });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'an unknown position';
    const reason = error.message.split(' at line ')[0];
    throw new AgentRoomImportError(
      'invalid-yaml',
      `The file is not valid YAML: ${reason} at ${where}. Fix the file there (indentation, quotes, a missing ':') and import again; nothing was imported.`,
      pos ? { line: pos.line, column: pos.col } : undefined,
    );
  }
  const root: unknown = doc.toJS();
  if (!isRecord(root)) {
    throw new AgentRoomImportError(
      'not-a-mapping',
      'The file is YAML but not a config Agent Room imports: expected a mapping at the top, with "homeserver" and "models" (a matrix-agent-room bots/config.yaml) or "routing", "resources" and "pipeline" (an AIMatrix master agent config). Check that you chose the right file; nothing was imported.',
    );
  }
  return { doc, root };
}

interface ModelContext extends EndpointContext {
  /** Bot ids created by this import, so two entries with one name do not overwrite each other. */
  imported: Set<string>;
}

function mapModel(entry: unknown, index: number, ctx: ModelContext): void {
  const { settings, report } = ctx;
  const at = `models[${index}]`;
  if (!isRecord(entry)) {
    report.notMapped.push(`${at}: expected a mapping; not imported.`);
    return;
  }
  if (typeof entry.name !== 'string' || toId(entry.name) === '') {
    report.notMapped.push(`${at}: has no usable "name" (the @mention name); bot not imported.`);
    return;
  }
  const label = `${at} (${entry.name})`;
  reportUnknownKeys(entry, MODEL_KEYS, at, report);
  const id = botId(entry, label, ctx);

  const backend = entry.backend;
  if (backend !== 'ollama' && backend !== 'openai' && backend !== 'anthropic' && backend !== 'custom') {
    report.notMapped.push(
      `${label}: backend ${JSON.stringify(backend)} is not one of ollama, openai, anthropic, custom; bot not imported.`,
    );
    return;
  }
  if (typeof entry.model !== 'string' || entry.model.trim() === '') {
    report.notMapped.push(`${label}: has no "model"; bot not imported.`);
    return;
  }
  const model = backend === 'ollama' ? ollamaModel(entry, label, ctx) : openaiModel(entry, backend, label, ctx);
  if (!model) return;

  const displayName =
    typeof entry.display_name === 'string' && entry.display_name.trim() !== ''
      ? entry.display_name.slice(0, 64)
      : entry.name;
  const candidate: Record<string, unknown> = { id, displayName, model };
  if (entry.system_prompt !== undefined)
    candidate.systemPrompt = checked(
      botSchema.shape.systemPrompt,
      entry.system_prompt,
      `${at}.system_prompt`,
      report,
      'used the default prompt',
    );
  if (entry.max_tokens !== undefined)
    candidate.maxTokens = checked(
      botSchema.shape.maxTokens,
      entry.max_tokens,
      `${at}.max_tokens`,
      report,
      'used the default 2048',
    );
  if (entry.temperature !== undefined)
    candidate.temperature = checked(
      botSchema.shape.temperature,
      entry.temperature,
      `${at}.temperature`,
      report,
      'used the default 0.7',
    );
  const bot: BotConfig = botSchema.parse(candidate);

  mapPassword(entry, id, label, ctx);

  const existing = settings.bots.findIndex((b) => b.id === id);
  if (existing >= 0) {
    settings.bots[existing] = bot;
    report.warnings.push(`${label}: replaced the existing bot "${id}" in the current settings.`);
  } else {
    settings.bots.push(bot);
  }
  ctx.imported.add(id);
  report.mapped.push(
    `${label} → bot "${id}" (${displayName}), model ${model}, temperature ${bot.temperature}, max tokens ${bot.maxTokens}.`,
  );
}

/**
 * The bot id is also the account's localpart. With the bundled homeserver the accounts are created
 * anew, so the id is the @mention name (what people typed). With an external homeserver the account
 * in matrix_user already exists and its password belongs to it, so its localpart wins.
 */
function botId(entry: Record<string, unknown>, label: string, ctx: ModelContext): string {
  const { report } = ctx;
  const name = entry.name as string;
  const fromName = toId(name);
  const value = entry.matrix_user;
  const localpart = typeof value === 'string' ? /^@([^:]+):(.+)$/.exec(value)?.[1] : undefined;
  if (value !== undefined && localpart === undefined) {
    report.notMapped.push(
      `${label}.matrix_user: ${JSON.stringify(value)} is not a Matrix user id (@name:server); ignored.`,
    );
  }
  const fromUser = localpart === undefined ? '' : toId(localpart);
  const external = ctx.settings.homeserver.mode === 'external';
  const chosen = external && fromUser !== '' ? fromUser : fromName;
  const id = uniqueId(chosen, (c) => ctx.imported.has(c));
  if (localpart !== undefined && fromUser === fromName) {
    report.mapped.push(`${label}.matrix_user ${value as string} → bot id and account localpart "${id}".`);
  } else if (localpart !== undefined && external) {
    report.warnings.push(
      `${label}.matrix_user ${value as string}: its localpart differs from the name "${name}"; the homeserver is external, so the existing account is kept: the bot id is "${id}" and people mention it as @${id}, not @${name}.`,
    );
  } else if (localpart !== undefined) {
    report.warnings.push(
      `${label}.matrix_user ${value as string}: its localpart differs from the name; with the bundled homeserver the bot is created as "${id}" (the @mention name), so its user id becomes @${id}:<server>.`,
    );
  }
  if (id !== chosen)
    report.warnings.push(`${label}: another model already uses the id "${chosen}", so this bot is "${id}".`);
  else if (id === fromName && id !== name)
    report.warnings.push(
      `${label}: bot id is "${id}" (ids are lower-case letters, digits and . _ = -); mention it as @${id}.`,
    );
  return id;
}

function mapPassword(entry: Record<string, unknown>, id: string, label: string, ctx: ModelContext): void {
  const name = `bot.${id}.password`;
  if (typeof entry.password_env === 'string' && entry.password_env !== '') {
    const value = ctx.env[entry.password_env];
    if (value) {
      ctx.secrets[name] = value;
      ctx.report.mapped.push(
        `${label}.password_env ${entry.password_env} → secret ${name} (used to log in to an external homeserver).`,
      );
      return;
    }
    ctx.report.warnings.push(
      `${label}.password_env: ${entry.password_env} is not set, so no password was stored. With the bundled homeserver Agent Room creates the account itself; with an external one, enter the password in Settings.`,
    );
    return;
  }
  if (typeof entry.password === 'string' && entry.password !== '') {
    ctx.secrets[name] = entry.password;
    ctx.report.mapped.push(`${label}.password → secret ${name}.`);
    ctx.report.warnings.push(
      `${label}.password: stored as a secret; remove it from the YAML file, which keeps it in clear text.`,
    );
  }
}
