// The desktop app's updates as pure functions: how this install can be updated, and what the tray and window show
// for each state. No electron import, so every case is a table-driven test; update-controller.ts drives the states.
import type { AppUpdateState } from '../../common/contract-types.ts';
/** This project's releases: the GitHub provider of electron-builder.yml's `publish` (a test keeps them equal). */
export const RELEASES = { owner: 'agent-room', repo: 'agent-room' } as const;
export const RELEASES_URL = `https://github.com/${RELEASES.owner}/${RELEASES.repo}/releases`;

/** How this copy of the app was installed, as the shell sees it at start. */
export interface InstallKind {
  platform: NodeJS.Platform;
  /** False when run from a source checkout (`electron .`). */
  packaged: boolean;
  /** $APPIMAGE: the AppImage file this runs from. */
  appImage?: string;
  /** resources/package-type, written by electron-builder for deb, rpm and pacman packages. */
  packageType?: string;
  /** $SNAP: installed from the Snap Store, which updates it. */
  snap?: boolean;
  /** Built with a code-signing certificate (package.json `agentRoom.signed`, set by the release workflow). */
  signed: boolean;
}

export type UpdateMode =
  /** Checks, downloads in the background, installs on quit or on "Restart now". */
  | { kind: 'auto' }
  /** Checks and says a new version exists, with where to get it; never downloads. */
  | { kind: 'notify'; how: string }
  /** Never checks. */
  | { kind: 'off'; why: string };

export function updateMode(install: InstallKind): UpdateMode {
  if (!install.packaged) return { kind: 'off', why: 'run from source: update it with git pull' };
  switch (install.platform) {
    case 'win32':
      return { kind: 'auto' };
    case 'darwin':
      // Squirrel.Mac installs an update only over a signed app.
      return install.signed
        ? { kind: 'auto' }
        : {
            kind: 'notify',
            how: 'This build is not signed, so macOS cannot update it in place: download the new version.',
          };
    case 'linux':
      if (install.snap) return { kind: 'off', why: 'installed from the Snap Store, which updates it' };
      if (install.appImage) return { kind: 'auto' };
      if (install.packageType === 'deb')
        return {
          kind: 'notify',
          how: 'Installed from the .deb package: install the new .deb from the release page (sudo apt install ./agent-room-….deb).',
        };
      return { kind: 'notify', how: 'Install the new version from the release page.' };
    default:
      return { kind: 'notify', how: 'Install the new version from the release page.' };
  }
}

/** The states, as the contract sends them to the window (app.update). */
export type UpdateState = AppUpdateState;

/** A tray menu line of the updater's (tray-menu.ts wraps `action` in a TrayAction). */
export interface UpdateMenuItem {
  id: string;
  label: string;
  type?: 'checkbox';
  enabled?: boolean;
  checked?: boolean;
  action?: UpdateAction;
}

/** What the tray asks the updater for. */
export type UpdateAction =
  | { type: 'restartToUpdate' }
  | { type: 'checkForUpdates' }
  | { type: 'openReleasePage'; url: string }
  | { type: 'toggleUpdates'; value: boolean };

/** The release page of a version. */
export function releasePage(version: string): string {
  return `${RELEASES_URL}/tag/v${version}`;
}

/** Shown after "Agent Room: …" in the tray tooltip, or undefined when there is nothing to say. */
export function updateTooltip(state: UpdateState): string | undefined {
  switch (state.phase) {
    case 'downloading':
      return `downloading update ${state.version} (${Math.floor(state.percent)}%)`;
    case 'ready':
      return `update ${state.version} installs when you quit`;
    case 'available':
      return `version ${state.version} is available`;
    default:
      return undefined;
  }
}

/** The window's taskbar/dock progress: a fraction while downloading, -1 (none) otherwise. */
export function windowProgress(state: UpdateState): number {
  return state.phase === 'downloading' ? Math.min(1, Math.max(0, state.percent / 100)) : -1;
}

/** The tray's update lines and actions; `enabled` is the setting. */
export function updateMenuItems(state: UpdateState, enabled: boolean): UpdateMenuItem[] {
  const line = (id: string, label: string): UpdateMenuItem => ({ id, label, enabled: false });
  const check: UpdateMenuItem = { id: 'update.check', label: 'Check for updates', action: { type: 'checkForUpdates' } };
  if (state.phase === 'off') return [line('update.off', `Updates: off (${state.why})`)];
  const items: UpdateMenuItem[] = [];
  switch (state.phase) {
    case 'checking':
      items.push(line('update.status', 'Checking for updates…'));
      break;
    case 'waiting':
      items.push(line('update.status', 'Update check waits until the bots finish replying'));
      break;
    case 'current':
      items.push(line('update.status', `Agent Room ${state.version} is up to date`), check);
      break;
    case 'available':
      items.push({
        id: 'update.get',
        label: `Get Agent Room ${state.version}…`,
        action: { type: 'openReleasePage', url: state.url },
      });
      break;
    case 'downloading':
      items.push(line('update.status', `Downloading Agent Room ${state.version}: ${Math.floor(state.percent)}%`));
      break;
    case 'ready':
      items.push(
        {
          id: 'update.restart',
          label: `Restart now to update to ${state.version}`,
          action: { type: 'restartToUpdate' },
        },
        line('update.status', 'Otherwise it installs when you quit'),
      );
      break;
    case 'error':
      items.push(line('update.status', `Update failed: ${state.message}`.slice(0, 100)), check);
      break;
    default:
      items.push(check);
  }
  items.push({
    id: 'update.enabled',
    label: 'Check for updates automatically',
    type: 'checkbox',
    checked: enabled,
    action: { type: 'toggleUpdates', value: !enabled },
  });
  return items;
}
