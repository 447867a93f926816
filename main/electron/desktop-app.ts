// The desktop shell put together: single instance, sandbox, stores, the core, the chat window, the IPC
// gateway, the tray, notifications, start at login, updates, and a quit that waits for every service.
import { join } from 'node:path';
import { app, dialog, session, shell } from 'electron';
import type { AppStatus, BotInfo, Handlers, PullJob } from '../common/contract.ts';
import { ipcEventName } from '../common/contract.ts';
import type { Settings } from '../common/settings-schema.ts';
import { chatCsp } from '../core/control/chat-csp.ts';
import {
  acquireDataFolderLock,
  DataFolderLockedError,
  type DataFolderLock,
} from '../core/lifecycle/data-folder-lock.ts';
import type { Logger } from '../core/logging/logger.ts';
import { dataPaths, type DataPaths } from '../core/paths.ts';
import type { AppCore, CreateCore } from './core-port.ts';
import { desktopHandlers } from './desktop-handlers.ts';
import { IpcGateway, forwardEvents } from './ipc-gateway.ts';
import { LoginItems, launchedHidden } from './login-items.ts';
import { ReplyNotifier } from './notifications.ts';
import { QuitGuard, acquireSingleInstance } from './quit-guard.ts';
import { createElectronSecretStore } from './secret-store-electron.ts';
import { ElectronSettingsStore } from './settings-adapter.ts';
import { TrayController } from './tray.ts';
import type { TrayAction } from './tray-menu.ts';
import { registerAppScheme, serveAppProtocol } from './app-protocol.ts';
import { installSessionPolicy } from './web-security.ts';
import { ChatWindow, type ChatPage } from './windows.ts';
import type { UpdateController } from './updates/update-controller.ts';
import { windowProgress, type UpdateState } from './updates/update-state.ts';
import { createDesktopUpdates, detectInstall, runUpdateAction, type DesktopUpdatesOptions } from './updates/updates.ts';

export interface DesktopAppOptions {
  createCore: CreateCore;
  dataDir: string;
  /** Holds tray/ and bin/<platform>-<arch>. */
  resourcesDir: string;
  preloadPath: string;
  page: ChatPage;
  createLogger: (logDir: string) => Logger;
  platform: NodeJS.Platform;
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  homeDir: string;
  quitDeadlineMs?: number;
  /** Updates: what kind of install this is (default: detected), and the feed's config for tests and development. */
  updates?: Partial<Pick<DesktopUpdatesOptions, 'install' | 'updateConfigPath' | 'feedUrl' | 'firstCheckDelayMs'>>;
}

export class DesktopApp {
  core: AppCore | undefined;
  window: ChatWindow | undefined;
  tray: TrayController | undefined;
  quitGuard: QuitGuard | undefined;
  updates: UpdateController | undefined;
  #status: AppStatus | undefined;
  #update: UpdateState | undefined;
  /** Model downloads by job id, for the tray's first-run line. */
  #downloads = new Map<string, PullJob>();
  #bots: BotInfo[] = [];
  #showWhenReady = false;
  #settingsStore: ElectronSettingsStore | undefined;
  #logger: Logger | undefined;
  #loginItems: LoginItems;
  #lock: DataFolderLock | undefined;

  constructor(private readonly options: DesktopAppOptions) {
    this.#loginItems = new LoginItems({
      platform: options.platform,
      env: options.env,
      execPath: process.execPath,
      homeDir: options.homeDir,
    });
  }

  /**
   * Returns false when another instance runs (this one then quits): a second desktop app hands over to the
   * first, which shows its window (Electron's single-instance lock); serve, or a desktop app of another
   * user-data folder, on the same data folder is told apart by the data folder's own lock.
   */
  async run(): Promise<boolean> {
    if (!acquireSingleInstance(() => this.#focus())) return false;
    // Before ready: every renderer, present and future, runs sandboxed; app:// is privileged (Electron
    // accepts both only now).
    app.enableSandbox();
    registerAppScheme();
    // Before anything touches the folder: the homeserver's clean-up of one "left running by an earlier run"
    // is only right while no other app runs on it.
    this.#lock = this.#lockDataFolder();
    if (!this.#lock) return false;
    await app.whenReady();
    await this.#startShell();
    return true;
  }

  /** The data folder's lock, or undefined after telling the person why this start stops (an error box works before ready). */
  #lockDataFolder(): DataFolderLock | undefined {
    try {
      return acquireDataFolderLock(this.options.dataDir, { holder: 'desktop' });
    } catch (err) {
      if (err instanceof DataFolderLockedError)
        dialog.showErrorBox('Agent Room is already running', `${err.message}.\n\n${err.hint}`);
      else
        dialog.showErrorBox(
          'Agent Room cannot use its data folder',
          `${(err as Error).message}\n\nFix the folder's permissions (${this.options.dataDir}), or set AGENT_ROOM_DATA_DIR to another folder.`,
        );
      app.exit(1);
      return undefined;
    }
  }

  #focus(): void {
    if (this.window) this.window.show();
    else this.#showWhenReady = true;
  }

  async #startShell(): Promise<void> {
    const o = this.options;
    const paths = dataPaths(o.dataDir);
    const { logger, settingsStore, core } = await this.#openCore(paths);

    const quitGuard = (this.quitGuard = new QuitGuard({
      host: core.host,
      deadlineMs: o.quitDeadlineMs ?? 10_000,
      logger,
      beforeExit: () => {
        this.tray?.destroy();
        this.window?.destroy();
        this.#lock?.release();
        // After every service stopped and the folder is free: the new version may start right after.
        this.updates?.onExit();
      },
    }));
    quitGuard.install();

    const ui = settingsStore.get().ui;
    // One policy for every response: app:// answers carry it and the session header sets it on the dev server's.
    const devServerUrl = 'url' in o.page ? o.page.url : undefined;
    const csp = () => chatCsp({ devServerUrl, homeserverUrls: this.#homeserverUrls(settingsStore.get()) });
    installSessionPolicy(session.defaultSession, csp);
    if ('rendererDir' in o.page) serveAppProtocol({ rootDir: o.page.rendererDir, csp, logger });

    const notifier = new ReplyNotifier({
      isWindowSeen: () => !!this.window?.isVisible() && this.window.isFocused(),
      notificationsEnabled: () => settingsStore.get().ui.notifications,
      onClick: () => this.window?.show(),
    });
    const window = (this.window = new ChatWindow({
      preloadPath: o.preloadPath,
      page: o.page,
      settings: settingsStore,
      isQuitting: () => quitGuard.quitting,
      logger,
      onVisibilityChange: (visible) => {
        if (visible) notifier.seen();
      },
    }));

    const handlers: Handlers = {
      ...core.handlers,
      ...desktopHandlers({ dataDir: paths.root, logsDir: paths.logs, updates: () => this.updates }),
    };
    this.#registerIpc(handlers, window, logger);
    forwardEvents(core.events, (channel, payload) => window.send(channel, payload));
    core.events.on('bots.replied', (reply) => notifier.onReply(reply));
    core.events.on('models.progress', (job) => {
      this.#downloads.set(job.jobId, job);
      this.#updateTray(settingsStore.get());
    });

    this.tray = new TrayController({
      trayDir: join(o.resourcesDir, 'tray'),
      platform: o.platform,
      onAction: (a) => void this.#onTrayAction(a, handlers),
    });
    core.events.on('status.changed', (status) => {
      this.#status = status;
      void this.#refreshBots(handlers);
      this.updates?.busyChanged();
    });
    this.updates = this.#createUpdates(settingsStore, logger);
    settingsStore.onChange((s) => {
      this.updates?.settingsChanged();
      this.#updateTray(s);
      void this.#loginItems
        .apply(s.ui.startAtLogin, s.ui.startHidden)
        .catch((err: unknown) => logger.warn({ err: String(err) }, 'start at login could not be changed'));
    });

    const hidden = launchedHidden(
      o.argv,
      o.platform !== 'linux' && app.getLoginItemSettings().wasOpenedAtLogin,
      ui.startHidden,
    );
    window.create(!hidden || this.#showWhenReady);
    this.#updateTray(settingsStore.get());

    core.host
      .start()
      .catch((err: unknown) =>
        logger.error({ err: String(err) }, 'the core did not start; the tray shows what failed'),
      );
    this.updates.start();
  }

  /** The app's own updates: never while a bot replies; progress on the tray and the window's taskbar button. */
  #createUpdates(settingsStore: ElectronSettingsStore, logger: Logger): UpdateController {
    const o = this.options;
    const install =
      o.updates?.install ??
      detectInstall({
        platform: o.platform,
        packaged: app.isPackaged,
        env: o.env,
        resourcesDir: o.resourcesDir,
        appPath: app.getAppPath(),
      });
    return createDesktopUpdates({
      ...o.updates,
      install,
      settings: () => settingsStore.get().updates,
      isBusy: () => this.#status?.bots.some((b) => b.busy) ?? false,
      logger,
      onChange: (state) => {
        this.#update = state;
        this.#updateTray(settingsStore.get());
        this.window?.setProgress(windowProgress(state));
        this.window?.send(ipcEventName('app.update'), state);
      },
    });
  }

  /** The logger, the stores (electron-store, and secrets under safeStorage) and the core built on them. */
  async #openCore(paths: DataPaths): Promise<{ logger: Logger; settingsStore: ElectronSettingsStore; core: AppCore }> {
    const o = this.options;
    const logger = (this.#logger = o.createLogger(paths.logs));
    const settingsStore = (this.#settingsStore = new ElectronSettingsStore({ dataDir: paths.root, logger }));
    const { store: secretStore } = await createElectronSecretStore({
      dataDir: paths.root,
      platform: o.platform,
      logger,
    });
    const core = (this.core = await o.createCore({
      dataDir: paths.root,
      settingsStore,
      secretStore,
      logger,
      resourcesDir: o.resourcesDir,
    }));
    return { logger, settingsStore, core };
  }

  /** The IPC gateway: the handlers, answered only for the chat window's own page. */
  #registerIpc(handlers: Handlers, window: ChatWindow, logger: Logger): void {
    new IpcGateway({
      handlers,
      logger,
      trusted: () => {
        const win = window.window;
        return win
          ? { webContentsId: win.webContents.id, mainFrame: win.webContents.mainFrame, appUrl: window.appUrl }
          : undefined;
      },
    }).register();
  }

  /** Homeservers beyond loopback the page may reach: the external one from settings (known before status), and the status's URLs. */
  #homeserverUrls(settings: Settings): string[] {
    const hs = this.#status?.homeserver;
    return [settings.homeserver.mode === 'external' ? settings.homeserver.url : undefined, hs?.url, hs?.lanUrl].filter(
      (u): u is string => !!u,
    );
  }

  async #refreshBots(handlers: Handlers): Promise<void> {
    try {
      this.#bots = await handlers['bots.list'](undefined);
    } catch {
      // Bots are not up yet: the tray shows status lines only.
    }
    if (this.#settingsStore) this.#updateTray(this.#settingsStore.get());
  }

  #updateTray(settings: Settings): void {
    const { startAtLogin, startHidden, closeToTray } = settings.ui;
    const update = this.#update ?? this.updates?.state;
    this.tray?.update({
      status: this.#status,
      bots: this.#bots,
      ui: { startAtLogin, startHidden, closeToTray },
      loginItemsSupported: true,
      downloads: [...this.#downloads.values()],
      ...(update ? { update: { state: update, enabled: settings.updates.enabled } } : {}),
    });
  }

  async #onTrayAction(action: TrayAction, handlers: Handlers): Promise<void> {
    try {
      switch (action.type) {
        case 'openChat':
          return this.window?.show();
        case 'setModel':
          await handlers['bots.setModel']({ botId: action.botId, model: action.model });
          return this.#refreshBots(handlers);
        case 'pauseAll':
          await handlers['bots.pauseAll'](undefined);
          return;
        case 'resumeAll':
          await handlers['bots.resumeAll'](undefined);
          return;
        case 'openDataFolder':
          await handlers['app.openDataFolder'](undefined);
          return;
        case 'openLogsFolder':
          await handlers['app.openLogsFolder'](undefined);
          return;
        case 'toggle':
          await handlers['settings.update']({ ui: { [action.setting]: action.value } });
          return;
        case 'update':
          return await runUpdateAction(action.update, {
            updates: this.updates,
            openExternal: (url) => shell.openExternal(url),
            setEnabled: async (enabled) => void (await handlers['settings.update']({ updates: { enabled } })),
          });
        case 'quit':
          return app.quit();
      }
    } catch (err) {
      this.#logger?.warn({ action: action.type, err: String(err) }, 'tray action failed');
    }
  }
}
