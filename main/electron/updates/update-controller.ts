// When the desktop app checks for, downloads and installs its own updates. electron-updater does the work (the feed,
// the sha512 check of every download, the code signature on macOS and Windows); this decides when:
//   - a check soon after start, then every `updates.checkIntervalHours`, only while `updates.enabled`;
//   - never while a bot replies: a check that comes due then waits, and runs once every reply has finished (a
//     download and, on Windows, its installer compete with inference for CPU, disk and network);
//   - the download runs in the background, its progress on the tray and the window's taskbar/dock button;
//   - a downloaded update installs as the app exits, after every service stopped (QuitGuard's beforeExit), so the
//     homeserver's database and the models are closed first; "Restart now" is the same quit, then the new version.
import type { AppUpdater, ProgressInfo, UpdateDownloadedEvent, UpdateInfo } from 'electron-updater';
import type { UpdatesSettings } from '../../common/settings-updates.ts';
import { releasePage, type UpdateMode, type UpdateState } from './update-state.ts';

/** The part of electron-updater's AppUpdater the controller drives (a fake in decision tests). */
export type UpdaterPort = Pick<AppUpdater, 'checkForUpdates' | 'downloadUpdate' | 'on'> & {
  autoDownload: boolean;
  readonly currentVersion: { version: string };
};

export interface UpdateControllerOptions {
  /** Absent when the mode is off. */
  updater: UpdaterPort | undefined;
  mode: UpdateMode;
  settings: () => UpdatesSettings;
  /** True while any bot is replying (AppStatus.bots[].busy). */
  isBusy: () => boolean;
  /** Installs the downloaded update as the app exits; restart starts the new version afterwards. */
  applyOnExit: (restart: boolean) => void;
  /** Begins the app's quit (app.quit: QuitGuard stops the services, then exits). */
  quit: () => void;
  onChange: (state: UpdateState) => void;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** The first check after start (default 30 s: the services come up first). */
  firstCheckDelayMs?: number;
}

/** A person-readable reason from an electron-updater error. */
export function describeUpdateError(err: unknown): string {
  const e = err as Error & { code?: string };
  if (e?.code === 'ERR_CHECKSUM_MISMATCH')
    return 'the download did not match its published checksum and was removed; the next check downloads it again';
  if (e?.code === 'ERR_UPDATER_INVALID_SIGNATURE' || /not signed by the application owner/i.test(e?.message ?? ''))
    return 'the download is not signed by the publisher and was refused';
  if (/^aborted$|ECONNRESET|socket hang up|premature close|net::ERR_CONNECTION_(RESET|CLOSED)/i.test(e?.message ?? ''))
    return 'the download was cut off and was removed; the next check downloads it again';
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|net::ERR_/i.test(e?.message ?? ''))
    return 'the update server could not be reached; the next check tries again';
  const first = (e?.message ?? String(err)).split('\n')[0] ?? '';
  return first.slice(0, 160);
}

export class UpdateController {
  #state: UpdateState;
  #timer: NodeJS.Timeout | undefined;
  /** A check came due while a bot replied. */
  #pending = false;
  #restart = false;
  #applied = false;

  constructor(private readonly o: UpdateControllerOptions) {
    if (o.mode.kind === 'off') this.#state = { phase: 'off', why: o.mode.why };
    else this.#state = o.settings().enabled ? { phase: 'idle' } : { phase: 'disabled' };
    const updater = o.updater;
    if (!updater || o.mode.kind === 'off') return;
    // The controller starts the download itself, so it can say what happens and never downloads in notify mode.
    updater.autoDownload = false;
    updater.on('update-available', (info: UpdateInfo) => this.#onAvailable(info));
    updater.on('update-not-available', () => this.#set({ phase: 'current', version: updater.currentVersion.version }));
    updater.on('download-progress', (p: ProgressInfo) => {
      if (this.#state.phase === 'downloading') this.#set({ ...this.#state, percent: p.percent });
    });
    updater.on('update-downloaded', (e: UpdateDownloadedEvent) => this.#set({ phase: 'ready', version: e.version }));
    updater.on('error', (err: Error) => {
      if (this.#state.phase === 'ready') return; // a later failure does not undo a verified download
      this.o.logger?.warn({ err: String(err) }, 'update failed');
      this.#set({ phase: 'error', message: describeUpdateError(err) });
    });
  }

  get state(): UpdateState {
    return this.#state;
  }

  start(): void {
    this.#schedule(this.o.firstCheckDelayMs ?? 30_000);
  }

  /** Checks now (the tray's "Check for updates" passes manual, which works with automatic checks off). */
  async check(manual = false): Promise<void> {
    const updater = this.o.updater;
    if (!updater || this.o.mode.kind === 'off') return;
    if (!manual && !this.o.settings().enabled) return this.#set({ phase: 'disabled' });
    if (['checking', 'downloading', 'ready'].includes(this.#state.phase)) return;
    if (this.o.isBusy()) {
      this.#pending = true;
      this.#set({ phase: 'waiting' });
      return;
    }
    this.#pending = false;
    this.#set({ phase: 'checking' });
    try {
      const result = await updater.checkForUpdates();
      if (this.o.mode.kind === 'auto' && result?.isUpdateAvailable) await updater.downloadUpdate();
    } catch {
      // electron-updater reported it through 'error' (handled above).
      if (this.#state.phase === 'checking') this.#set({ phase: 'error', message: 'the check failed' });
    } finally {
      this.#schedule(this.o.settings().checkIntervalHours * 3_600_000);
    }
  }

  /** Call when the bots' busy state may have changed: a waiting check runs once none is replying. */
  busyChanged(): void {
    if (this.#pending && !this.o.isBusy()) void this.check();
  }

  /** Call when settings changed: turning updates off cancels the schedule, turning them on checks soon. */
  settingsChanged(): void {
    if (this.o.mode.kind === 'off') return;
    const enabled = this.o.settings().enabled;
    const quiet = ['idle', 'current', 'waiting', 'error', 'available'].includes(this.#state.phase);
    if (!enabled && quiet) {
      clearTimeout(this.#timer);
      this.#pending = false;
      this.#set({ phase: 'disabled' });
    } else if (enabled && this.#state.phase === 'disabled') {
      this.#set({ phase: 'idle' });
      this.#schedule(this.o.firstCheckDelayMs ?? 30_000);
    }
  }

  /** "Restart now": quits (every service stops), installs and starts the new version. False when nothing is ready. */
  restartNow(): boolean {
    if (this.#state.phase !== 'ready') return false;
    this.#restart = true;
    this.o.quit();
    return true;
  }

  /** QuitGuard's beforeExit: every service has stopped; install what was downloaded. */
  onExit(): void {
    clearTimeout(this.#timer);
    if (this.#state.phase !== 'ready' || this.#applied) return;
    this.#applied = true;
    try {
      this.o.logger?.info({ version: this.#state.version, restart: this.#restart }, 'installing the update');
      this.o.applyOnExit(this.#restart);
    } catch (err) {
      this.o.logger?.warn({ err: String(err) }, 'the update could not be installed; the next start checks again');
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #onAvailable(info: UpdateInfo): void {
    const mode = this.o.mode;
    if (mode.kind === 'notify')
      this.#set({ phase: 'available', version: info.version, how: mode.how, url: releasePage(info.version) });
    else this.#set({ phase: 'downloading', version: info.version, percent: 0 });
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.o.mode.kind === 'off' || !this.o.settings().enabled) return;
    this.#timer = setTimeout(() => void this.check(), ms);
    this.#timer.unref?.();
  }

  #set(state: UpdateState): void {
    this.#state = state;
    this.o.onChange(state);
  }
}
