// The updater's decisions as tables: how each kind of install updates, what the tray and window show per state, when
// the controller checks (schedule, setting, busy bots, manual), and how each platform installs on exit. The real
// electron-updater against a local feed is in test/integration/electron-updates.test.ts.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
import type { AppUpdater } from 'electron-updater';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { trayMenuTemplate, trayTooltip } from '../../main/electron/tray-menu.ts';
import {
  UpdateController,
  describeUpdateError,
  type UpdaterPort,
} from '../../main/electron/updates/update-controller.ts';
import {
  RELEASES,
  updateMenuItems,
  updateMode,
  windowProgress,
  type InstallKind,
  type UpdateMode,
  type UpdateState,
} from '../../main/electron/updates/update-state.ts';
import { applyUpdate, detectInstall } from '../../main/electron/updates/updates.ts';
import { electronMock, resetElectronMock } from '../support/electron-mock.ts';

const root = join(import.meta.dirname, '..', '..');
const kind = (o: Partial<InstallKind>): InstallKind => ({ platform: 'linux', packaged: true, signed: false, ...o });

describe('how an install updates', () => {
  it.each<[string, Partial<InstallKind>, UpdateMode['kind']]>([
    ['a source checkout', { packaged: false, appImage: '/a.AppImage' }, 'off'],
    ['Windows (nsis)', { platform: 'win32' }, 'auto'],
    ['Windows, unsigned', { platform: 'win32', signed: false }, 'auto'],
    ['macOS, signed', { platform: 'darwin', signed: true }, 'auto'],
    ['macOS, unsigned (Squirrel.Mac needs a signature)', { platform: 'darwin', signed: false }, 'notify'],
    ['Linux AppImage', { appImage: '/home/p/Agent.AppImage' }, 'auto'],
    ['Linux deb', { packageType: 'deb' }, 'notify'],
    ['Linux snap', { snap: true, appImage: undefined }, 'off'],
    ['Linux, unknown package', {}, 'notify'],
  ])('%s: %s', (_what, install, mode) => {
    expect(updateMode(kind(install)).kind).toBe(mode);
  });

  it('detects AppImage, deb and the signed build from the environment, resources/package-type and package.json', () => {
    const install = detectInstall({
      platform: 'linux',
      packaged: true,
      env: { APPIMAGE: '/x.AppImage' },
      resourcesDir: '/nonexistent',
      appPath: root,
    });
    expect(install).toEqual({
      platform: 'linux',
      packaged: true,
      appImage: '/x.AppImage',
      packageType: undefined,
      snap: false,
      signed: false,
    });
  });

  it("checks this project's releases: the same GitHub repository as electron-builder.yml's publish", () => {
    const config = parseYaml(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as {
      publish: Array<{ provider: string; owner: string; repo: string }>;
    };
    expect(config.publish[0]).toMatchObject({ provider: 'github', owner: RELEASES.owner, repo: RELEASES.repo });
  });
});

describe('what the tray and the window show', () => {
  it.each<[UpdateState, string[], number]>([
    [{ phase: 'idle' }, ['Check for updates'], -1],
    [{ phase: 'checking' }, ['Checking for updates…'], -1],
    [{ phase: 'waiting' }, ['Update check waits until the bots finish replying'], -1],
    [{ phase: 'current', version: '0.1.0' }, ['Agent Room 0.1.0 is up to date', 'Check for updates'], -1],
    [{ phase: 'downloading', version: '0.2.0', percent: 45.6 }, ['Downloading Agent Room 0.2.0: 45%'], 0.456],
    [
      { phase: 'ready', version: '0.2.0' },
      ['Restart now to update to 0.2.0', 'Otherwise it installs when you quit'],
      -1,
    ],
    [{ phase: 'available', version: '0.2.0', how: 'h', url: 'u' }, ['Get Agent Room 0.2.0…'], -1],
    [
      { phase: 'error', message: 'the update server could not be reached' },
      ['Update failed: the update server could not be reached', 'Check for updates'],
      -1,
    ],
  ])('%j', (state, labels, progress) => {
    const items = updateMenuItems(state, true);
    expect(items.map((i) => i.label)).toEqual([...labels, 'Check for updates automatically']);
    expect(windowProgress(state)).toBeCloseTo(progress);
  });

  it('says why updates are off, with no toggle', () => {
    expect(updateMenuItems({ phase: 'off', why: 'run from source' }, true)).toEqual([
      { id: 'update.off', label: 'Updates: off (run from source)', enabled: false },
    ]);
  });

  it('puts the update lines in the tray menu and its tooltip, each click an update action', () => {
    const items = trayMenuTemplate({
      status: undefined,
      bots: [],
      ui: { startAtLogin: false, startHidden: false, closeToTray: true },
      loginItemsSupported: true,
      update: { state: { phase: 'ready', version: '0.2.0' }, enabled: false },
    });
    expect(items.find((i) => i.id === 'update.restart')?.action).toEqual({
      type: 'update',
      update: { type: 'restartToUpdate' },
    });
    expect(items.find((i) => i.id === 'update.enabled')).toMatchObject({
      checked: false,
      action: { type: 'update', update: { type: 'toggleUpdates', value: true } },
    });
    expect(trayTooltip(undefined, { phase: 'downloading', version: '0.2.0', percent: 7.9 })).toBe(
      'Agent Room: starting · downloading update 0.2.0 (7%)',
    );
  });

  it.each([
    [
      Object.assign(new Error('sha512 checksum mismatch'), { code: 'ERR_CHECKSUM_MISMATCH' }),
      /did not match its published checksum/,
    ],
    [
      new Error('New version 0.2.0 is not signed by the application owner: publisherNames: X'),
      /not signed by the publisher/,
    ],
    [new Error('net::ERR_INTERNET_DISCONNECTED'), /could not be reached/],
    [new Error('aborted'), /was cut off/],
    [
      new Error('Cannot find latest-linux.yml in the latest release artifacts\nmore'),
      /^Cannot find latest-linux\.yml in the latest release artifacts$/,
    ],
  ])('describes %s', (err, message) => {
    expect(describeUpdateError(err)).toMatch(message);
  });
});

/** electron-updater's events and calls, faked: a check answers `latest`, a download finishes at once. */
class FakeUpdater extends EventEmitter {
  autoDownload = true;
  currentVersion = { version: '0.1.0' };
  latest = '0.2.0';
  checks = 0;
  downloads = 0;
  checkForUpdates = async () => {
    this.checks++;
    const available = this.latest !== this.currentVersion.version;
    this.emit(available ? 'update-available' : 'update-not-available', { version: this.latest });
    return { isUpdateAvailable: available } as never;
  };
  downloadUpdate = async () => {
    this.downloads++;
    this.emit('download-progress', { percent: 50 });
    this.emit('update-downloaded', { version: this.latest });
    return [];
  };
}

describe('when the controller checks', () => {
  let fake: FakeUpdater;
  let settings: { enabled: boolean; checkIntervalHours: number };
  let busy: boolean;
  let applied: boolean[];
  let quits: number;
  const make = (mode: UpdateMode = { kind: 'auto' }) =>
    new UpdateController({
      updater: fake as unknown as UpdaterPort,
      mode,
      settings: () => settings,
      isBusy: () => busy,
      applyOnExit: (restart) => applied.push(restart),
      quit: () => quits++,
      onChange: () => undefined,
      firstCheckDelayMs: 1000,
    });
  beforeEach(() => {
    vi.useFakeTimers();
    fake = new FakeUpdater();
    settings = { ...defaultSettings().updates };
    busy = false;
    applied = [];
    quits = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('checks soon after start, then every checkIntervalHours; downloads what it finds; never downloads on its own', async () => {
    expect(settings).toEqual({ enabled: true, checkIntervalHours: 4 });
    fake.latest = '0.1.0';
    const c = make();
    expect(fake.autoDownload).toBe(false);
    c.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(fake.checks).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.checks).toBe(1);
    expect(c.state).toEqual({ phase: 'current', version: '0.1.0' });
    fake.latest = '0.2.0';
    await vi.advanceTimersByTimeAsync(4 * 3_600_000);
    expect(fake.checks).toBe(2);
    expect(fake.downloads).toBe(1);
    expect(c.state).toEqual({ phase: 'ready', version: '0.2.0' });
    // Once downloaded, later checks do nothing until the app restarts.
    await vi.advanceTimersByTimeAsync(4 * 3_600_000);
    expect(fake.checks).toBe(2);
  });

  it('with updates off, the schedule never checks, a manual check still does, and turning them on checks soon', async () => {
    settings.enabled = false;
    const c = make();
    expect(c.state).toEqual({ phase: 'disabled' });
    c.start();
    await vi.advanceTimersByTimeAsync(10 * 3_600_000);
    expect(fake.checks).toBe(0);
    await c.check(true);
    expect(fake.checks).toBe(1);
    settings.enabled = true;
    c.settingsChanged();
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.state.phase).toBe('ready');
  });

  it('a due check waits while a bot replies and runs once none is', async () => {
    busy = true;
    const c = make();
    c.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.state).toEqual({ phase: 'waiting' });
    expect(fake.checks).toBe(0);
    c.busyChanged();
    expect(fake.checks).toBe(0);
    busy = false;
    c.busyChanged();
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.checks).toBe(1);
  });

  it('notify mode says a version exists and never downloads it', async () => {
    const c = make({ kind: 'notify', how: 'get the .deb' });
    await c.check();
    expect(c.state).toEqual({
      phase: 'available',
      version: '0.2.0',
      how: 'get the .deb',
      url: 'https://github.com/agent-room/agent-room/releases/tag/v0.2.0',
    });
    expect(fake.downloads).toBe(0);
  });

  it('"Restart now" quits and installs with a restart; a plain exit installs without; nothing to install, nothing done', async () => {
    const c = make();
    expect(c.restartNow()).toBe(false);
    c.onExit();
    expect(applied).toEqual([]);
    await c.check();
    expect(c.restartNow()).toBe(true);
    expect(quits).toBe(1);
    c.onExit();
    c.onExit(); // once only
    expect(applied).toEqual([true]);
    const d = make();
    await d.check();
    d.onExit();
    expect(applied).toEqual([true, false]);
  });

  it('an error after a verified download does not undo it', async () => {
    const c = make();
    await c.check();
    fake.emit('error', new Error('later'));
    expect(c.state).toEqual({ phase: 'ready', version: '0.2.0' });
  });
});

describe('installing on exit, per platform', () => {
  beforeEach(() => resetElectronMock());
  const updater = () => {
    const calls: unknown[][] = [];
    const u = Object.assign(new EventEmitter(), {
      install: (...a: unknown[]) => (calls.push(['install', ...a]), true),
      quitAndInstall: (...a: unknown[]) => void calls.push(['quitAndInstall', ...a]),
    });
    return { u: u as unknown as AppUpdater, calls };
  };
  it.each<[string, InstallKind, boolean, unknown[][], number]>([
    [
      'Windows, Restart now: silent installer, then the new version',
      kind({ platform: 'win32' }),
      true,
      [['install', true, true]],
      0,
    ],
    ['Windows, quit: silent installer only', kind({ platform: 'win32' }), false, [['install', true, false]], 0],
    [
      'macOS, Restart now: Squirrel quitAndInstall',
      kind({ platform: 'darwin', signed: true }),
      true,
      [['quitAndInstall', true, true]],
      0,
    ],
    ['macOS, quit: Squirrel installs by itself', kind({ platform: 'darwin', signed: true }), false, [], 0],
    [
      'AppImage, Restart now: replaced, relaunched after exit',
      kind({ appImage: '/a/x.AppImage' }),
      true,
      [['install', true, false]],
      1,
    ],
    ['AppImage, quit: replaced only', kind({ appImage: '/a/x.AppImage' }), false, [['install', true, false]], 0],
  ])('%s', (_what, install, restart, calls, relaunches) => {
    const { u, calls: seen } = updater();
    applyUpdate(u, install, restart);
    expect(seen).toEqual(calls);
    expect(electronMock.app.relaunches.length).toBe(relaunches);
  });
});
