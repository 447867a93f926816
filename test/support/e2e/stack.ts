// The real stack for the chat window's end-to-end test: `agent-room serve` (built dist/) as a child with
// the protocol-faithful test homeserver, a fresh data folder and an empty home (so no model on this
// machine is found), and a local download server holding generated GGUF models.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGguf, type Preset } from '../../../scripts/gguf/model.ts';
import type { Channel, ReqInput, Res } from '../../../main/common/contract.ts';
import { repoRoot, startCli, type RunningCli } from '../cli.ts';
import { DownloadServer } from '../download-server.ts';

/**
 * Slow enough to watch a reply grow: measured 220 tokens/s on 1 thread on a quiet 2-core machine here
 * (the tiny preset runs at ~3000; 8 layers of d 256 ran at 470), 42 MB in f32 so a throttled download
 * shows its progress bar moving.
 */
export const SLOW_PRESET: Preset = { layers: 10, embd: 320, ffn: 640, heads: 4, kvHeads: 4, vocab: 360, context: 4096 };
/** About 4.5 s of streaming at the speed above, longer when the machine is busy. */
export const SLOW_REPLY_TOKENS = 1000;
export const SLOW_FILE = 'qwen-e2e-slow-f32.gguf';
export const TINY_FILE = 'tiny-chat-f32.gguf';

export interface Stack {
  /** What serve printed: the chat window with its token in the fragment. */
  chatUrl: string;
  origin: string;
  dataDir: string;
  downloads: DownloadServer;
  cli: RunningCli;
  /** Calls the control API as the chat window does. */
  api<K extends Channel>(channel: K, request?: ReqInput<K>): Promise<Res<K>>;
  /** GET on the homeserver's client-server API as the owner. */
  matrix<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

function model(dir: string, name: string, preset: Preset | 'tiny', seed: number): Buffer {
  const out = join(dir, name);
  writeGguf({ preset, type: 'f32', seed, out, suppressEos: true, name: name.replace(/\.gguf$/, '') });
  return readFileSync(out);
}

/** Writes a generated GGUF into `dir` (e.g. <data>/models) and returns its path. */
export function generateModel(dir: string, name: string, preset: Preset | 'tiny', seed: number): string {
  mkdirSync(dir, { recursive: true });
  model(dir, name, preset, seed);
  return join(dir, name);
}

/**
 * A real homeserver to run against instead of the test one (e.g. Synapse from scripts/real-synapse.sh): its URL and
 * registration token. Accounts there outlive a run, so each run names its owner and bots with a fresh suffix.
 */
export const externalHomeserver = process.env.AGENT_ROOM_E2E_HOMESERVER_URL
  ? { url: process.env.AGENT_ROOM_E2E_HOMESERVER_URL, token: process.env.AGENT_ROOM_E2E_REGISTRATION_TOKEN ?? '' }
  : undefined;

export interface StackOptions {
  /**
   * The settings.json serve starts with, made once the data folder exists (a test may put a model there first).
   * Default: one inference thread and no bot, so first run downloads a model from `downloads` (the window's button:
   * the automatic download of the recommended model is off). `suffix` is to be
   * appended to bot ids ('' against the test homeserver, fresh per run against an external one).
   */
  settings?: (dirs: { dataDir: string; suffix: string }) => Record<string, unknown>;
  /** Files the local download server holds; default the slow and the tiny generated models. */
  downloadFiles?: (gen: string) => Record<string, Buffer>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const work = mkdtempSync(join(tmpdir(), 'agent-room-e2e-'));
  const dataDir = join(work, 'data');
  const home = join(work, 'home');
  const gen = join(work, 'gen');
  for (const d of [dataDir, home, gen]) mkdirSync(d, { recursive: true });
  // One inference thread: on 2 cores more threads collapse generation (docs: MEASURED.md).
  const suffix = externalHomeserver ? `x${Date.now().toString(36)}` : '';
  // No automatic download of the recommended model: it would come from Hugging Face, and nothing leaves this machine.
  const settings: Record<string, unknown> = options.settings?.({ dataDir, suffix }) ?? {
    version: 1,
    inference: { threads: 1 },
    ui: { downloadRecommendedModel: false },
  };
  if (externalHomeserver) settings.owner = { ...(settings.owner as object | undefined), localpart: `owner${suffix}` };
  writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settings));
  const files = options.downloadFiles?.(gen) ?? {
    [SLOW_FILE]: model(gen, SLOW_FILE, SLOW_PRESET, 7),
    [TINY_FILE]: model(gen, TINY_FILE, 'tiny', 3),
  };
  const downloads = await DownloadServer.start(files);

  const hsArgs = externalHomeserver
    ? ['--homeserver-url', externalHomeserver.url, '--registration-token', externalHomeserver.token]
    : [];
  const cli = startCli(['--data-dir', dataDir, 'serve', '--port', '0', ...hsArgs], {
    HOME: home,
    AGENT_ROOM_CONDUIT: join(repoRoot, 'test/support/homeserver/conduit-stand-in.sh'),
  });
  let stopped = false;
  const close = async () => {
    if (stopped) return;
    stopped = true;
    cli.child.kill('SIGTERM');
    const killer = setTimeout(() => cli.child.kill('SIGKILL'), 5000);
    await cli.exited;
    clearTimeout(killer);
    await downloads.close();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const [, chatUrl, origin, token] = await cli.waitFor(
      /Chat window: ((http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+))/,
      30_000,
    );
    // Every service up (first-run setup made the team): what a person sees a few seconds after start.
    await cli.waitFor(/Agent Room is ready\./, 60_000);
    const api = async <K extends Channel>(channel: K, request?: ReqInput<K>): Promise<Res<K>> => {
      const res = await fetch(`${origin}/api/${channel}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: request === undefined ? '' : JSON.stringify(request),
      });
      const body = (await res.json()) as { ok: boolean; value?: Res<K>; error?: unknown };
      if (!body.ok) throw new Error(`${channel}: ${JSON.stringify(body.error)}`);
      return body.value as Res<K>;
    };
    const matrix = async <T>(path: string): Promise<T> => {
      const session = await api('session.get');
      const res = await fetch(`${session.homeserverUrl}/_matrix/client/v3${path}`, {
        headers: { Authorization: `Bearer ${session.accessToken}` },
      });
      if (!res.ok) throw new Error(`GET ${path} → ${res.status}`);
      return (await res.json()) as T;
    };
    return { chatUrl: chatUrl!, origin: origin!, dataDir, downloads, cli, api, matrix, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  content: Record<string, unknown>;
}

/** The newest events of a room, newest first. */
export async function recentEvents(stack: Stack, roomId: string, limit = 50): Promise<RoomEvent[]> {
  const { chunk } = await stack.matrix<{ chunk: RoomEvent[] }>(
    `/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=${limit}`,
  );
  return chunk;
}
