// Start at login: app.setLoginItemSettings on macOS and Windows; an XDG autostart entry on Linux, where
// Electron has no login-item API. "Start hidden" passes --hidden, which main.ts reads at launch.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { app } from 'electron';

export const HIDDEN_FLAG = '--hidden';

/** Quotes an Exec argument per the Desktop Entry spec (reserved characters inside double quotes). */
function desktopQuote(arg: string): string {
  return /[\s"'\\$`<>|&;*?#()~]/.test(arg) ? `"${arg.replace(/(["`$\\])/g, '\\$1')}"` : arg;
}

/** The .desktop file for ~/.config/autostart (pure, so its text is tested). */
export function xdgAutostartEntry(options: { exec: string; hidden: boolean }): string {
  const exec = [options.exec, ...(options.hidden ? [HIDDEN_FLAG] : [])].map(desktopQuote).join(' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Agent Room',
    'Comment=Your private AI team in a Matrix room',
    `Exec=${exec}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export interface LoginItemsOptions {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  execPath: string;
  homeDir: string;
}

export class LoginItems {
  constructor(private readonly options: LoginItemsOptions) {}

  /** <XDG_CONFIG_HOME or ~/.config>/autostart/agent-room.desktop */
  get autostartFile(): string {
    const config = this.options.env.XDG_CONFIG_HOME || join(this.options.homeDir, '.config');
    return join(config, 'autostart', 'agent-room.desktop');
  }

  /** An AppImage runs from a temporary mount: the login entry must start the .AppImage file itself. */
  get executable(): string {
    return this.options.env.APPIMAGE || this.options.execPath;
  }

  async apply(startAtLogin: boolean, startHidden: boolean): Promise<void> {
    if (this.options.platform === 'linux') {
      if (!startAtLogin) return rm(this.autostartFile, { force: true });
      await mkdir(join(this.autostartFile, '..'), { recursive: true });
      await writeFile(this.autostartFile, xdgAutostartEntry({ exec: this.executable, hidden: startHidden }), {
        mode: 0o644,
      });
      return;
    }
    app.setLoginItemSettings({ openAtLogin: startAtLogin, args: startHidden ? [HIDDEN_FLAG] : [] });
  }
}

/** True when this launch should not show the window: started at login with "start hidden". */
export function launchedHidden(argv: readonly string[], wasOpenedAtLogin: boolean, startHidden: boolean): boolean {
  return argv.includes(HIDDEN_FLAG) || (wasOpenedAtLogin && startHidden);
}
