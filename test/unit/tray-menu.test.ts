// The tray template as a pure function of state: one table row per state, plus the click conventions.
import { describe, expect, it } from 'vitest';
import {
  firstRunLine,
  modelLabel,
  trayClickBehaviour,
  trayIconState,
  trayMenuTemplate,
  trayTooltip,
  type TrayMenuItem,
  type TrayState,
} from '../../main/electron/tray-menu.ts';
import type { AppStatus, BotInfo, PullJob } from '../../main/common/contract.ts';
import { fakeStatus } from '../support/contract-fake-handlers.ts';

function bot(id: string, model: string, available: string[], busy = false): BotInfo {
  return {
    config: {
      id,
      displayName: id[0]!.toUpperCase() + id.slice(1),
      model,
      systemPrompt: '',
      temperature: 0.7,
      maxTokens: 256,
      localOnly: false,
      keepAliveSeconds: 0,
      pinned: false,
      fallback: [],
    },
    status: { id, displayName: id, model, busy, stats: { replies: 0 } },
    availableModels: available,
  };
}

const ui = { startAtLogin: false, startHidden: true, closeToTray: true };
const state = (status: AppStatus | undefined, bots: BotInfo[] = []): TrayState => ({
  status,
  bots,
  ui,
  loginItemsSupported: true,
});
const find = (items: TrayMenuItem[], id: string): TrayMenuItem | undefined => items.find((i) => i.id === id);
const labels = (items: TrayMenuItem[]) => items.filter((i) => i.type !== 'separator').map((i) => i.label);

const failed = fakeStatus({ services: [{ name: 'homeserver', status: 'failed', error: 'port 6167 in use' }] });
const busyBot = bot(
  'qwen',
  'llama:/models/qwen2.5-0.5b.gguf',
  ['llama:/models/qwen2.5-0.5b.gguf', 'ollama:llama3.2:1b'],
  true,
);
const idleBot = bot('mistral', 'ollama:mistral', ['ollama:mistral', 'ollama:llama3.2:1b']);

describe('tray icon state', () => {
  const rows: Array<[string, AppStatus | undefined, string]> = [
    ['no status yet', undefined, 'starting'],
    ['host starting', fakeStatus({ phase: 'starting' }), 'starting'],
    ['running, idle', fakeStatus(), 'ready'],
    ['a bot replying', fakeStatus({ bots: [busyBot.status] }), 'working'],
    ['a service failed', failed, 'error'],
    [
      'a service degraded while a bot works',
      fakeStatus({ services: [{ name: 'inference', status: 'degraded', error: 'retrying' }], bots: [busyBot.status] }),
      'error',
    ],
    ['stopping', fakeStatus({ phase: 'stopping' }), 'starting'],
  ];
  it.each(rows)('%s → %s', (_name, status, expected) => {
    expect(trayIconState(status)).toBe(expected);
  });

  it('the tooltip names a failed service and its error', () => {
    expect(trayTooltip(failed)).toBe('Agent Room: homeserver failed: port 6167 in use');
    expect(trayTooltip(undefined)).toBe('Agent Room: starting');
  });
});

describe('tray menu template', () => {
  it('starting: status says so, no bot menus, folders, toggles and Quit are there', () => {
    const items = trayMenuTemplate(state(undefined));
    expect(labels(items)).toEqual([
      'Open chat',
      'Starting…',
      'Open data folder',
      'Open logs folder',
      'Start at login',
      'Start hidden',
      'Keep running when the window closes',
      'Quit Agent Room',
    ]);
    expect(find(items, 'startAtLogin')).toMatchObject({
      type: 'checkbox',
      checked: false,
      action: { type: 'toggle', setting: 'startAtLogin', value: true },
    });
    expect(find(items, 'startHidden')).toMatchObject({
      checked: true,
      action: { type: 'toggle', setting: 'startHidden', value: false },
    });
    expect(find(items, 'quit')?.action).toEqual({ type: 'quit' });
  });

  it('ready: status lines for homeserver, backend with GPU and loaded models; a radio submenu per bot', () => {
    const status = fakeStatus({
      inference: { backend: 'cuda', gpu: 'NVIDIA RTX 4090, 24 GiB', loadedModels: ['llama:/models/qwen2.5-0.5b.gguf'] },
    });
    const items = trayMenuTemplate(state(status, [idleBot]));
    expect(find(items, 'status.homeserver')).toEqual({
      id: 'status.homeserver',
      label: 'Homeserver: http://127.0.0.1:6167 (agent-room.localhost)',
      enabled: false,
    });
    expect(find(items, 'status.backend')?.label).toBe('Backend: CUDA on NVIDIA RTX 4090, 24 GiB');
    expect(find(items, 'status.models')?.label).toBe('Loaded: qwen2.5-0.5b');
    const sub = find(items, 'bot.mistral');
    expect(sub).toMatchObject({ type: 'submenu', label: 'Mistral (mistral)' });
    const radios = sub?.submenu?.filter((i) => i.type === 'radio') ?? [];
    expect(radios.map((r) => [r.label, r.checked])).toEqual([
      ['mistral', true],
      ['llama3.2:1b', false],
    ]);
    expect(radios[1]?.action).toEqual({ type: 'setModel', botId: 'mistral', model: 'ollama:llama3.2:1b' });
    expect(find(items, 'pauseAll')).toMatchObject({ enabled: true, action: { type: 'pauseAll' } });
  });

  it('working: the busy bot is marked and its note says the switch applies to the next message', () => {
    const items = trayMenuTemplate(state(fakeStatus({ bots: [busyBot.status] }), [busyBot, idleBot]));
    const sub = find(items, 'bot.qwen');
    expect(sub?.label).toBe('Qwen (qwen2.5-0.5b) …');
    expect(sub?.submenu?.at(-1)).toMatchObject({
      enabled: false,
      label: 'Replying now; a switch applies to the next message',
    });
  });

  it('error: the failed service gets its own line; paused bots offer Resume', () => {
    const items = trayMenuTemplate(state({ ...failed, botsPaused: true, loopGuardTrips: 2 }, [idleBot]));
    expect(find(items, 'status.service.homeserver')?.label).toBe('⚠ homeserver failed: port 6167 in use');
    expect(find(items, 'status.loopGuard')?.label).toBe('Loop guard stopped bots 2×');
    expect(find(items, 'pauseAll')).toBeUndefined();
    expect(find(items, 'resumeAll')?.action).toEqual({ type: 'resumeAll' });
  });

  it("a bot's current model is listed even when the backend no longer offers it", () => {
    const sub = find(trayMenuTemplate(state(fakeStatus(), [bot('x', 'ollama:gone', ['ollama:other'])])), 'bot.x');
    expect(sub?.submenu?.filter((i) => i.type === 'radio').map((i) => i.label)).toEqual(['gone', 'other']);
  });

  it('no login toggles where the platform cannot start at login', () => {
    const items = trayMenuTemplate({ ...state(fakeStatus()), loginItemsSupported: false });
    expect(find(items, 'startAtLogin')).toBeUndefined();
    expect(find(items, 'closeToTray')).toBeDefined();
  });
});

describe('helpers', () => {
  it.each([
    ['llama:/home/me/models/Qwen2.5-0.5B-Q4_K_M.gguf', 'Qwen2.5-0.5B-Q4_K_M'],
    ['ollama:qwen2.5:0.5b', 'qwen2.5:0.5b'],
    ['openai:cloud/gpt-4o-mini', 'gpt-4o-mini'],
    ['llama:C:\\models\\phi.gguf', 'phi'],
  ])('modelLabel(%s) = %s', (ref, label) => expect(modelLabel(ref)).toBe(label));

  it.each([
    ['darwin', 'showMenu'],
    ['win32', 'openChat'],
    ['linux', 'openChat'],
  ])('a tray click on %s → %s', (platform, expected) => expect(trayClickBehaviour(platform)).toBe(expected));
});

const baseState = (): TrayState => ({
  status: undefined,
  bots: [],
  ui: { startAtLogin: false, startHidden: false, closeToTray: true },
  loginItemsSupported: true,
});

describe('the first run, until the first bot is ready', () => {
  const model = 'llama:hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M';
  const waiting = fakeStatus({ firstRun: { modelsToDownload: [model] } });
  const job = (state: PullJob['state'], fraction?: number, error?: string): PullJob => ({
    jobId: 'j1',
    ref: 'hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M',
    state,
    ...(fraction !== undefined ? { progress: { fraction, status: 'downloading' } } : {}),
    ...(error ? { error } : {}),
  });
  it.each<[string, PullJob[], string]>([
    ['no download yet', [], 'setting up: Qwen2.5-1.5B-Instruct-GGUF is needed (open the chat window to download it)'],
    ['downloading', [job('running', 0.456)], 'setting up: downloading Qwen2.5-1.5B-Instruct-GGUF (45%)'],
    ['queued, size unknown', [job('queued')], 'setting up: downloading Qwen2.5-1.5B-Instruct-GGUF'],
    ['failed', [job('failed', 0.2, 'ENOSPC')], 'setting up: the download of Qwen2.5-1.5B-Instruct-GGUF failed: ENOSPC'],
    ['done', [job('done', 1)], 'setting up: Qwen2.5-1.5B-Instruct-GGUF downloaded, starting the bot'],
  ])('%s', (_what, downloads, line) => {
    expect(firstRunLine(waiting, downloads)).toBe(line);
    expect(trayIconState(waiting)).toBe('starting');
    expect(trayTooltip(waiting, undefined, downloads)).toBe(`Agent Room: ${line}`.slice(0, 127));
    const items = trayMenuTemplate({ ...baseState(), status: waiting, downloads });
    expect(items.find((i) => i.id === 'status.firstRun')?.label).toBe(line.charAt(0).toUpperCase() + line.slice(1));
  });

  it('says nothing once the team has its model', () => {
    expect(firstRunLine(fakeStatus(), [])).toBeUndefined();
    expect(trayIconState(fakeStatus())).toBe('ready');
  });
});
