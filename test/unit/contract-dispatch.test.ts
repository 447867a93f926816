// The control contract: validation before handlers, typed errors, the derived API object, settings patches.
import { describe, expect, it, vi } from 'vitest';
import {
  CHANNELS,
  ControlError,
  DESKTOP_ONLY_CHANNELS,
  EVENTS,
  applySettingsPatch,
  dispatch,
  isChannel,
  parseRequest,
  type CoreHandlers,
  type Handlers,
} from '../../main/common/contract.ts';
import { createApi, subscriptionName, type AgentRoomApi } from '../../main/common/contract-api.ts';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { fakeHandlers } from '../support/contract-fake-handlers.ts';

describe('request validation', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['status.get', undefined, true],
    ['status.get', null, true],
    ['status.get', { x: 1 }, false],
    ['bots.setModel', { botId: 'qwen', model: 'ollama:qwen2.5:0.5b' }, true],
    ['bots.setModel', { botId: 'qwen' }, false],
    ['bots.setModel', { botId: '', model: 'x' }, false],
    ['bots.setModel', { botId: 'qwen', model: 'x', extra: true }, false],
    ['bots.setModel', 'qwen', false],
    ['models.pull', { ref: 'llama:hf:user/repo:Q4_K_M' }, true],
    ['models.pull', { ref: 'x'.repeat(5000) }, false],
    ['models.cancel', { jobId: 'job-1' }, true],
    ['probe.get', undefined, true],
    ['probe.get', { refresh: true }, true],
    ['probe.get', { refresh: 'yes' }, false],
    ['settings.update', { ui: { closeToTray: false } }, true],
    ['settings.update', { notASection: 1 }, false],
    ['settings.update', [], false],
  ];
  it.each(cases)('%s with %j → valid %s', (channel, raw, valid) => {
    if (!isChannel(channel)) throw new Error(`not a channel: ${channel}`);
    const result = parseRequest(channel, raw);
    expect(result.ok).toBe(valid);
    if (!result.ok) {
      expect(result.error.code).toBe('BadRequest');
      expect(result.error.issues?.length).toBeGreaterThan(0);
    }
  });
});

describe('dispatch', () => {
  it('never runs a handler on a bad request', async () => {
    const handlers = fakeHandlers();
    const spy = vi.spyOn(handlers, 'bots.setModel');
    const result = await dispatch(handlers, 'bots.setModel', { botId: 42 });
    expect(result).toMatchObject({ ok: false, error: { code: 'BadRequest' } });
    expect(spy).not.toHaveBeenCalled();
  });

  it('answers NotFound for an unknown channel and keeps typed errors from handlers', async () => {
    const handlers = fakeHandlers();
    expect(await dispatch(handlers, 'shell.exec', 'rm -rf /')).toMatchObject({
      ok: false,
      error: { code: 'NotFound' },
    });
    handlers['models.cancel'] = () => Promise.reject(new ControlError('NotFound', 'No download job-9.'));
    expect(await dispatch(handlers, 'models.cancel', { jobId: 'job-9' })).toMatchObject({
      ok: false,
      error: { code: 'NotFound', message: 'No download job-9.' },
    });
    handlers['models.cancel'] = () => Promise.reject(new TypeError('boom'));
    expect(await dispatch(handlers, 'models.cancel', { jobId: 'job-9' })).toMatchObject({
      ok: false,
      error: { code: 'Internal', message: 'boom' },
    });
  });

  it('passes the validated value to the handler', async () => {
    const result = await dispatch(fakeHandlers(), 'bots.setModel', { botId: 'qwen', model: 'ollama:llama3' });
    expect(result).toMatchObject({ ok: true, value: { config: { id: 'qwen', model: 'ollama:llama3' } } });
  });
});

describe('the derived API', () => {
  it('has one method per channel and one subscription per event, nothing generic', async () => {
    const calls: Array<[string, unknown]> = [];
    const api = createApi(
      (channel, request) => {
        calls.push([channel, request]);
        return Promise.resolve(undefined as never);
      },
      () => () => undefined,
    );
    for (const channel of CHANNELS) {
      const [ns = '', method = ''] = channel.split('.');
      const group = (api as unknown as Record<string, Record<string, unknown>>)[ns];
      expect(typeof group?.[method]).toBe('function');
    }
    for (const event of EVENTS)
      expect(typeof (api as unknown as Record<string, unknown>)[subscriptionName(event)]).toBe('function');
    expect(Object.keys(api)).not.toContain('invoke');
    expect(Object.keys(api)).not.toContain('send');
    await api.bots.setModel({ botId: 'a', model: 'ollama:b' });
    await api.status.get();
    expect(calls).toEqual([
      ['bots.setModel', { botId: 'a', model: 'ollama:b' }],
      ['status.get', undefined],
    ]);
    expect(subscriptionName('status.changed')).toBe('onStatusChanged');
    expect(subscriptionName('models.progress')).toBe('onModelsProgress');
  });

  it('types: a missing handler or a wrong request does not compile', () => {
    const core: CoreHandlers = fakeHandlers();
    // @ts-expect-error the desktop-only channels are missing
    const incomplete: Handlers = core;
    void incomplete;
    const api = {} as AgentRoomApi;
    // @ts-expect-error bots.setModel needs { botId, model }
    void (() => api.bots.setModel({ botId: 'x' }));
    expect(DESKTOP_ONLY_CHANNELS).toEqual([
      'app.openDataFolder',
      'app.openLogsFolder',
      'app.updateState',
      'app.restartToUpdate',
    ]);
  });
});

describe('settings patches', () => {
  it('merges objects, replaces arrays and validates the result', () => {
    const current = defaultSettings();
    const next = applySettingsPatch(current, { ui: { closeToTray: false, window: { width: 900 } } });
    expect(next.ui.closeToTray).toBe(false);
    expect(next.ui.window).toEqual({ width: 900, height: 760 });
    expect(next.ui.notifications).toBe(true);
    const withBot = applySettingsPatch(next, { bots: [{ id: 'qwen', displayName: 'Qwen', model: 'ollama:qwen2.5' }] });
    expect(withBot.bots[0]?.temperature).toBe(0.7);
    expect(() => applySettingsPatch(current, { ui: { window: { width: 10 } } })).toThrowError(ControlError);
    try {
      applySettingsPatch(current, { homeserver: { mode: 'external', url: 'not a url' } });
    } catch (err) {
      expect((err as ControlError).issues?.[0]?.path).toBe('homeserver.url');
    }
    const external = applySettingsPatch(current, {
      homeserver: { mode: 'external', url: 'https://matrix.example.org' },
    });
    expect(external.homeserver).toEqual({
      mode: 'external',
      url: 'https://matrix.example.org',
      registrationTokenRef: 'homeserver.registrationToken',
    });
  });

  it('removes an optional key given null (JSON Merge Patch), and a required one fails validation', () => {
    const withModel = applySettingsPatch(defaultSettings(), { routing: { classifier: { model: 'ollama:qwen2.5' } } });
    expect(withModel.routing.classifier).toEqual({ model: 'ollama:qwen2.5', timeoutMs: 2000 });
    const cleared = applySettingsPatch(withModel, { routing: { classifier: { model: null, timeoutMs: 900 } } });
    expect(cleared.routing.classifier).toEqual({ timeoutMs: 900 });
    expect(parseRequest('settings.update', { routing: { classifier: { model: null } } }).ok).toBe(true);
    // A removed key with a default gets the default back.
    expect(applySettingsPatch(cleared, { routing: { classifier: { timeoutMs: null } } }).routing.classifier).toEqual({
      timeoutMs: 2000,
    });
  });
});

describe('desktop-only channels', () => {
  it('answer Unavailable where only the core handlers are served', async () => {
    expect(await dispatch(fakeHandlers(), 'app.openDataFolder', undefined)).toMatchObject({
      ok: false,
      error: { code: 'Unavailable' },
    });
  });
});
