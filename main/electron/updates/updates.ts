// The desktop app's updater put together: what kind of install this is, the electron-updater class for it, and how
// a downloaded update is installed as the app exits on each platform. update-controller.ts decides when.
//   Windows (nsis)   NsisUpdater: sha512 and the publisher's code signature checked; the installer runs silently
//                    as the app exits (and starts the new version after "Restart now").
//   macOS            MacUpdater (Squirrel.Mac, which checks the code signature): installs on quit by itself;
//                    "Restart now" is quitAndInstall. An unsigned build only says a new version exists.
//   Linux AppImage   AppImageUpdater: sha512 checked (Linux has no signature check); the new AppImage replaces this
//                    one as the app exits, and "Restart now" relaunches it once this process has gone.
//   Linux deb        says a new version exists and where to get the .deb: the package manager owns the files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app } from 'electron';
import electronUpdater, { type AppUpdater } from 'electron-updater';
import type { UpdatesSettings } from '../../common/settings-updates.ts';
import { UpdateController } from './update-controller.ts';
import { RELEASES, updateMode, type InstallKind, type UpdateAction, type UpdateState } from './update-state.ts';

export interface DetectInstallOptions {
  platform: NodeJS.Platform;
  packaged: boolean;
  env: NodeJS.ProcessEnv;
  /** process.resourcesPath when packaged. */
  resourcesDir: string;
  /** app.getAppPath(): holds the packaged package.json. */
  appPath: string;
}

function readText(file: string): string | undefined {
  try {
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

export function detectInstall(o: DetectInstallOptions): InstallKind {
  let signed = false;
  try {
    const pkg = JSON.parse(readText(join(o.appPath, 'package.json')) ?? '{}') as { agentRoom?: { signed?: unknown } };
    signed = pkg.agentRoom?.signed === true || pkg.agentRoom?.signed === 'true';
  } catch {
    // No package.json to read: unsigned.
  }
  return {
    platform: o.platform,
    packaged: o.packaged,
    appImage: o.platform === 'linux' ? o.env.APPIMAGE || undefined : undefined,
    packageType: readText(join(o.resourcesDir, 'package-type'))?.trim() || undefined,
    snap: o.platform === 'linux' && !!o.env.SNAP,
    signed,
  };
}

/** The electron-updater class for this install (constructed on the running app: it reads app.getVersion()). */
export function createUpdater(install: InstallKind): AppUpdater {
  const { AppImageUpdater, DebUpdater, MacUpdater, NsisUpdater } = electronUpdater;
  if (install.platform === 'win32') return new NsisUpdater();
  if (install.platform === 'darwin') return new MacUpdater();
  return install.appImage ? new AppImageUpdater() : new DebUpdater();
}

type Installer = AppUpdater & { install(isSilent?: boolean, isForceRunAfter?: boolean): boolean };

/** Installs a downloaded update while the app exits (every service has stopped by then). */
export function applyUpdate(updater: AppUpdater, install: InstallKind, restart: boolean): void {
  if (install.platform === 'darwin') {
    // Squirrel.Mac installs on quit by itself; quitAndInstall also relaunches.
    if (restart) updater.quitAndInstall(true, true);
    return;
  }
  if (install.platform === 'win32') {
    (updater as Installer).install(true, restart);
    return;
  }
  // AppImage: the new file replaces this one (its name carries the version, so it may differ). It is started with
  // app.relaunch, which waits for this process to end: started at once it would find the single-instance and
  // data-folder locks still held and quit.
  let next = install.appImage;
  const renamed = (file: string) => (next = file);
  updater.on('appimage-filename-updated', renamed);
  try {
    if ((updater as Installer).install(true, false) && restart && next) app.relaunch({ execPath: next, args: [] });
  } finally {
    updater.off('appimage-filename-updated', renamed);
  }
}

export interface DesktopUpdatesOptions {
  install: InstallKind;
  settings: () => UpdatesSettings;
  isBusy: () => boolean;
  onChange: (state: UpdateState) => void;
  logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  /** Tests and development: the app-update.yml to read (packaged: resources/app-update.yml, written by electron-builder). */
  updateConfigPath?: string;
  /** The feed of notify mode (default: this project's GitHub releases). */
  feedUrl?: string;
  firstCheckDelayMs?: number;
}

export function createDesktopUpdates(o: DesktopUpdatesOptions): UpdateController {
  const mode = updateMode(o.install);
  const updater = mode.kind === 'off' ? undefined : createUpdater(o.install);
  if (updater) {
    const log = (level: 'info' | 'warn' | 'error') => (message: unknown) =>
      o.logger[level]({ component: 'updater' }, String(message));
    updater.logger = { info: log('info'), warn: log('warn'), error: log('error') };
    // The controller installs in QuitGuard's beforeExit; only Squirrel.Mac installs on quit by itself.
    updater.autoInstallOnAppQuit = o.install.platform === 'darwin' && mode.kind === 'auto';
    if (o.updateConfigPath) updater.updateConfigPath = o.updateConfigPath;
    if (mode.kind === 'notify')
      updater.setFeedURL(o.feedUrl ?? { provider: 'github', owner: RELEASES.owner, repo: RELEASES.repo });
  }
  return new UpdateController({
    updater,
    mode,
    settings: o.settings,
    isBusy: o.isBusy,
    onChange: o.onChange,
    logger: o.logger,
    firstCheckDelayMs: o.firstCheckDelayMs,
    quit: () => app.quit(),
    applyOnExit: (restart) => {
      if (updater) applyUpdate(updater, o.install, restart);
    },
  });
}

/** A tray click on an update line. */
export async function runUpdateAction(
  action: UpdateAction,
  o: {
    updates: UpdateController | undefined;
    openExternal: (url: string) => Promise<void>;
    setEnabled: (enabled: boolean) => Promise<void>;
  },
): Promise<void> {
  switch (action.type) {
    case 'restartToUpdate':
      o.updates?.restartNow();
      return;
    case 'checkForUpdates':
      return o.updates?.check(true);
    case 'openReleasePage':
      return o.openExternal(action.url);
    case 'toggleUpdates':
      return o.setEnabled(action.value);
  }
}
