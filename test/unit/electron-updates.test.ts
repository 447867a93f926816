// The desktop app's updates with the real electron-updater (AppImageUpdater, DebUpdater) against a local feed
// (test/support/update-feed.ts), the app side through the shared electron mock (its net.request carries
// electron-updater's HTTP; app.quit/exit/relaunch and QuitGuard do the quit). Linux has no signature check, so what
// guards an AppImage update is the feed's sha512: a wrong one, or a download cut half way, is refused and nothing is
// installed. A verified update installs as the app exits, after the services stopped; "Restart now" also starts it.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
import type { AppStatus } from '../../main/common/contract.ts';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import type { EventHub } from '../../main/core/control/event-hub.ts';
import { DesktopApp } from '../../main/electron/desktop-app.ts';
import { QuitGuard } from '../../main/electron/quit-guard.ts';
import type { InstallKind, UpdateState } from '../../main/electron/updates/update-state.ts';
import { createDesktopUpdates } from '../../main/electron/updates/updates.ts';
import { fakeStatus } from '../support/contract-fake-handlers.ts';
import {
  MockBrowserWindow,
  MockTray,
  electronMock,
  provideElectronToRequire,
  resetElectronMock,
} from '../support/electron-mock.ts';
import { createPlaceholderCore } from '../support/placeholder-core.ts';
import { startUpdateFeed, type UpdateFeed } from '../support/update-feed.ts';

const { logger } = createMemoryLogger('silent');
const NEW_NAME = 'agent-room-0.2.0-linux-x64.AppImage';
// The new version: electron-builder's AppImage runtime exits at once when APPIMAGE_EXIT_AFTER_INSTALL is set;
// this one records that it ran so. The padding makes the download long enough to report progress.
const NEW_APPIMAGE = Buffer.from(
  `#!/bin/sh\necho "ran:$APPIMAGE_EXIT_AFTER_INSTALL" > "$(dirname "$0")/install-ran"\nexit 0\n# ${'x'.repeat(300_000)}\n`,
);

let dir: string;
let apps: string;
let oldAppImage: string;
let feed: UpdateFeed | undefined;
const savedEnv = { APPIMAGE: process.env.APPIMAGE, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };

beforeEach(() => {
  resetElectronMock();
  provideElectronToRequire();
  electronMock.app.isPackaged = true;
  dir = mkdtempSync(join(tmpdir(), 'agent-room-updates-'));
  apps = join(dir, 'Applications');
  mkdirSync(apps);
  oldAppImage = join(apps, 'agent-room-0.1.0-linux-x64.AppImage');
  writeFileSync(oldAppImage, '#!/bin/sh\necho the old version\n');
  chmodSync(oldAppImage, 0o755);
  // electron-updater reads $APPIMAGE (the file it replaces) and keeps downloads under $XDG_CACHE_HOME.
  process.env.APPIMAGE = oldAppImage;
  process.env.XDG_CACHE_HOME = join(dir, 'cache');
});
afterEach(async () => {
  await feed?.close();
  feed = undefined;
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

const appImageInstall = (): InstallKind => ({
  platform: 'linux',
  packaged: true,
  appImage: oldAppImage,
  signed: false,
});

/** electron-builder writes resources/app-update.yml; here it names the local feed. */
function updateConfig(url: string): string {
  const file = join(dir, 'app-update.yml');
  writeFileSync(file, `provider: generic\nurl: ${url}\nupdaterCacheDirName: agent-room-updater\n`);
  return file;
}

async function setup(
  o: { version?: string; wrongSha512?: boolean; cutAfterBytes?: number; install?: InstallKind } = {},
) {
  // electron-updater waits for app.whenReady() before it checks.
  electronMock.app.fireReady();
  feed = await startUpdateFeed({
    version: o.version ?? '0.2.0',
    file: { name: o.install?.packageType === 'deb' ? 'agent-room-0.2.0-linux-x64.deb' : NEW_NAME, data: NEW_APPIMAGE },
    wrongSha512: o.wrongSha512,
    cutAfterBytes: o.cutAfterBytes,
  });
  const states: UpdateState[] = [];
  const busy = { value: false };
  const updates = createDesktopUpdates({
    install: o.install ?? appImageInstall(),
    settings: () => ({ enabled: true, checkIntervalHours: 4 }),
    isBusy: () => busy.value,
    onChange: (s) => states.push(s),
    logger,
    updateConfigPath: updateConfig(feed.url),
    feedUrl: feed.url,
    firstCheckDelayMs: 3_600_000,
  });
  return { updates, states, busy, feed };
}

/** A QuitGuard over a host that records its stop, installing updates in beforeExit as the desktop app does. */
function quitGuard(onExit: () => void) {
  const stopped: string[] = [];
  const guard = new QuitGuard({
    host: {
      phase: 'running',
      start: async () => undefined,
      stop: async () => void stopped.push('services'),
      onChange: () => () => undefined,
    },
    deadlineMs: 1000,
    beforeExit: () => {
      stopped.push('beforeExit');
      onExit();
    },
    signals: [],
  });
  guard.install();
  return { guard, stopped };
}

const pendingFiles = () => {
  const cache = join(dir, 'cache', 'agent-room-updater', 'pending');
  return existsSync(cache) ? readdirSync(cache).filter((f) => !f.endsWith('.json')) : [];
};

describe('updates from a local feed (AppImage)', () => {
  it('finds a newer version, downloads it with progress, verifies it, and installs it on "Restart now" after the services stopped', async () => {
    const { updates, states, feed } = await setup();
    await updates.check();
    expect(updates.state).toEqual({ phase: 'ready', version: '0.2.0' });
    expect(states[0]).toEqual({ phase: 'checking' });
    expect(states).toContainEqual({ phase: 'downloading', version: '0.2.0', percent: 0 });
    expect(states.filter((s) => s.phase === 'downloading').at(-1)).toMatchObject({ percent: 100 });
    expect(feed.requests).toEqual(expect.arrayContaining(['/latest-linux.yml', `/${NEW_NAME}`]));
    expect(electronMock.net.requests.length).toBeGreaterThanOrEqual(2);
    // Nothing is installed while the app runs.
    expect(readdirSync(apps)).toEqual(['agent-room-0.1.0-linux-x64.AppImage']);

    const { guard, stopped } = quitGuard(() => updates.onExit());
    expect(updates.restartNow()).toBe(true);
    await guard.finished;
    expect(stopped).toEqual(['services', 'beforeExit']);
    expect(electronMock.app.exitCode).toBe(0);
    // The new AppImage replaced the old one (its name carries the version), ran once to finish installing, and starts
    // again only after this process has exited (app.relaunch).
    expect(readdirSync(apps).sort()).toEqual(['agent-room-0.2.0-linux-x64.AppImage', 'install-ran']);
    expect(readFileSync(join(apps, NEW_NAME))).toEqual(NEW_APPIMAGE);
    expect(readFileSync(join(apps, 'install-ran'), 'utf8')).toBe('ran:true\n');
    expect(electronMock.app.relaunches).toEqual([{ execPath: join(apps, NEW_NAME), args: [] }]);
  });

  it('a plain quit installs the downloaded update without starting it', async () => {
    const { updates } = await setup();
    await updates.check();
    const { guard } = quitGuard(() => updates.onExit());
    electronMock.app.quit();
    await guard.finished;
    expect(existsSync(join(apps, NEW_NAME))).toBe(true);
    expect(existsSync(oldAppImage)).toBe(false);
    expect(electronMock.app.relaunches).toEqual([]);
  });

  it.each([
    ['a feed whose sha512 is not the file', { wrongSha512: true }, /did not match its published checksum/],
    ['a server that cuts the download half way', { cutAfterBytes: 100_000 }, /the download was cut off/],
  ])(
    'refuses %s: nothing is kept or installed, and quitting leaves the app as it was',
    async (_what, fault, message) => {
      const { updates } = await setup(fault);
      await updates.check();
      expect(updates.state).toMatchObject({ phase: 'error', message: expect.stringMatching(message) });
      expect(pendingFiles()).toEqual([]);
      expect(updates.restartNow()).toBe(false);
      const { guard } = quitGuard(() => updates.onExit());
      electronMock.app.quit();
      await guard.finished;
      expect(readdirSync(apps)).toEqual(['agent-room-0.1.0-linux-x64.AppImage']);
      expect(electronMock.app.relaunches).toEqual([]);
    },
  );

  it('says the app is up to date when the feed has its own version', async () => {
    const { updates, feed } = await setup({ version: '0.1.0' });
    await updates.check();
    expect(updates.state).toEqual({ phase: 'current', version: '0.1.0' });
    expect(feed.requests).toEqual(['/latest-linux.yml']);
  });

  it('never checks while a bot replies: the check waits, and runs once the replies have finished', async () => {
    const { updates, busy, feed } = await setup();
    busy.value = true;
    await updates.check();
    expect(updates.state).toEqual({ phase: 'waiting' });
    expect(feed.requests).toEqual([]);
    updates.busyChanged(); // still busy: nothing
    expect(feed.requests).toEqual([]);
    busy.value = false;
    updates.busyChanged();
    await vi.waitFor(() => expect(updates.state).toEqual({ phase: 'ready', version: '0.2.0' }), { timeout: 20_000 });
  });
});

describe('updates of a .deb install', () => {
  it('says a new version exists and where to get the package, and never downloads it', async () => {
    const { updates, feed } = await setup({
      install: { platform: 'linux', packaged: true, packageType: 'deb', signed: false },
    });
    await updates.check();
    expect(updates.state).toEqual({
      phase: 'available',
      version: '0.2.0',
      how: expect.stringMatching(/\.deb package: install the new \.deb from the release page/),
      url: 'https://github.com/agent-room/agent-room/releases/tag/v0.2.0',
    });
    expect(feed.requests).toEqual(['/latest-linux.yml']);
  });
});

describe('updates in the desktop app', () => {
  async function startDesktop(url: string) {
    const desktop = new DesktopApp({
      createCore: createPlaceholderCore,
      dataDir: join(dir, 'data'),
      resourcesDir: '/res',
      preloadPath: '/p.cjs',
      page: { url: 'http://localhost:5173/' },
      createLogger: () => logger,
      platform: 'linux',
      argv: ['agent-room'],
      env: {},
      homeDir: dir,
      quitDeadlineMs: 500,
      updates: { install: appImageInstall(), updateConfigPath: updateConfig(url), firstCheckDelayMs: 3_600_000 },
    });
    const running = desktop.run();
    electronMock.app.fireReady();
    expect(await running).toBe(true);
    await vi.waitFor(() => expect(desktop.core?.host.phase).toBe('running'));
    return desktop;
  }
  const menu = () => electronMock.builtMenus.at(-1) ?? [];
  const item = (id: string) => menu().find((i) => i.id === id) as { label: string; click?: () => void } | undefined;

  it('shows progress in the tray and on the window, waits for busy bots, and "Restart now" in the tray installs', async () => {
    feed = await startUpdateFeed({ version: '0.2.0', file: { name: NEW_NAME, data: NEW_APPIMAGE } });
    const desktop = await startDesktop(feed.url);
    expect(item('update.check')?.label).toBe('Check for updates');
    expect(item('update.enabled')).toMatchObject({ type: 'checkbox', checked: true });

    // A bot is replying: the tray's check waits.
    const events = desktop.core!.events as EventHub;
    const busy: AppStatus = fakeStatus({
      bots: [{ id: 'a', displayName: 'A', model: 'm', busy: true, stats: { replies: 0 } }],
    });
    events.emit('status.changed', busy);
    item('update.check')!.click!();
    await vi.waitFor(() =>
      expect(item('update.status')?.label).toBe('Update check waits until the bots finish replying'),
    );
    expect(feed.requests).toEqual([]);
    events.emit('status.changed', fakeStatus());
    await vi.waitFor(() => expect(item('update.restart')?.label).toBe('Restart now to update to 0.2.0'), {
      timeout: 20_000,
    });
    const window = MockBrowserWindow.all[0]!;
    // The taskbar/dock button showed the download (0 … 1), and nothing once it was done.
    expect(window.progress).toContain(1);
    expect(window.progress.at(-1)).toBe(-1);
    expect(MockTray.all[0]!.tooltip).toBe('Agent Room: ready · update 0.2.0 installs when you quit');
    // The page hears each change (its banner offers "Restart now" too) and can ask for the state.
    expect(window.webContents.sent).toContainEqual([
      'agent-room:event:app.update',
      { phase: 'ready', version: '0.2.0' },
    ]);
    window.webContents.mainFrame.url = 'http://localhost:5173/';
    const sender = { sender: window.webContents, senderFrame: window.webContents.mainFrame };
    expect(await electronMock.ipcMain.invoke('agent-room:app.updateState', sender)).toEqual({
      ok: true,
      value: { phase: 'ready', version: '0.2.0' },
    });

    item('update.restart')!.click!();
    await desktop.quitGuard?.finished;
    expect(desktop.core?.host.phase).toBe('stopped');
    expect(existsSync(join(apps, NEW_NAME))).toBe(true);
    expect(electronMock.app.relaunches).toEqual([{ execPath: join(apps, NEW_NAME), args: [] }]);
    expect(electronMock.app.exitCode).toBe(0);
  });

  it('turning "Check for updates automatically" off in the tray saves updates.enabled', async () => {
    feed = await startUpdateFeed({ version: '0.2.0', file: { name: NEW_NAME, data: NEW_APPIMAGE } });
    const desktop = await startDesktop(feed.url);
    item('update.enabled')!.click!();
    await vi.waitFor(() => expect(desktop.updates?.state).toEqual({ phase: 'disabled' }));
    expect(JSON.parse(readFileSync(join(dir, 'data', 'settings.json'), 'utf8')).updates).toMatchObject({
      enabled: false,
    });
    expect(item('update.enabled')).toMatchObject({ checked: false });
    electronMock.app.quit();
    await desktop.quitGuard?.finished;
    expect(feed.requests).toEqual([]);
  });
});
