// The one mock of `electron` for every test of main/electron and main/preload (after Electron Fiddle's
// tests/mocks). No Electron binary runs here, so this fakes the parts of the API the shell uses, with
// the same names and event shapes, and keeps what happened for tests to inspect.
//
// Use in a test file:
//   vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
//   import { electronMock, resetElectronMock } from '../support/electron-mock.ts';
// A CommonJS package that does `require("electron")` itself (electron-updater) is not reached by vi.mock; call
// provideElectronToRequire() before it runs, and it gets this same mock.
import { EventEmitter } from 'node:events';
import { request as httpRequest, type ClientRequest, type RequestOptions } from 'node:http';
import { createRequire } from 'node:module';

type Listener = (...args: never[]) => unknown;

export class MockWebFrame {
  parent: MockWebFrame | null = null;
  constructor(
    public url: string,
    public readonly routingId: number,
  ) {}
  get origin(): string {
    try {
      const u = new URL(this.url);
      if (u.protocol === 'file:') return 'file://';
      // Node gives "null" for custom schemes; Chromium gives a registered standard scheme a tuple origin.
      return u.origin === 'null' && u.host ? `${u.protocol}//${u.host}` : u.origin;
    } catch {
      return 'null';
    }
  }
  get top(): MockWebFrame {
    return this.parent ? this.parent.top : this;
  }
}

let nextId = 1;

export class MockWebContents extends EventEmitter {
  readonly id = nextId++;
  readonly mainFrame = new MockWebFrame('about:blank', 1);
  readonly sent: Array<[string, unknown]> = [];
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | undefined;
  destroyed = false;
  getURL(): string {
    return this.mainFrame.url;
  }
  send(channel: string, payload: unknown): void {
    this.sent.push([channel, payload]);
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** A child frame (an iframe) of the main frame, for sender checks. */
  childFrame(url: string): MockWebFrame {
    const frame = new MockWebFrame(url, 99);
    frame.parent = this.mainFrame;
    return frame;
  }
}

export class MockBrowserWindow extends EventEmitter {
  static readonly all: MockBrowserWindow[] = [];
  readonly webContents = new MockWebContents();
  visible = false;
  focused = false;
  minimized = false;
  destroyed = false;
  bounds: { x: number; y: number; width: number; height: number };
  loaded: { file?: string; url?: string } = {};
  /** setProgressBar's values in order (-1: none), as on the taskbar or dock. */
  progress: number[] = [];

  constructor(readonly options: Record<string, unknown> = {}) {
    super();
    this.bounds = {
      x: Number(options.x ?? 10),
      y: Number(options.y ?? 10),
      width: Number(options.width ?? 800),
      height: Number(options.height ?? 600),
    };
    this.visible = options.show !== false;
    MockBrowserWindow.all.push(this);
  }
  static getAllWindows(): MockBrowserWindow[] {
    return MockBrowserWindow.all.filter((w) => !w.destroyed);
  }
  loadFile(file: string): Promise<void> {
    this.loaded = { file };
    this.webContents.mainFrame.url = `file://${file}`;
    return Promise.resolve();
  }
  loadURL(url: string): Promise<void> {
    this.loaded = { url };
    this.webContents.mainFrame.url = url;
    return Promise.resolve();
  }
  show(): void {
    this.visible = true;
    this.emit('show');
  }
  hide(): void {
    this.visible = false;
    this.emit('hide');
  }
  focus(): void {
    this.focused = true;
    this.emit('focus');
  }
  restore(): void {
    this.minimized = false;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  setProgressBar(progress: number): void {
    this.progress.push(progress);
  }
  isVisible(): boolean {
    return this.visible;
  }
  isFocused(): boolean {
    return this.focused;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  getNormalBounds(): { x: number; y: number; width: number; height: number } {
    return { ...this.bounds };
  }
  getBounds(): { x: number; y: number; width: number; height: number } {
    return { ...this.bounds };
  }
  setBounds(b: Partial<{ x: number; y: number; width: number; height: number }>): void {
    this.bounds = { ...this.bounds, ...b };
    this.emit('resize');
  }
  /** Like a person clicking the close box: listeners may preventDefault(). */
  close(): void {
    let prevented = false;
    this.emit('close', { preventDefault: () => (prevented = true) });
    if (!prevented) this.destroy();
  }
  destroy(): void {
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
}

export class MockTray extends EventEmitter {
  static readonly all: MockTray[] = [];
  tooltip = '';
  menu: MockMenu | null = null;
  poppedUp = 0;
  destroyed = false;
  constructor(public image: unknown) {
    super();
    MockTray.all.push(this);
  }
  setImage(image: unknown): void {
    this.image = image;
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setContextMenu(menu: MockMenu | null): void {
    this.menu = menu;
  }
  popUpContextMenu(): void {
    this.poppedUp++;
  }
  destroy(): void {
    this.destroyed = true;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

export class MockMenu {
  constructor(readonly template: Array<Record<string, unknown>>) {}
  static buildFromTemplate(template: Array<Record<string, unknown>>): MockMenu {
    electronMock.builtMenus.push(template);
    return new MockMenu(template);
  }
}

export class MockNotification extends EventEmitter {
  static readonly shown: MockNotification[] = [];
  static supported = true;
  constructor(readonly options: { title: string; body?: string; silent?: boolean }) {
    super();
  }
  static isSupported(): boolean {
    return MockNotification.supported;
  }
  show(): void {
    MockNotification.shown.push(this);
  }
}

interface InvokeEventLike {
  sender: MockWebContents;
  senderFrame: MockWebFrame | null;
}

function createState() {
  const app = Object.assign(new EventEmitter(), {
    name: 'Agent Room',
    isPackaged: false,
    lockHeld: true,
    sandboxEnabled: false,
    quitCalls: 0,
    exitCode: undefined as number | undefined,
    /** app.relaunch calls: the next instance starts once this one exits. */
    relaunches: [] as Array<{ execPath?: string; args?: string[] }>,
    badge: 0,
    loginItem: { openAtLogin: false, args: [] as string[] },
    paths: {
      userData: '/tmp/agent-room-mock/userData',
      logs: '/tmp/agent-room-mock/logs',
      exe: '/opt/agent-room/agent-room',
    } as Record<string, string>,
    readyResolve: undefined as (() => void) | undefined,
  });
  const ready = new Promise<void>((resolve) => (app.readyResolve = resolve));
  const appApi = Object.assign(app, {
    requestSingleInstanceLock: () => app.lockHeld,
    enableSandbox: () => void (app.sandboxEnabled = true),
    whenReady: () => ready,
    isReady: () => app.readyResolve === undefined,
    getPath: (name: string) => app.paths[name] ?? `/tmp/agent-room-mock/${name}`,
    getVersion: () => '0.1.0',
    getName: () => app.name,
    relaunch: (options: { execPath?: string; args?: string[] } = {}) => void app.relaunches.push(options),
    getAppPath: () => '/opt/agent-room/resources/app.asar',
    quit: () => {
      app.quitCalls++;
      let prevented = false;
      app.emit('before-quit', { preventDefault: () => (prevented = true) });
      if (!prevented) app.emit('will-quit', { preventDefault: () => undefined });
    },
    // Like Electron: exit skips before-quit and will-quit, but 'quit' is still emitted (electron-updater listens to it).
    exit: (code = 0) => {
      app.exitCode = code;
      app.emit('quit', {}, code);
    },
    focus: () => undefined,
    setBadgeCount: (count = 0) => {
      app.badge = count;
      return true;
    },
    getLoginItemSettings: () => ({ ...app.loginItem }),
    setLoginItemSettings: (s: { openAtLogin?: boolean; args?: string[] }) =>
      void (app.loginItem = { openAtLogin: !!s.openAtLogin, args: s.args ?? [] }),
    /** Test helper: fire 'ready'. */
    fireReady: () => {
      app.readyResolve?.();
      app.readyResolve = undefined;
      app.emit('ready');
    },
  });

  const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  const ipcMain = Object.assign(new EventEmitter(), {
    handlers,
    handle(channel: string, fn: (event: InvokeEventLike, ...args: unknown[]) => unknown) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, fn);
    },
    removeHandler(channel: string) {
      handlers.delete(channel);
    },
    /** Test helper: what ipcRenderer.invoke would get, with the given sender. */
    async invoke(channel: string, event: InvokeEventLike, ...args: unknown[]) {
      const fn = handlers.get(channel);
      if (!fn) throw new Error(`No handler registered for '${channel}'`);
      return fn(event, ...args);
    },
  });

  const safeStorage = {
    available: true,
    backend: 'gnome_libsecret' as 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown',
    isEncryptionAvailable: () => safeStorage.available,
    getSelectedStorageBackend: () => safeStorage.backend,
    // Reversible but not plain text, so a test can tell that encryption ran.
    encryptString: (text: string) => Buffer.from(`enc:${Buffer.from(text, 'utf8').toString('base64')}`),
    decryptString: (buf: Buffer) => {
      const s = buf.toString('utf8');
      if (!s.startsWith('enc:'))
        throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      return Buffer.from(s.slice(4), 'base64').toString('utf8');
    },
  };

  const shell = {
    opened: [] as string[],
    external: [] as string[],
    openPath: (p: string) => {
      shell.opened.push(p);
      return Promise.resolve('');
    },
    openExternal: (url: string) => {
      shell.external.push(url);
      return Promise.resolve();
    },
  };

  type HeadersListener = (
    details: { url: string; responseHeaders?: Record<string, string[]> },
    cb: (r: { responseHeaders?: Record<string, string[]> }) => void,
  ) => void;
  const defaultSession = {
    headersListener: undefined as HeadersListener | undefined,
    permissionHandler: undefined as ((wc: unknown, permission: string, cb: (ok: boolean) => void) => void) | undefined,
    webRequest: { onHeadersReceived: (fn: HeadersListener) => void (defaultSession.headersListener = fn) },
    partitions: [] as string[],
    setPermissionRequestHandler: (fn: (wc: unknown, permission: string, cb: (ok: boolean) => void) => void) =>
      void (defaultSession.permissionHandler = fn),
  };

  const exposed: Record<string, unknown> = {};
  const rendererListeners = new Map<string, Set<Listener>>();
  const ipcRenderer = {
    invoked: [] as Array<[string, unknown[]]>,
    invokeResult: undefined as unknown,
    invoke: (channel: string, ...args: unknown[]) => {
      ipcRenderer.invoked.push([channel, args]);
      return Promise.resolve(ipcRenderer.invokeResult);
    },
    on: (channel: string, fn: Listener) => {
      if (!rendererListeners.has(channel)) rendererListeners.set(channel, new Set());
      rendererListeners.get(channel)?.add(fn);
      return ipcRenderer;
    },
    removeListener: (channel: string, fn: Listener) => {
      rendererListeners.get(channel)?.delete(fn);
      return ipcRenderer;
    },
    /** Test helper: main sends an event to the page. */
    emit: (channel: string, payload: unknown) => {
      for (const fn of rendererListeners.get(channel) ?? []) (fn as (e: unknown, p: unknown) => void)({}, payload);
    },
    listenerCount: (channel: string) => rendererListeners.get(channel)?.size ?? 0,
  };

  type ProtocolHandler = (request: Request) => Response | Promise<Response>;
  const protocol = {
    privileged: [] as Array<{ scheme: string; privileges?: Record<string, boolean> }>,
    handlers: new Map<string, ProtocolHandler>(),
    // Like Electron: privileges only before ready, handlers only after.
    registerSchemesAsPrivileged: (schemes: Array<{ scheme: string; privileges?: Record<string, boolean> }>) => {
      if (appApi.isReady())
        throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
      protocol.privileged.push(...schemes);
    },
    handle: (scheme: string, handler: ProtocolHandler) => {
      if (!appApi.isReady()) throw new Error('The protocol module can not be used before app is ready');
      if (protocol.handlers.has(scheme)) throw new Error(`Failed to register protocol: ${scheme}`);
      protocol.handlers.set(scheme, handler);
    },
    unhandle: (scheme: string) => void protocol.handlers.delete(scheme),
    isProtocolHandled: (scheme: string) => protocol.handlers.has(scheme),
    /** Test helper: what the page gets for url (initiatorOrigin as Electron sets it for web content's requests). */
    request: async (url: string, init: RequestInit & { initiatorOrigin?: string } = {}): Promise<Response> => {
      const scheme = new URL(url).protocol.slice(0, -1);
      const handler = protocol.handlers.get(scheme);
      if (!handler) throw new Error(`net::ERR_UNKNOWN_URL_SCHEME (${scheme})`);
      const { initiatorOrigin, ...rest } = init;
      const request = new Request(url, rest);
      if (initiatorOrigin !== undefined) Object.defineProperty(request, 'initiatorOrigin', { value: initiatorOrigin });
      return handler(request);
    },
  };

  // electron's net.request is modelled on node:http's; electron-updater uses it for the feed and the download.
  const net = {
    requests: [] as string[],
    request: (options: RequestOptions & { session?: unknown; redirect?: string }): ClientRequest => {
      const { session: _session, redirect: _redirect, ...rest } = options;
      net.requests.push(`${rest.protocol ?? 'http:'}//${rest.hostname}:${rest.port}${rest.path}`);
      return httpRequest(rest);
    },
  };
  const autoUpdater = Object.assign(new EventEmitter(), {
    quitAndInstallCalls: 0,
    feedUrl: undefined as unknown,
    setFeedURL: (options: unknown) => void (autoUpdater.feedUrl = options),
    checkForUpdates: () => void autoUpdater.emit('checking-for-update'),
    quitAndInstall: () => void autoUpdater.quitAndInstallCalls++,
  });

  const dialog = {
    errorBoxes: [] as Array<{ title: string; content: string }>,
    showErrorBox: (title: string, content: string) => void dialog.errorBoxes.push({ title, content }),
  };

  const screen = {
    displays: [{ id: 1, workArea: { x: 0, y: 0, width: 1920, height: 1040 } }],
    getAllDisplays: () => screen.displays,
  };

  return {
    app: appApi,
    dialog,
    screen,
    ipcMain,
    safeStorage,
    shell,
    protocol,
    session: {
      defaultSession,
      fromPartition: (partition: string) => {
        defaultSession.partitions.push(partition);
        return { partition };
      },
    },
    net,
    autoUpdater,
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => void (exposed[key] = api) },
    exposed,
    ipcRenderer,
    builtMenus: [] as Array<Array<Record<string, unknown>>>,
    images: [] as string[],
    nativeImage: {
      createFromPath: (p: string) => {
        electronMock.images.push(p);
        return { path: p, isEmpty: () => false, setTemplateImage: () => undefined };
      },
    },
  };
}

export type ElectronMockState = ReturnType<typeof createState>;

/** The live state: the module the code under test imports points into it. */
export let electronMock: ElectronMockState = createState();

/** A fresh app, ipc, tray and window state for the next test (call in beforeEach). */
export function resetElectronMock(): ElectronMockState {
  electronMock = createState();
  MockBrowserWindow.all.length = 0;
  MockTray.all.length = 0;
  MockNotification.shown.length = 0;
  MockNotification.supported = true;
  return electronMock;
}

/** The fake `electron` module: getters, so a reset reaches code that imported it earlier. */
export function electronModule(): Record<string, unknown> {
  const mod = {
    get app() {
      return electronMock.app;
    },
    get ipcMain() {
      return electronMock.ipcMain;
    },
    get safeStorage() {
      return electronMock.safeStorage;
    },
    get shell() {
      return electronMock.shell;
    },
    get session() {
      return electronMock.session;
    },
    get protocol() {
      return electronMock.protocol;
    },
    get contextBridge() {
      return electronMock.contextBridge;
    },
    get ipcRenderer() {
      return electronMock.ipcRenderer;
    },
    get screen() {
      return electronMock.screen;
    },
    get dialog() {
      return electronMock.dialog;
    },
    get net() {
      return electronMock.net;
    },
    get autoUpdater() {
      return electronMock.autoUpdater;
    },
    get nativeImage() {
      return electronMock.nativeImage;
    },
    BrowserWindow: MockBrowserWindow,
    Tray: MockTray,
    Menu: MockMenu,
    Notification: MockNotification,
    // electron-store does `import electron from 'electron'`; our code uses named imports.
    get default(): unknown {
      return mod;
    },
  };
  return mod;
}

/** Makes `require("electron")` in CommonJS packages (electron-updater) return the mock too; idempotent. */
export function provideElectronToRequire(): void {
  const require = createRequire(import.meta.url);
  const id = require.resolve('electron');
  require.cache[id] = { id, filename: id, loaded: true, exports: electronModule() } as NodeJS.Module;
}
