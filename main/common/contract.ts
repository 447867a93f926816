// The one control contract: every channel the chat window (IPC through the preload) or a serve client
// (HTTP/WebSocket) may call, each with a zod request schema and a response type, and the events pushed
// back. The preload, the IPC gateway, the HTTP transport and the renderer's types all derive from it,
// so a channel without a handler is a compile error.
import { z } from 'zod';
import type { Settings } from './settings-schema.ts';
import { modelRef } from './settings-schema.ts';
import type {
  ApiKeyCreated,
  ApiKeysView,
  AppInfo,
  AppStatus,
  AppUpdateState,
  AuditCall,
  BotInfo,
  BotReply,
  ModelInfo,
  OwnerEncryption,
  OwnerRecoveryKey,
  OwnerSession,
  ProbeResult,
  PullJob,
} from './contract-types.ts';
import { ControlError, toControlErrorPayload, type ControlResult } from './contract-errors.ts';
import type { McpServerInfo } from './contract-tools.ts';
import { settingsPatchSchema, zodIssues } from './contract-settings.ts';

export * from './contract-types.ts';
export * from './contract-errors.ts';
export * from './contract-tools.ts';
export { applySettingsPatch, mergePatch, settingsPatchSchema, type SettingsPatch } from './contract-settings.ts';

/** A channel that takes no request: undefined over IPC, null or an empty body over HTTP. */
const noRequest = z.union([z.undefined(), z.null()]).transform(() => undefined);
const botId = z.string().min(1).max(64);

/** Request schemas, one per channel. Names are `<namespace>.<method>`; the preload exposes api.<namespace>.<method>(). */
export const requestSchemas = {
  'app.info': noRequest,
  'status.get': noRequest,
  'session.get': noRequest,
  /** The owner's recovery key for secret storage (encrypted rooms): the chat window opens the cross-signing keys and key backup with it. */
  'session.recoveryKey': noRequest,
  /** Whether the team room is encrypted and the app holds the owner's recovery key (Settings shows what to do). */
  'session.encryption': noRequest,
  /** The recovery key of an owner account whose encryption was set up elsewhere (Element): the app then uses those keys. */
  'session.setRecoveryKey': z.strictObject({ recoveryKey: z.string().min(1).max(256) }),
  'settings.get': noRequest,
  'settings.update': settingsPatchSchema,
  'bots.list': noRequest,
  /** Applies to the bot's next message; a reply already streaming finishes on the old model. */
  'bots.setModel': z.strictObject({ botId, model: modelRef.max(2048) }),
  'bots.pauseAll': noRequest,
  'bots.resumeAll': noRequest,
  'models.list': noRequest,
  'models.jobs': noRequest,
  /** Starts a download (llama hf:/URL) or an Ollama pull; progress arrives as models.progress events. */
  'models.pull': z.strictObject({ ref: modelRef.max(2048) }),
  'models.cancel': z.strictObject({ jobId: z.string().min(1).max(128) }),
  /** The hardware report and the inference plan; refresh re-runs the probe instead of the cached one. */
  'probe.get': z.strictObject({ refresh: z.boolean().optional() }).optional(),
  /** Model calls from the audit trail at or after `since` (ms), of one bot when given; the newest `limit`, oldest first. */
  'audit.list': z
    .strictObject({
      since: z.number().int().min(0).optional(),
      limit: z.number().int().min(1).max(5000).optional(),
      bot: botId.optional(),
    })
    .optional(),
  /** The MCP servers in settings: state, and tools once listed. */
  'tools.servers': noRequest,
  /** Starts the server (if it is not running) and lists its tools. */
  'tools.test': z.strictObject({ server: z.string().min(1).max(64) }),
  'app.openDataFolder': noRequest,
  'app.openLogsFolder': noRequest,
  /** The OpenAI-compatible API's keys (names and first characters) and its base URL. */
  'apiKeys.list': noRequest,
  /** Makes a key; the response is the only time its value is shown. */
  'apiKeys.create': z.strictObject({ name: z.string().min(1).max(64) }),
  'apiKeys.revoke': z.strictObject({ name: z.string().min(1).max(64) }),
  /** The desktop app's own update; changes arrive as app.update events. */
  'app.updateState': noRequest,
  /** Quits (every service stops), installs the downloaded update and starts the new version. */
  'app.restartToUpdate': noRequest,
} as const satisfies Record<`${string}.${string}`, z.ZodType>;

/** Response types, one per channel. */
export interface Responses {
  'app.info': AppInfo;
  'status.get': AppStatus;
  'session.get': OwnerSession;
  'session.recoveryKey': OwnerRecoveryKey;
  'session.encryption': OwnerEncryption;
  'session.setRecoveryKey': { saved: true; replaced: boolean };
  'settings.get': Settings;
  /** The settings as stored after the patch. */
  'settings.update': Settings;
  'bots.list': BotInfo[];
  'bots.setModel': BotInfo;
  'bots.pauseAll': { paused: boolean };
  'bots.resumeAll': { paused: boolean };
  'models.list': ModelInfo[];
  'models.jobs': PullJob[];
  'models.pull': { jobId: string };
  'models.cancel': { cancelled: boolean };
  'probe.get': ProbeResult;
  'audit.list': AuditCall[];
  'tools.servers': McpServerInfo[];
  'tools.test': McpServerInfo;
  /** The folder opened. */
  'app.openDataFolder': { opened: string };
  'app.openLogsFolder': { opened: string };
  'apiKeys.list': ApiKeysView;
  'apiKeys.create': ApiKeyCreated;
  'apiKeys.revoke': { revoked: boolean };
  'app.updateState': AppUpdateState;
  /** False when no update is downloaded. */
  'app.restartToUpdate': { restarting: boolean };
}

export type Channel = keyof typeof requestSchemas;
/** What a handler receives (after validation and defaults). */
export type Req<K extends Channel> = z.output<(typeof requestSchemas)[K]>;
/** What a caller sends. */
export type ReqInput<K extends Channel> = z.input<(typeof requestSchemas)[K]>;
export type Res<K extends Channel> = Responses[K];

// Both lists name the same channels: a channel added on one side only fails to compile here.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : never;
const _channelsMatch: SameKeys<typeof requestSchemas, Responses> = true;
void _channelsMatch;

export const CHANNELS = Object.keys(requestSchemas) as Channel[];

/** Channels that only the desktop shell answers (serve answers Unavailable; the core never implements them). */
export const DESKTOP_ONLY_CHANNELS = [
  'app.openDataFolder',
  'app.openLogsFolder',
  'app.updateState',
  'app.restartToUpdate',
] as const satisfies readonly Channel[];
export type DesktopOnlyChannel = (typeof DESKTOP_ONLY_CHANNELS)[number];
export type CoreChannel = Exclude<Channel, DesktopOnlyChannel>;

export type Handler<K extends Channel> = (req: Req<K>) => Promise<Res<K>>;
/** Every channel's handler: a missing one is a compile error. */
export type Handlers = { [K in Channel]: Handler<K> };
/** What the headless core implements (createAppCore); the desktop shell adds the desktop-only ones. */
export type CoreHandlers = { [K in CoreChannel]: Handler<K> };
/** What a transport serves: the core's handlers, with or without the desktop-only ones (missing → Unavailable). */
export type AnyHandlers = CoreHandlers & Partial<Pick<Handlers, DesktopOnlyChannel>>;

/** Events pushed to subscribers (IPC webContents.send, WebSocket messages). */
export interface Events {
  'status.changed': AppStatus;
  'settings.changed': Settings;
  'models.progress': PullJob;
  /** A bot finished a reply (drives notifications and the unread badge). */
  'bots.replied': BotReply;
  /** The desktop app's own update changed (sent by the desktop shell only). */
  'app.update': AppUpdateState;
}
export type EventName = keyof Events;
export const EVENTS = [
  'status.changed',
  'settings.changed',
  'models.progress',
  'bots.replied',
  'app.update',
] as const satisfies readonly EventName[];
const _eventsMatch: SameKeys<Events, Record<(typeof EVENTS)[number], unknown>> = true;
void _eventsMatch;

export type Unsubscribe = () => void;
export type EventListener<E extends EventName> = (payload: Events[E]) => void;

/** Where events come from: the core's emitter implements this, transports subscribe to it. */
export interface EventSource {
  on<E extends EventName>(event: E, listener: EventListener<E>): Unsubscribe;
}

/** IPC channel names: prefixed so that no other ipc user (devtools, extensions) can collide. */
export function ipcChannelName(channel: Channel): `agent-room:${Channel}` {
  return `agent-room:${channel}`;
}
export function ipcEventName(event: EventName): `agent-room:event:${EventName}` {
  return `agent-room:event:${event}`;
}

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && Object.hasOwn(requestSchemas, value);
}
export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENTS as readonly string[]).includes(value);
}

/** Validates a request for a channel: the value a handler may trust, or a BadRequest payload. */
export function parseRequest<K extends Channel>(channel: K, raw: unknown): ControlResult<Req<K>> {
  const schema: z.ZodType<Req<K>, unknown> = requestSchemas[channel] as unknown as z.ZodType<Req<K>, unknown>;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    error: new ControlError('BadRequest', `The request for ${channel} is not valid.`, {
      issues: zodIssues(parsed.error),
    }).toPayload(),
  };
}

/**
 * Validates, then runs the channel's handler; never throws. Transports (IPC gateway, HTTP/WS) call this
 * after their own sender or token check, so validation always comes before any handler.
 */
export async function dispatch(handlers: AnyHandlers, channel: unknown, raw: unknown): Promise<ControlResult<unknown>> {
  if (!isChannel(channel))
    return { ok: false, error: new ControlError('NotFound', `There is no channel ${String(channel)}.`).toPayload() };
  return dispatchChannel(handlers, channel, raw);
}

export async function dispatchChannel<K extends Channel>(
  handlers: AnyHandlers,
  channel: K,
  raw: unknown,
): Promise<ControlResult<Res<K>>> {
  const request = parseRequest(channel, raw);
  if (!request.ok) return request;
  const handler = (handlers as Partial<Handlers>)[channel] as Handler<K> | undefined;
  if (!handler) {
    return {
      ok: false,
      error: new ControlError('Unavailable', `${channel} is only available in the desktop app.`).toPayload(),
    };
  }
  try {
    return { ok: true, value: await handler(request.value) };
  } catch (err) {
    return { ok: false, error: toControlErrorPayload(err) };
  }
}
