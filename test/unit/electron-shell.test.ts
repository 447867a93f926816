// The desktop shell against the shared electron mock: window security and close-to-tray, the tray
// controller, notifications and badge, start at login, the CSP, and the whole app started and quit.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
import { acquireDataFolderLock, dataFolderHolder } from '../../main/core/lifecycle/data-folder-lock.ts';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import { DesktopApp } from '../../main/electron/desktop-app.ts';
import { LoginItems, launchedHidden, xdgAutostartEntry } from '../../main/electron/login-items.ts';
import { ReplyNotifier } from '../../main/electron/notifications.ts';
import { createPlaceholderCore } from '../support/placeholder-core.ts';
import { TrayController, trayImagePath } from '../../main/electron/tray.ts';
import { isAppUrl, isExternalWebUrl } from '../../main/electron/web-security.ts';
import { chatCsp } from '../../main/core/control/chat-csp.ts';
import { ChatWindow, restoreBounds } from '../../main/electron/windows.ts';
import { ElectronSettingsStore } from '../../main/electron/settings-adapter.ts';
import {
  MockBrowserWindow,
  MockNotification,
  MockTray,
  electronMock,
  resetElectronMock,
} from '../support/electron-mock.ts';
import { fakeStatus } from '../support/contract-fake-handlers.ts';

let dir: string;
const { logger } = createMemoryLogger('silent');
beforeEach(() => {
  resetElectronMock();
  dir = mkdtempSync(join(tmpdir(), 'agent-room-shell-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('chat window', () => {
  function open(quitting = false) {
    const settings = new ElectronSettingsStore({ dataDir: dir, logger });
    const win = new ChatWindow({
      preloadPath: '/app/dist/preload/preload.cjs',
      page: { rendererDir: '/app/dist/renderer' },
      settings,
      isQuitting: () => quitting,
      saveDelayMs: 0,
    });
    win.create(true);
    return { settings, win, bw: MockBrowserWindow.all[0]! };
  }

  it('is sandboxed, context-isolated and without Node', () => {
    const { bw, win } = open();
    expect(bw.options.webPreferences).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webviewTag: false,
      preload: '/app/dist/preload/preload.cjs',
    });
    // Never file:// (an opaque origin): the privileged app:// scheme, served from the renderer folder.
    expect(bw.loaded).toEqual({ url: 'app://agent-room/index.html' });
    expect(win.appUrl).toBe('app://agent-room/index.html');
  });

  it('denies window.open and navigation; web links open in the system browser', () => {
    const { bw } = open();
    expect(bw.webContents.windowOpenHandler?.({ url: 'https://example.org/a' })).toEqual({ action: 'deny' });
    expect(bw.webContents.windowOpenHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    const nav = (url: string) => {
      let prevented = false;
      bw.webContents.emit('will-navigate', { url, preventDefault: () => (prevented = true) });
      return prevented;
    };
    expect(nav('https://evil.example/')).toBe(true);
    expect(nav('javascript:alert(1)')).toBe(true);
    expect(nav('app://agent-room/index.html#/room')).toBe(false);
    expect(nav('file:///app/dist/renderer/index.html')).toBe(true);
    expect(nav('app://other-host/index.html')).toBe(true);
    expect(electronMock.shell.external).toEqual(['https://example.org/a', 'https://evil.example/']);
  });

  it('close hides to the tray when closeToTray is on, and really closes when quitting', () => {
    const { bw, settings } = open();
    bw.close();
    expect(bw.destroyed).toBe(false);
    expect(bw.visible).toBe(false);
    settings.update((s) => ({ ...s, ui: { ...s.ui, closeToTray: false } }));
    bw.close();
    expect(bw.destroyed).toBe(true);
  });

  it('remembers size and position', () => {
    const { bw, settings } = open();
    bw.setBounds({ x: 200, y: 120, width: 900, height: 700 });
    bw.close();
    expect(settings.get().ui.window).toEqual({ x: 200, y: 120, width: 900, height: 700 });
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).ui.window.width).toBe(900);
  });

  it.each([
    [{ x: 100, y: 100, width: 800, height: 600 }, true],
    [{ x: 5000, y: 100, width: 800, height: 600 }, false],
    [{ x: 100, y: -900, width: 800, height: 600 }, false],
  ])('restoreBounds keeps %j on screen: %s', (saved, kept) => {
    const out = restoreBounds(saved, [{ x: 0, y: 0, width: 1920, height: 1040 }]);
    expect(out.x !== undefined).toBe(kept);
    expect(out.width).toBe(800);
  });
});

describe('web security rules', () => {
  // The CSP itself (chatCsp) is tested with the app:// protocol in electron-app-protocol.test.ts.
  it.each([
    ['app://agent-room/index.html#/room', 'app://agent-room/index.html', true],
    ['app://agent-room/assets/x.js', 'app://agent-room/index.html', true],
    ['app://other/index.html', 'app://agent-room/index.html', false],
    ['evil://agent-room/index.html', 'app://agent-room/index.html', false],
    ['file:///app/index.html', 'app://agent-room/index.html', false],
    ['file:///app/index.html', 'file:///app/index.html', false],
    ['http://127.0.0.1:8008/', 'app://agent-room/index.html', false],
    ['http://localhost:5173/room', 'http://localhost:5173/', true],
    ['http://localhost:5174/', 'http://localhost:5173/', false],
    ['not a url', 'app://agent-room/index.html', false],
  ])('isAppUrl(%s, %s) = %s', (url, app, ok) => expect(isAppUrl(url, app)).toBe(ok));
  it('only web and mail links leave for the system browser', () => {
    expect(
      ['https://a.b', 'http://a.b', 'mailto:x@y.z', 'file:///x', 'javascript:1', 'smb://x'].map(isExternalWebUrl),
    ).toEqual([true, true, true, false, false, false]);
  });
});

describe('tray controller', () => {
  it('shows the state image, rebuilds the menu and routes clicks as actions', () => {
    const actions: unknown[] = [];
    const tray = new TrayController({ trayDir: '/res/tray', platform: 'linux', onAction: (a) => actions.push(a) });
    const t = MockTray.all[0]!;
    expect(electronMock.images).toEqual(['/res/tray/starting.png']);
    tray.update({
      status: fakeStatus({ services: [{ name: 'homeserver', status: 'failed', error: 'x' }] }),
      bots: [],
      ui: { startAtLogin: false, startHidden: false, closeToTray: true },
      loginItemsSupported: true,
    });
    expect(tray.iconState).toBe('error');
    expect(electronMock.images.at(-1)).toBe('/res/tray/error.png');
    expect(t.menu).not.toBeNull();
    const quit = electronMock.builtMenus.at(-1)!.find((i) => i.id === 'quit') as { click: () => void };
    quit.click();
    t.emit('click');
    expect(actions).toEqual([{ type: 'quit' }, { type: 'openChat' }]);
    expect(trayImagePath('/r', 'ready', 'darwin')).toBe('/r/readyTemplate.png');
  });

  it('on macOS a click does not open the window (the menu shows)', () => {
    const actions: unknown[] = [];
    new TrayController({ trayDir: '/res/tray', platform: 'darwin', onAction: (a) => actions.push(a) });
    MockTray.all[0]!.emit('click');
    expect(actions).toEqual([]);
  });
});

describe('notifications and badge', () => {
  const reply = {
    botId: 'qwen',
    displayName: 'Qwen',
    roomId: '!r',
    eventId: '$e',
    preview: 'Quicksort picks a pivot…',
  };
  it('notifies and counts unread while the window is hidden; clears when seen', () => {
    let seen = false;
    const clicks: number[] = [];
    const n = new ReplyNotifier({
      isWindowSeen: () => seen,
      notificationsEnabled: () => true,
      onClick: () => clicks.push(1),
    });
    n.onReply(reply);
    n.onReply(reply);
    expect(electronMock.app.badge).toBe(2);
    expect(MockNotification.shown.map((x) => x.options.title)).toEqual(['Qwen', 'Qwen']);
    MockNotification.shown[0]!.emit('click');
    expect(clicks).toEqual([1]);
    seen = true;
    n.seen();
    n.onReply(reply);
    expect(electronMock.app.badge).toBe(0);
    expect(MockNotification.shown.length).toBe(2);
  });
  it('the setting turns notifications off but keeps the badge', () => {
    const n = new ReplyNotifier({
      isWindowSeen: () => false,
      notificationsEnabled: () => false,
      onClick: () => undefined,
    });
    n.onReply(reply);
    expect(MockNotification.shown.length).toBe(0);
    expect(electronMock.app.badge).toBe(1);
  });
});

describe('start at login', () => {
  it('writes and removes an XDG autostart entry on Linux, with --hidden when asked', async () => {
    const items = new LoginItems({
      platform: 'linux',
      env: { XDG_CONFIG_HOME: join(dir, 'config'), APPIMAGE: '/home/me/Apps/Agent Room.AppImage' },
      execPath: '/tmp/.mount/agent-room',
      homeDir: dir,
    });
    await items.apply(true, true);
    const text = readFileSync(join(dir, 'config', 'autostart', 'agent-room.desktop'), 'utf8');
    expect(text).toContain('Exec="/home/me/Apps/Agent Room.AppImage" --hidden');
    await items.apply(false, true);
    expect(existsSync(items.autostartFile)).toBe(false);
    expect(xdgAutostartEntry({ exec: '/usr/bin/agent-room', hidden: false })).toContain('Exec=/usr/bin/agent-room\n');
  });
  it('uses the login item API on macOS and Windows', async () => {
    await new LoginItems({ platform: 'win32', env: {}, execPath: 'C:\\agent-room.exe', homeDir: dir }).apply(
      true,
      true,
    );
    expect(electronMock.app.loginItem).toEqual({ openAtLogin: true, args: ['--hidden'] });
    expect(launchedHidden(['x', '--hidden'], false, false)).toBe(true);
    expect(launchedHidden(['x'], true, true)).toBe(true);
    expect(launchedHidden(['x'], false, true)).toBe(false);
  });
});

describe('DesktopApp', () => {
  it('starts sandboxed with one window, a tray and the gateway; a second launch focuses; quit stops the core', async () => {
    const desktop = new DesktopApp({
      createCore: createPlaceholderCore,
      dataDir: dir,
      resourcesDir: '/res',
      preloadPath: '/app/preload.cjs',
      page: { rendererDir: join(dir, 'renderer') },
      createLogger: () => logger,
      platform: 'linux',
      argv: ['agent-room'],
      env: { XDG_CONFIG_HOME: join(dir, 'config') },
      homeDir: dir,
      quitDeadlineMs: 500,
    });
    mkdirSync(join(dir, 'renderer'));
    writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>Agent Room</title>');
    // An external homeserver in settings: the page's CSP must let it connect.
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ homeserver: { mode: 'external', url: 'https://matrix.example.org' } }),
    );
    const running = desktop.run();
    expect(electronMock.app.sandboxEnabled).toBe(true);
    expect(electronMock.protocol.privileged.map((p) => p.scheme)).toEqual(['app']);
    electronMock.app.fireReady();
    expect(await running).toBe(true);
    await vi.waitFor(() => expect(desktop.core?.host.phase).toBe('running'));
    // The data folder is held for the app's whole life: a serve started now would be refused.
    expect(dataFolderHolder(dir)).toMatchObject({ holder: 'desktop', pid: process.pid });
    expect(MockBrowserWindow.all.length).toBe(1);
    expect(MockTray.all.length).toBe(1);
    expect(electronMock.ipcMain.handlers.size).toBeGreaterThan(10);
    expect(electronMock.session.defaultSession.headersListener).toBeDefined();

    // The page comes from app://agent-room with the CSP; the session header (dev server) is the same policy.
    const bw0 = MockBrowserWindow.all[0]!;
    expect(bw0.loaded).toEqual({ url: 'app://agent-room/index.html' });
    const page = await electronMock.protocol.request('app://agent-room/index.html');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy');
    expect(csp).toBe(chatCsp({ homeserverUrls: ['https://matrix.example.org'] }));
    let headerCsp: string[] | undefined;
    electronMock.session.defaultSession.headersListener?.(
      { url: 'http://localhost:5173/', responseHeaders: { 'content-security-policy': ['none'] } },
      (r) => (headerCsp = r.responseHeaders?.['Content-Security-Policy']),
    );
    expect(headerCsp).toEqual([csp]);
    // The gateway takes calls from that page only: not from a file:// page in the same window.
    bw0.webContents.mainFrame.url = 'file:///app/dist/renderer/index.html';
    expect(
      await electronMock.ipcMain.invoke('agent-room:status.get', {
        sender: bw0.webContents,
        senderFrame: bw0.webContents.mainFrame,
      }),
    ).toMatchObject({ ok: false, error: { code: 'Forbidden' } });
    bw0.webContents.mainFrame.url = 'app://agent-room/index.html';

    const bw = MockBrowserWindow.all[0]!;
    bw.hide();
    electronMock.app.emit('second-instance', {}, ['agent-room'], dir);
    expect(bw.visible).toBe(true);
    expect(MockBrowserWindow.all.length).toBe(1);

    const result = await electronMock.ipcMain.invoke(
      'agent-room:settings.update',
      { sender: bw.webContents, senderFrame: bw.webContents.mainFrame },
      { ui: { startAtLogin: true } },
    );
    expect(result).toMatchObject({ ok: true, value: { ui: { startAtLogin: true } } });
    await vi.waitFor(() => expect(existsSync(join(dir, 'config', 'autostart', 'agent-room.desktop'))).toBe(true));

    electronMock.app.quit();
    await desktop.quitGuard?.finished;
    expect(desktop.core?.host.phase).toBe('stopped');
    expect(electronMock.app.exitCode).toBe(0);
    expect(MockTray.all[0]!.destroyed).toBe(true);
    expect(dataFolderHolder(dir)).toBeUndefined();
  });

  it('with serve running on the data folder: says who holds it, starts nothing, exits 1', async () => {
    const serve = acquireDataFolderLock(dir, { holder: 'serve', controlUrl: 'http://127.0.0.1:8765' });
    const createCore = vi.fn(createPlaceholderCore);
    const desktop = new DesktopApp({
      createCore,
      dataDir: dir,
      resourcesDir: '/res',
      preloadPath: '/p',
      page: { rendererDir: '/r' },
      createLogger: () => logger,
      platform: 'linux',
      argv: [],
      env: {},
      homeDir: dir,
    });
    expect(await desktop.run()).toBe(false);
    expect(createCore).not.toHaveBeenCalled();
    expect(MockBrowserWindow.all.length).toBe(0);
    expect(electronMock.dialog.errorBoxes).toEqual([
      {
        title: 'Agent Room is already running',
        content: expect.stringMatching(
          new RegExp(
            `^Agent Room already runs on this data folder \\(pid ${process.pid}, http://127\\.0\\.0\\.1:8765\\)\\.\\n\\nUse the running one`,
          ),
        ),
      },
    ]);
    expect(electronMock.app.exitCode).toBe(1);
    // The folder stays serve's.
    expect(dataFolderHolder(dir)).toMatchObject({ holder: 'serve' });
    serve.release();
  });

  it('a second instance starts nothing', async () => {
    electronMock.app.lockHeld = false;
    const createCore = vi.fn(createPlaceholderCore);
    const desktop = new DesktopApp({
      createCore,
      dataDir: dir,
      resourcesDir: '/res',
      preloadPath: '/p',
      page: { rendererDir: '/r' },
      createLogger: () => logger,
      platform: 'linux',
      argv: [],
      env: {},
      homeDir: dir,
    });
    expect(await desktop.run()).toBe(false);
    expect(createCore).not.toHaveBeenCalled();
    expect(MockBrowserWindow.all.length).toBe(0);
  });
});
