// The whole stack as a person runs it, for the fault suites and bench:faults: `agent-room serve` from dist/
// as a real child process, with the test homeserver's executable standing in for Conduit, the generated
// tiny model, and the owner talking to the room over the client-server API with plain fetch (so it keeps
// working across homeserver restarts).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startCli, type RunningCli } from '../cli.ts';
import { waitUntil } from './procs.ts';
import type { TimelineEvent } from './replies.ts';

export const standIn = join(repoRoot, 'test', 'support', 'homeserver', 'conduit-stand-in.sh');

export interface BotSpec {
  id: string;
  displayName?: string;
  model: string;
  maxTokens?: number;
  fallback?: string[];
}

export function makeDataDir(settings: Record<string, unknown>, prefix = 'agent-room-faults-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'settings.json'), `${JSON.stringify({ version: 1, ...settings }, null, 2)}\n`);
  return dir;
}

/** Settings for one or more bots on node-llama-cpp with 1 thread (the 2-core rule) and a loose rate limit. */
export function botSettings(bots: BotSpec[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { inference, guard, ...rest } = extra as { inference?: object; guard?: object };
  return {
    bots: bots.map((b) => ({ displayName: b.id[0]!.toUpperCase() + b.id.slice(1), maxTokens: 40, ...b })),
    inference: { threads: 1, ...inference },
    guard: { rateLimit: { maxRequests: 1000, windowSeconds: 60 }, editsPerSecond: 4, ...guard },
    ...rest,
  };
}

export interface Serve {
  cli: RunningCli;
  dataDir: string;
  controlUrl: string;
  token: string;
  pid: number;
}

/** Starts serve on any free port; resolves once it printed "ready" (every service started). */
export async function startServe(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
  readyTimeoutMs = 60_000,
): Promise<Serve> {
  const cli = startCli(['--data-dir', dataDir, 'serve', '--port', '0'], { AGENT_ROOM_CONDUIT: standIn, ...env });
  try {
    const m = await cli.waitFor(/Chat window: (http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+)/, readyTimeoutMs);
    await cli.waitFor(/Agent Room is ready\.|Agent Room started with problems:|Start failed/, readyTimeoutMs);
    return { cli, dataDir, controlUrl: m[1]!, token: m[2]!, pid: cli.child.pid! };
  } catch (err) {
    cli.child.kill('SIGKILL');
    throw err;
  }
}

export interface Health {
  status: string;
  services: Array<{ name: string; state: { status: string; error?: string; detail?: string } }>;
}

export async function health(serve: Serve): Promise<Health | undefined> {
  try {
    return (await (await fetch(`${serve.controlUrl}/health`, { signal: AbortSignal.timeout(2000) })).json()) as Health;
  } catch {
    return undefined;
  }
}

export function serviceState(h: Health | undefined, name: string): string | undefined {
  return h?.services.find((s) => s.name === name)?.state.status;
}

export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export interface Provision {
  homeserverUrl: string;
  roomId: string;
  owner: { userId: string };
  bots: Array<{ id: string; userId: string; displayName: string }>;
}

export function provision(dataDir: string): Provision {
  return readJson<Provision>(join(dataDir, 'state', 'provision.json'));
}

export function secrets(dataDir: string): Record<string, string> {
  return readJson<{ secrets: Record<string, string> }>(join(dataDir, 'secrets.json')).secrets;
}

/** The owner in the team room: sends over plain HTTP, retrying while the homeserver is down. */
export class Owner {
  #txn = 0;
  readonly baseUrl: string;
  readonly roomId: string;
  readonly userId: string;
  readonly #token: string;
  readonly dataDir: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    const p = provision(dataDir);
    this.baseUrl = p.homeserverUrl;
    this.roomId = p.roomId;
    this.userId = p.owner.userId;
    this.#token = secrets(dataDir)['matrix.owner.accessToken']!;
  }

  async request<T>(method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`${this.baseUrl}/_matrix/client/v3${path}`, {
          method,
          headers: { Authorization: `Bearer ${this.#token}`, 'Content-Type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(5000),
        });
        if (res.status >= 500 && Date.now() < end) throw new Error(`HTTP ${res.status}`);
        const json = (await res.json()) as T & { errcode?: string; error?: string };
        if (!res.ok)
          throw Object.assign(new Error(`${method} ${path}: ${res.status} ${json.errcode} ${json.error}`), {
            fatal: true,
          });
        return json;
      } catch (err) {
        if ((err as { fatal?: boolean }).fatal || Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Sends a message mentioning the bots (m.mentions and the plain @name) and returns its event id. */
  async mention(botUserIds: string[], text: string): Promise<string> {
    const names = botUserIds.map((u) => `@${u.slice(1, u.indexOf(':'))}`).join(' ');
    return this.send({ msgtype: 'm.text', body: `${names} ${text}`, 'm.mentions': { user_ids: botUserIds } });
  }

  async send(content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
    // The same transaction id on a retry: the homeserver answers it once (idempotent sends).
    const txn = `fault-${process.pid}-${Date.now()}-${++this.#txn}`;
    const res = await this.request<{ event_id: string }>(
      'PUT',
      `/rooms/${encodeURIComponent(this.roomId)}/send/${encodeURIComponent(type)}/${txn}`,
      content,
    );
    return res.event_id;
  }

  async redact(eventId: string): Promise<string> {
    const res = await this.request<{ event_id: string }>(
      'PUT',
      `/rooms/${encodeURIComponent(this.roomId)}/redact/${encodeURIComponent(eventId)}/r${++this.#txn}`,
      { reason: 'test' },
    );
    return res.event_id;
  }

  /** The whole timeline, oldest first. */
  async timeline(): Promise<TimelineEvent[]> {
    const all: TimelineEvent[] = [];
    let from: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ dir: 'b', limit: '500', ...(from ? { from } : {}) });
      const page = await this.request<{ chunk: TimelineEvent[]; end?: string }>(
        'GET',
        `/rooms/${encodeURIComponent(this.roomId)}/messages?${q}`,
      );
      all.push(...page.chunk);
      if (!page.end || page.chunk.length === 0) break;
      from = page.end;
    }
    return all.reverse();
  }
}

/** Waits until `check` over the timeline returns a value (polling /messages). */
export async function waitForTimeline<T>(
  owner: Owner,
  what: string,
  check: (events: TimelineEvent[]) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  return waitUntil(what, async () => check(await owner.timeline().catch(() => [])), timeoutMs, 100);
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
