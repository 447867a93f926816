// The tray's icon state, tooltip and menu as pure functions of the app's state: no electron import, so
// every state is a table-driven test. tray.ts turns the items into a Menu and the actions into calls.
import type { AppStatus, BotInfo, PullJob } from '../common/contract.ts';
import { updateMenuItems, updateTooltip, type UpdateAction, type UpdateState } from './updates/update-state.ts';

export type TrayIconState = 'starting' | 'ready' | 'working' | 'error';
export const TRAY_ICON_STATES: readonly TrayIconState[] = ['starting', 'ready', 'working', 'error'];

export type ToggleSetting = 'startAtLogin' | 'startHidden' | 'closeToTray';

/** What a click asks for; tray.ts dispatches it. */
export type TrayAction =
  | { type: 'openChat' }
  | { type: 'setModel'; botId: string; model: string }
  | { type: 'pauseAll' }
  | { type: 'resumeAll' }
  | { type: 'openDataFolder' }
  | { type: 'openLogsFolder' }
  | { type: 'toggle'; setting: ToggleSetting; value: boolean }
  | { type: 'update'; update: UpdateAction }
  | { type: 'quit' };

/** A plain MenuItemConstructorOptions subset: `action` stands in for click. */
export interface TrayMenuItem {
  id: string;
  label?: string;
  type?: 'normal' | 'separator' | 'submenu' | 'checkbox' | 'radio';
  enabled?: boolean;
  checked?: boolean;
  submenu?: TrayMenuItem[];
  action?: TrayAction;
}

export interface TrayState {
  /** Undefined until the core answers its first status. */
  status: AppStatus | undefined;
  bots: BotInfo[];
  ui: { startAtLogin: boolean; startHidden: boolean; closeToTray: boolean };
  /** Start at login is not offered where the platform has no way to do it (e.g. a Linux AppImage without a path). */
  loginItemsSupported: boolean;
  /** The desktop app's own updates (absent: no update lines). */
  update?: { state: UpdateState; enabled: boolean };
  /** Model downloads, as models.progress reports them (the first run waits for one). */
  downloads?: PullJob[];
}

export function trayIconState(status: AppStatus | undefined): TrayIconState {
  if (!status) return 'starting';
  if (status.services.some((s) => s.status === 'failed' || s.status === 'degraded')) return 'error';
  if (status.phase !== 'running' || status.firstRun) return 'starting';
  if (status.bots.some((b) => b.busy)) return 'working';
  return 'ready';
}

const ICON_WORDS: Record<TrayIconState, string> = {
  starting: 'starting',
  ready: 'ready',
  working: 'a bot is replying',
  error: 'a service needs attention',
};

export function trayTooltip(status: AppStatus | undefined, update?: UpdateState, downloads: PullJob[] = []): string {
  const setup = firstRunLine(status, downloads);
  const base = setup && trayIconState(status) === 'starting' ? `Agent Room: ${setup}` : statusTooltip(status);
  const extra = update ? updateTooltip(update) : undefined;
  return (extra ? `${base} · ${extra}` : base).slice(0, 127);
}

const bare = (ref: string) => ref.replace(/^llama:/, '');

/**
 * While the first bot waits for its model: what is happening to that download, until the bot is ready. The
 * download is started from the chat window's first-run screen (or models pull); this only reports it.
 */
export function firstRunLine(status: AppStatus | undefined, downloads: PullJob[]): string | undefined {
  const model = status?.firstRun?.modelsToDownload[0];
  if (!model) return undefined;
  const name = modelLabel(model.replace(/:[^/:]*$/, (q) => (/^:Q\d|^:F\d|^:IQ/i.test(q) ? '' : q)));
  const job = [...downloads].reverse().find((j) => bare(j.ref) === bare(model));
  if (!job || job.state === 'cancelled') return `setting up: ${name} is needed (open the chat window to download it)`;
  if (job.state === 'failed') return `setting up: the download of ${name} failed${job.error ? `: ${job.error}` : ''}`;
  if (job.state === 'done') return `setting up: ${name} downloaded, starting the bot`;
  const fraction = job.progress?.fraction;
  return `setting up: downloading ${name}${fraction === undefined ? '' : ` (${Math.floor(fraction * 100)}%)`}`;
}

function statusTooltip(status: AppStatus | undefined): string {
  const state = trayIconState(status);
  if (state === 'error' && status) {
    const failed = status.services.find((s) => s.status === 'failed' || s.status === 'degraded');
    return `Agent Room: ${failed?.name ?? 'a service'} ${failed?.status ?? 'failed'}${failed?.error ? `: ${failed.error}` : ''}`.slice(
      0,
      120,
    );
  }
  return `Agent Room: ${ICON_WORDS[state]}`;
}

/** The short name of a model reference for menus: the file name or tag, not the whole path. */
export function modelLabel(ref: string): string {
  const body = ref.replace(/^(llama|ollama|openai):/, '');
  const last = body.split(/[\\/]/).pop() ?? body;
  return (last || body).replace(/\.gguf$/i, '');
}

function statusLines(status: AppStatus | undefined, downloads: PullJob[]): TrayMenuItem[] {
  const line = (id: string, label: string): TrayMenuItem => ({ id, label, enabled: false });
  if (!status) return [line('status.starting', 'Starting…')];
  const lines: TrayMenuItem[] = [];
  const setup = firstRunLine(status, downloads);
  if (setup) lines.push(line('status.firstRun', setup.charAt(0).toUpperCase() + setup.slice(1)));
  const hs = status.homeserver;
  const hsService = status.services.find((s) => s.name === 'homeserver');
  const hsWhere = hs.url
    ? `${hs.url}${hs.serverName ? ` (${hs.serverName})` : ''}`
    : (hsService?.status ?? 'not started');
  lines.push(line('status.homeserver', `Homeserver: ${hs.mode === 'external' ? 'external ' : ''}${hsWhere}`));
  const inf = status.inference;
  lines.push(
    line(
      'status.backend',
      `Backend: ${inf.backend === 'cpu' ? 'CPU' : inf.backend === 'ollama' ? 'Ollama' : inf.backend.toUpperCase()}${inf.gpu ? ` on ${inf.gpu}` : ''}`,
    ),
  );
  lines.push(
    line(
      'status.models',
      inf.loadedModels.length ? `Loaded: ${inf.loadedModels.map(modelLabel).join(', ')}` : 'No model loaded',
    ),
  );
  for (const s of status.services) {
    if (s.status === 'failed' || s.status === 'degraded')
      lines.push(line(`status.service.${s.name}`, `⚠ ${s.name} ${s.status}: ${s.error ?? 'unknown error'}`));
  }
  if (status.loopGuardTrips > 0)
    lines.push(line('status.loopGuard', `Loop guard stopped bots ${status.loopGuardTrips}×`));
  return lines;
}

function botMenu(bot: BotInfo): TrayMenuItem {
  const current = bot.config.model;
  const models = bot.availableModels.includes(current) ? bot.availableModels : [current, ...bot.availableModels];
  const items: TrayMenuItem[] = models.map((model) => ({
    id: `bot.${bot.config.id}.model.${model}`,
    label: modelLabel(model),
    type: 'radio',
    checked: model === current,
    action: { type: 'setModel', botId: bot.config.id, model },
  }));
  // Says when a switch takes effect, so nobody expects the running reply to change model.
  items.push({
    id: `bot.${bot.config.id}.note`,
    label: bot.status.busy
      ? 'Replying now; a switch applies to the next message'
      : 'A switch applies to the next message',
    enabled: false,
  });
  return {
    id: `bot.${bot.config.id}`,
    label: `${bot.config.displayName} (${modelLabel(current)})${bot.status.busy ? ' …' : ''}`,
    type: 'submenu',
    submenu: items,
  };
}

const separator = (id: string): TrayMenuItem => ({ id, type: 'separator' });

export function trayMenuTemplate(state: TrayState): TrayMenuItem[] {
  const { status, bots, ui } = state;
  const running = status?.phase === 'running';
  const items: TrayMenuItem[] = [
    { id: 'openChat', label: 'Open chat', action: { type: 'openChat' } },
    separator('sep.status'),
    ...statusLines(status, state.downloads ?? []),
  ];
  if (bots.length > 0) {
    items.push(separator('sep.bots'), ...bots.map(botMenu));
    items.push(
      status?.botsPaused
        ? { id: 'resumeAll', label: 'Resume all bots', enabled: running, action: { type: 'resumeAll' } }
        : { id: 'pauseAll', label: 'Pause all bots', enabled: running, action: { type: 'pauseAll' } },
    );
  }
  if (state.update) {
    items.push(
      separator('sep.update'),
      ...updateMenuItems(state.update.state, state.update.enabled).map(({ action, ...item }) => ({
        ...item,
        ...(action ? { action: { type: 'update' as const, update: action } } : {}),
      })),
    );
  }
  items.push(
    separator('sep.folders'),
    { id: 'openDataFolder', label: 'Open data folder', action: { type: 'openDataFolder' } },
    { id: 'openLogsFolder', label: 'Open logs folder', action: { type: 'openLogsFolder' } },
    separator('sep.settings'),
  );
  if (state.loginItemsSupported) {
    items.push(
      {
        id: 'startAtLogin',
        label: 'Start at login',
        type: 'checkbox',
        checked: ui.startAtLogin,
        action: { type: 'toggle', setting: 'startAtLogin', value: !ui.startAtLogin },
      },
      // Start hidden only matters at login, but it stays a separate toggle so the choice survives turning login off and on.
      {
        id: 'startHidden',
        label: 'Start hidden',
        type: 'checkbox',
        checked: ui.startHidden,
        action: { type: 'toggle', setting: 'startHidden', value: !ui.startHidden },
      },
    );
  }
  items.push(
    {
      id: 'closeToTray',
      label: 'Keep running when the window closes',
      type: 'checkbox',
      checked: ui.closeToTray,
      action: { type: 'toggle', setting: 'closeToTray', value: !ui.closeToTray },
    },
    separator('sep.quit'),
    { id: 'quit', label: 'Quit Agent Room', action: { type: 'quit' } },
  );
  return items;
}

/** Tray click conventions: Windows and Linux open the window on a left click; macOS shows the menu. */
export function trayClickBehaviour(platform: string): 'openChat' | 'showMenu' {
  return platform === 'darwin' ? 'showMenu' : 'openChat';
}
