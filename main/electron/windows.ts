// The chat window: locked down (sandbox, contextIsolation, no Node), hidden to the tray on close when
// the setting says so, and reopened where the person left it.
import { BrowserWindow, screen, shell } from 'electron';
import type { Settings } from '../common/settings-schema.ts';
import type { SettingsStore } from '../core/settings/settings-store.ts';
import { APP_PAGE_URL } from './app-protocol.ts';
import { guardNavigation } from './web-security.ts';

export type WindowBounds = Settings['ui']['window'];
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Saved bounds, with the position dropped when it no longer falls on any display (a monitor was unplugged). */
export function restoreBounds(saved: WindowBounds, workAreas: Rect[]): WindowBounds {
  const { x, y, width, height } = saved;
  if (x === undefined || y === undefined) return { width, height };
  // At least a 100 × 50 corner of the title bar must be on a screen, so the window can be grabbed.
  const visible = workAreas.some(
    (a) => x + 100 > a.x && x < a.x + a.width - 100 + width && y >= a.y - 10 && y + 50 < a.y + a.height,
  );
  return visible ? { x, y, width, height } : { width, height };
}

/**
 * Where the page comes from: the built files under rendererDir, served as app://agent-room (never file://,
 * whose opaque origin breaks the crypto wasm fetch and IndexedDB), or a dev server's URL in development.
 */
export type ChatPage = { rendererDir: string } | { url: string };

export interface ChatWindowOptions {
  preloadPath: string;
  page: ChatPage;
  settings: SettingsStore;
  /** True once quit began: close then really closes. */
  isQuitting: () => boolean;
  /** Called when the window shows or hides (notifications and the badge depend on it). */
  onVisibilityChange?: (visible: boolean) => void;
  saveDelayMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

export class ChatWindow {
  #window: BrowserWindow | undefined;
  #saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ChatWindowOptions) {}

  /** The page's URL as loaded: its origin is the one the IPC gateway and the navigation guard accept. */
  get appUrl(): string {
    const page = this.options.page;
    return 'url' in page ? page.url : APP_PAGE_URL;
  }

  get window(): BrowserWindow | undefined {
    return this.#window && !this.#window.isDestroyed() ? this.#window : undefined;
  }

  isVisible(): boolean {
    return this.window?.isVisible() ?? false;
  }

  isFocused(): boolean {
    return this.window?.isFocused() ?? false;
  }

  /** Creates the window if needed (hidden when startHidden), without showing it. */
  create(show: boolean): BrowserWindow {
    const existing = this.window;
    if (existing) return existing;
    const areas = screen.getAllDisplays().map((d) => d.workArea);
    const bounds = restoreBounds(this.options.settings.get().ui.window, areas);
    const win = new BrowserWindow({
      ...bounds,
      minWidth: 320,
      minHeight: 240,
      show,
      title: 'Agent Room',
      backgroundColor: '#1e1e1e',
      webPreferences: {
        preload: this.options.preloadPath,
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        spellcheck: true,
      },
    });
    this.#window = win;
    guardNavigation(win.webContents, {
      appUrl: () => this.appUrl,
      openExternal: (url) => void shell.openExternal(url),
    });
    win.on('close', (event) => {
      this.#saveBounds();
      if (!this.options.isQuitting() && this.options.settings.get().ui.closeToTray) {
        event.preventDefault();
        win.hide();
      }
    });
    win.on('closed', () => {
      clearTimeout(this.#saveTimer);
      if (this.#window === win) this.#window = undefined;
      this.options.onVisibilityChange?.(false);
    });
    win.on('show', () => this.options.onVisibilityChange?.(true));
    win.on('hide', () => this.options.onVisibilityChange?.(false));
    win.on('focus', () => this.options.onVisibilityChange?.(true));
    for (const event of ['resize', 'move'] as const) win.on(event as 'resize', () => this.#scheduleSave());
    // A failed load rejects (ERR_ABORTED on a quick reload too): log it rather than leave it unhandled.
    win
      .loadURL(this.appUrl)
      .catch((err: unknown) =>
        this.options.logger?.warn({ url: this.appUrl, err: String(err) }, 'the chat window did not load'),
      );
    return win;
  }

  /** Shows and focuses the window (creating it if it was closed): tray click, second launch, notification click. */
  show(): void {
    const win = this.create(true);
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  }

  hide(): void {
    this.window?.hide();
  }

  /** The taskbar (Windows, Linux Unity) or dock (macOS) progress: a fraction, or -1 for none. */
  setProgress(fraction: number): void {
    this.window?.setProgressBar(fraction);
  }

  /** Sends an event to the page, if one is open. */
  send(channel: string, payload: unknown): void {
    const win = this.window;
    if (win && !win.webContents.isDestroyed()) win.webContents.send(channel, payload);
  }

  #scheduleSave(): void {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = setTimeout(() => this.#saveBounds(), this.options.saveDelayMs ?? 500);
  }

  #saveBounds(): void {
    clearTimeout(this.#saveTimer);
    const win = this.window;
    if (!win) return;
    // Normal bounds: a maximised window reopens at the size it had before maximising.
    const b = win.getNormalBounds();
    const next = {
      x: Math.round(b.x),
      y: Math.round(b.y),
      width: Math.max(320, Math.round(b.width)),
      height: Math.max(240, Math.round(b.height)),
    };
    const current = this.options.settings.get().ui.window;
    if (current.x === next.x && current.y === next.y && current.width === next.width && current.height === next.height)
      return;
    this.options.settings.update((s) => ({ ...s, ui: { ...s.ui, window: next } }));
  }

  destroy(): void {
    clearTimeout(this.#saveTimer);
    this.window?.destroy();
  }
}
