// The end-to-end stand-in for `agent-room serve`: the test homeserver with the owner, a bot and the team
// room; a streaming bot; and the real control server (http-server.ts) serving dist/renderer, with
// handlers over live state: settings (schema-validated patches), real downloads from a local server
// into a models folder, bot model switches, status with the bot's busy flag.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySettingsPatch, ControlError, type AppStatus, type BotInfo, type Handlers, type PullJob } from '../../../main/common/contract.ts';
import { defaultSettings, type Settings } from '../../../main/common/settings-schema.ts';
import { ControlServer } from '../../../main/core/control/http-server.ts';
import { EventHub } from '../../../main/core/control/event-hub.ts';
import { downloadModel } from '../../../main/core/inference/download/index.ts';
import { DownloadServer } from '../../support/download-server.ts';
import { startHomeserver, type Homeserver } from '../../support/homeserver/index.ts';
import { createTeamRoom, register, type Account } from './matrix-setup.ts';
import { StreamingBot, type StreamingBotOptions } from './streaming-bot.ts';

const SERVER = 'e2e.localhost';
export const RECOMMENDED_FILE = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';
export const SECOND_FILE = 'qwen-coder-tiny-q8_0.gguf';

export interface Harness {
  url: string;
  homeserver: Homeserver;
  owner: Account;
  bot: Account;
  roomId: string;
  streamingBot: StreamingBot;
  downloads: DownloadServer;
  /** The state behind the handlers, for assertions. */
  state: { settings: Settings; jobs: Map<string, PullJob>; modelsDir: string };
  close(): Promise<void>;
}

function gguf(sizeBytes: number): Buffer {
  const buf = Buffer.alloc(sizeBytes);
  buf.write('GGUF', 0, 'ascii');
  return buf;
}

export async function startHarness(options: { staticDir: string; reply: StreamingBotOptions }): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-room-e2e-'));
  const modelsDir = join(dataDir, 'models');
  const homeserver = await startHomeserver({ serverName: SERVER, port: 0 });
  const owner = await register(homeserver.url, 'owner', 'You');
  const bot = await register(homeserver.url, 'qwen', 'Qwen');
  const roomId = await createTeamRoom(homeserver.url, owner, [bot], 'AI Team', 'Your private AI team. Mention a bot with @name to ask it.');
  const downloads = await DownloadServer.start({ [RECOMMENDED_FILE]: gguf(1024 * 1024), [SECOND_FILE]: gguf(3 * 1024 * 1024) });

  const events = new EventHub();
  const state = { settings: defaultSettings(), jobs: new Map<string, PullJob>(), modelsDir };
  const aborts = new Map<string, AbortController>();
  const loopGuardTrips = 0;
  let paused = false;

  const streamingBot = new StreamingBot(homeserver.url, bot, roomId, options.reply, () => events.emit('status.changed', status()));
  streamingBot.start();

  const models = () => {
    let files: string[] = [];
    try {
      files = readdirSync(modelsDir).filter((f) => f.endsWith('.gguf'));
    } catch {
      // No download yet.
    }
    return files.map((f) => ({ ref: `llama:${join(modelsDir, f)}`, name: f.replace(/\.gguf$/, ''), backend: 'llama' as const, source: 'file' as const, location: join(modelsDir, f), sizeBytes: statSync(join(modelsDir, f)).size, local: true }));
  };
  const botInfo = (cfg: Settings['bots'][number]): BotInfo => ({
    config: cfg,
    userId: `@${cfg.id}:${SERVER}`,
    status: { id: cfg.id, displayName: cfg.displayName, userId: `@${cfg.id}:${SERVER}`, model: cfg.model, busy: streamingBot.busy, stats: { replies: streamingBot.replies, lastLatencyMs: 42, tokensPerSecond: 18.5 } },
    availableModels: models().map((m) => m.ref),
  });
  const status = (): AppStatus => ({
    phase: 'running',
    services: [
      { name: 'homeserver', status: 'running', detail: homeserver.url },
      { name: 'inference', status: 'running' },
      { name: 'bots', status: 'running' },
    ],
    homeserver: {
      mode: 'bundled',
      url: homeserver.url,
      serverName: SERVER,
      roomId,
      // What the core reports with LAN access on: the address on this machine's network interface.
      ...(state.settings.homeserver.mode === 'bundled' && state.settings.homeserver.lanAccess ? { lanUrl: `http://192.168.1.20:${homeserver.port}` } : {}),
    },
    inference: { backend: 'cpu', loadedModels: [] },
    bots: state.settings.bots.map((b) => botInfo(b).status),
    botsPaused: paused,
    loopGuardTrips,
  });
  const setSettings = (next: Settings) => {
    state.settings = next;
    events.emit('settings.changed', next);
    events.emit('status.changed', status());
    return next;
  };

  const handlers: Handlers = {
    'app.info': async () => ({ version: '0.0.0-e2e', shell: 'serve', platform: process.platform, dataDir }),
    'status.get': async () => status(),
    'session.get': async () => ({ homeserverUrl: homeserver.url, userId: owner.userId, accessToken: owner.accessToken, deviceId: owner.deviceId, roomId }),
    'settings.get': async () => state.settings,
    'settings.update': async (patch) => setSettings(applySettingsPatch(state.settings, patch)),
    'bots.list': async () => state.settings.bots.map(botInfo),
    'bots.setModel': async ({ botId, model }) => {
      if (!state.settings.bots.some((b) => b.id === botId)) throw new ControlError('NotFound', `There is no bot ${botId}.`);
      setSettings(applySettingsPatch(state.settings, { bots: state.settings.bots.map((b) => (b.id === botId ? { ...b, model } : b)) }));
      return botInfo(state.settings.bots.find((b) => b.id === botId)!);
    },
    'bots.pauseAll': async () => ({ paused: (paused = true) }),
    'bots.resumeAll': async () => ({ paused: (paused = false) }),
    'models.list': async () => models(),
    'models.jobs': async () => [...state.jobs.values()],
    'models.pull': async ({ ref }) => {
      const jobId = `job-${state.jobs.size + 1}`;
      const abort = new AbortController();
      aborts.set(jobId, abort);
      const update = (job: PullJob) => {
        state.jobs.set(jobId, job);
        events.emit('models.progress', job);
      };
      update({ jobId, ref, state: 'running', progress: { status: 'starting' } });
      downloadModel(ref, { modelsDir, signal: abort.signal, onProgress: (progress) => update({ jobId, ref, state: 'running', progress }) }).then(
        () => update({ jobId, ref, state: 'done', progress: { status: 'done', fraction: 1 } }),
        (err: Error) => update({ jobId, ref, state: abort.signal.aborted ? 'cancelled' : 'failed', error: err.message }),
      );
      return { jobId };
    },
    'models.cancel': async ({ jobId }) => {
      aborts.get(jobId)?.abort();
      return { cancelled: aborts.has(jobId) };
    },
    'probe.get': async () => ({
      report: { os: { platform: 'linux', release: 'Debian 12', arch: 'x64', appleSilicon: false }, cpu: { model: 'Test CPU', cores: 2 }, memory: { totalBytes: 8 * 2 ** 30 }, gpus: [] },
      plan: {
        backend: 'cpu',
        threads: 2,
        gpuLayers: 0,
        maxLoadedModels: 1,
        memoryBudgetMiB: 4096,
        recommendedModels: [`llama:${downloads.fileUrl(RECOMMENDED_FILE)}`],
        reasons: ['No GPU was found: models run on the CPU with 2 threads.'],
      },
    }),
    'app.openDataFolder': async () => {
      throw new ControlError('Unavailable', 'Desktop only.');
    },
    'app.openLogsFolder': async () => {
      throw new ControlError('Unavailable', 'Desktop only.');
    },
  };
  const control = new ControlServer({ port: 0, handlers, events, health: () => ({ ok: true }), staticDir: options.staticDir });
  await control.listen();

  return {
    url: control.openUrl,
    homeserver,
    owner,
    bot,
    roomId,
    streamingBot,
    downloads,
    state,
    close: async () => {
      for (const a of aborts.values()) a.abort();
      await streamingBot.stop();
      await control.close();
      await downloads.close();
      await homeserver.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
