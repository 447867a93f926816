// The IPC gateway: who may call (our window, our page, its top frame) and what (schema-valid requests),
// checked before any handler runs; and the preload that exposes only domain methods over it.
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
import { CHANNELS, ipcChannelName, ipcEventName, type Handlers } from '../../main/common/contract.ts';
import { EventHub } from '../../main/core/control/event-hub.ts';
import { IpcGateway, forwardEvents, type TrustedPage } from '../../main/electron/ipc-gateway.ts';
import { MockWebContents, electronMock, resetElectronMock } from '../support/electron-mock.ts';
import { fakeDesktopHandlers, fakeStatus } from '../support/contract-fake-handlers.ts';
import type { AgentRoomApi } from '../../main/common/contract-api.ts';

const APP_URL = 'app://agent-room/index.html';

function setup(handlers: Handlers = fakeDesktopHandlers()) {
  const contents = new MockWebContents();
  contents.mainFrame.url = APP_URL;
  const trusted = (): TrustedPage => ({
    webContentsId: contents.id,
    mainFrame: contents.mainFrame as never,
    appUrl: APP_URL,
  });
  const warnings: string[] = [];
  const gateway = new IpcGateway({ handlers, trusted, logger: { warn: (obj) => warnings.push(JSON.stringify(obj)) } });
  gateway.register();
  const ours = { sender: contents, senderFrame: contents.mainFrame };
  return { contents, gateway, ours, warnings, handlers };
}

beforeEach(() => {
  resetElectronMock();
});

describe('IpcGateway', () => {
  it('registers exactly one ipcMain handler per contract channel', () => {
    setup();
    expect([...electronMock.ipcMain.handlers.keys()].sort()).toEqual(CHANNELS.map(ipcChannelName).sort());
  });

  it('answers our window with the handler result', async () => {
    const { ours } = setup();
    expect(await electronMock.ipcMain.invoke(ipcChannelName('bots.pauseAll'), ours)).toEqual({
      ok: true,
      value: { paused: true },
    });
    expect(await electronMock.ipcMain.invoke(ipcChannelName('app.openLogsFolder'), ours)).toEqual({
      ok: true,
      value: { opened: '/tmp/data/logs' },
    });
  });

  it('refuses a foreign webContents, a subframe and any origin but app://agent-room, without running the handler', async () => {
    const handlers = fakeDesktopHandlers();
    const spy = vi.spyOn(handlers, 'session.get');
    const { contents, warnings } = setup(handlers);
    const other = new MockWebContents();
    other.mainFrame.url = APP_URL;
    const cases = [
      { name: 'foreign webContents', event: { sender: other, senderFrame: other.mainFrame } },
      { name: 'subframe of our window', event: { sender: contents, senderFrame: contents.childFrame(APP_URL) } },
      { name: 'frame gone', event: { sender: contents, senderFrame: null } },
    ];
    for (const c of cases) {
      const result = await electronMock.ipcMain.invoke(ipcChannelName('session.get'), c.event as never);
      expect(result, c.name).toMatchObject({ ok: false, error: { code: 'Forbidden' } });
    }
    // Our window, but its top frame now shows another origin (e.g. a link that slipped through).
    contents.mainFrame.url = 'https://evil.example/phish';
    expect(
      await electronMock.ipcMain.invoke(ipcChannelName('session.get'), {
        sender: contents,
        senderFrame: contents.mainFrame,
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'Forbidden', message: 'Refused: the page https://evil.example/phish is not the app.' },
    });
    // Our origin is app://agent-room: file:// pages (the built files opened directly), loopback http
    // (the homeserver or serve's page), other hosts and other schemes are not the app.
    const foreignPages = [
      'file:///opt/agent-room/resources/app.asar/dist/renderer/index.html',
      'file:///tmp/downloaded.html',
      'http://127.0.0.1:8008/_matrix/client',
      'http://localhost:7071/',
      'app://other-host/index.html',
      'evil://agent-room/index.html',
    ];
    for (const url of foreignPages) {
      contents.mainFrame.url = url;
      expect(
        await electronMock.ipcMain.invoke(ipcChannelName('session.get'), {
          sender: contents,
          senderFrame: contents.mainFrame,
        }),
        url,
      ).toMatchObject({ ok: false, error: { code: 'Forbidden' } });
    }
    expect(spy).not.toHaveBeenCalled();
    expect(warnings.length).toBe(4 + foreignPages.length);
    // Any path or fragment on our origin is our page.
    contents.mainFrame.url = 'app://agent-room/index.html#/room/!abc';
    expect(
      await electronMock.ipcMain.invoke(ipcChannelName('status.get'), {
        sender: contents,
        senderFrame: contents.mainFrame,
      }),
    ).toMatchObject({ ok: true });
  });

  it('refuses everything while no window exists', async () => {
    const contents = new MockWebContents();
    const gateway = new IpcGateway({ handlers: fakeDesktopHandlers(), trusted: () => undefined });
    expect(
      await gateway.handle('status.get', { sender: contents, senderFrame: contents.mainFrame as never }, []),
    ).toMatchObject({ ok: false, error: { code: 'Forbidden' } });
  });

  it('rejects bad arguments with BadRequest before the handler runs', async () => {
    const handlers = fakeDesktopHandlers();
    const spy = vi.spyOn(handlers, 'bots.setModel');
    const { ours } = setup(handlers);
    const bad: unknown[][] = [
      [],
      [{ botId: 'qwen' }],
      [{ botId: 'qwen', model: 7 }],
      ['qwen', 'ollama:x'],
      [{ botId: 'qwen', model: 'ollama:x', __proto__: { admin: true }, extra: 1 }],
    ];
    for (const args of bad) {
      const result = await electronMock.ipcMain.invoke(ipcChannelName('bots.setModel'), ours, ...args);
      expect(result, JSON.stringify(args)).toMatchObject({ ok: false, error: { code: 'BadRequest' } });
    }
    expect(await electronMock.ipcMain.invoke(ipcChannelName('status.get'), ours, { sneaky: true })).toMatchObject({
      ok: false,
      error: { code: 'BadRequest' },
    });
    expect(spy).not.toHaveBeenCalled();
    expect(
      await electronMock.ipcMain.invoke(ipcChannelName('bots.setModel'), ours, { botId: 'qwen', model: 'ollama:x' }),
    ).toMatchObject({ ok: true });
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('dispose removes every handler', () => {
    const { gateway } = setup();
    gateway.dispose();
    expect(electronMock.ipcMain.handlers.size).toBe(0);
  });

  it('forwards contract events to the window and stops on unsubscribe', () => {
    const hub = new EventHub();
    const sent: Array<[string, unknown]> = [];
    const off = forwardEvents(hub, (channel, payload) => sent.push([channel, payload]));
    hub.emit('status.changed', fakeStatus());
    off();
    hub.emit('status.changed', fakeStatus());
    expect(sent).toEqual([[ipcEventName('status.changed'), fakeStatus()]]);
  });
});

describe('preload', () => {
  it('exposes window.agentRoom with domain methods and subscriptions only', async () => {
    vi.resetModules();
    resetElectronMock();
    await import('../../main/preload/preload.ts');
    const api = electronMock.exposed.agentRoom as AgentRoomApi;
    expect(Object.keys(api).sort()).toEqual([
      'apiKeys',
      'app',
      'audit',
      'bots',
      'models',
      'onAppUpdate',
      'onBotsReplied',
      'onModelsProgress',
      'onSettingsChanged',
      'onStatusChanged',
      'probe',
      'session',
      'settings',
      'status',
      'tools',
    ]);

    electronMock.ipcRenderer.invokeResult = { ok: true, value: { jobId: 'job-7' } };
    await expect(api.models.pull({ ref: 'ollama:qwen2.5' })).resolves.toEqual({ jobId: 'job-7' });
    expect(electronMock.ipcRenderer.invoked.at(-1)).toEqual(['agent-room:models.pull', [{ ref: 'ollama:qwen2.5' }]]);

    electronMock.ipcRenderer.invokeResult = {
      ok: false,
      error: { name: 'ControlError', code: 'BadRequest', message: 'bad', hint: 'fix it' },
    };
    await expect(api.models.pull({ ref: '' })).rejects.toEqual({
      name: 'ControlError',
      code: 'BadRequest',
      message: 'bad',
      hint: 'fix it',
    });

    const seen: unknown[] = [];
    const off = api.onStatusChanged((s) => seen.push(s.phase));
    electronMock.ipcRenderer.emit('agent-room:event:status.changed', fakeStatus());
    expect(electronMock.ipcRenderer.listenerCount('agent-room:event:status.changed')).toBe(1);
    off();
    expect(electronMock.ipcRenderer.listenerCount('agent-room:event:status.changed')).toBe(0);
    electronMock.ipcRenderer.emit('agent-room:event:status.changed', fakeStatus());
    expect(seen).toEqual(['running']);
  });
});
