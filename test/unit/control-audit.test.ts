// audit.list: the calls the inference service recorded, filtered by time, bot and count, read through its open store
// or from the file read-only when it has none; never the stored question or answer; validated before the handler.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatch, parseRequest, type CoreHandlers } from '../../main/common/contract.ts';
import { AuditStore, auditFile } from '../../main/core/audit/audit-store.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import { auditHandlers } from '../../main/core/control/handlers/audit.ts';

const dirs: string[] = [];
const stores: AuditStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function call(over: Partial<AuditEntry>): AuditEntry {
  return {
    at: 1_000,
    roomId: '!room:x',
    eventId: '$ev',
    botId: 'helper',
    task: null,
    model: 'ollama:qwen',
    backend: 'ollama',
    endpoint: 'local',
    local: true,
    sensitive: [],
    promptTokens: 12,
    completionTokens: 3,
    durationMs: 40,
    cost: null,
    reason: "the bot's own model",
    outcome: 'ok',
    errorCode: null,
    prompt: 'my card is 4111 1111 1111 1111',
    reply: 'noted',
    ...over,
  };
}

/** A state folder with a store that recorded three calls (the text kept, to prove the window never gets it). */
function recorded(): { state: string; store: AuditStore } {
  const state = mkdtempSync(join(tmpdir(), 'control-audit-'));
  dirs.push(state);
  const store = AuditStore.open({
    file: auditFile(state),
    getSettings: () => ({ enabled: true, retentionDays: 0, storeText: true }),
  })!;
  stores.push(store);
  store.record(call({ at: 1_000 }));
  store.record(
    call({
      at: 2_000,
      botId: 'writer',
      task: 'customer_email',
      model: 'openai:cloud/gpt-4',
      backend: 'openai',
      endpoint: 'cloud',
      local: false,
      cost: 0.0042,
      reason: 'task customer_email',
    }),
  );
  store.record(call({ at: 3_000, sensitive: ['card'], outcome: 'failed', errorCode: 'timeout' }));
  return { state, store };
}

describe('audit.list', () => {
  it("lists the calls through the inference service's open store, oldest first, without their text", async () => {
    const { state, store } = recorded();
    const list = auditHandlers({ paths: { state }, inference: { auditStore: store } })['audit.list'];
    const all = await list(undefined);
    expect(all.map((c) => [c.botId, c.model, c.local, c.outcome])).toEqual([
      ['helper', 'ollama:qwen', true, 'ok'],
      ['writer', 'openai:cloud/gpt-4', false, 'ok'],
      ['helper', 'ollama:qwen', true, 'failed'],
    ]);
    expect(all[1]).toMatchObject({
      task: 'customer_email',
      cost: 0.0042,
      endpoint: 'cloud',
      reason: 'task customer_email',
    });
    expect(all[2]).toMatchObject({ sensitive: ['card'], errorCode: 'timeout' });
    expect(JSON.stringify(all)).not.toMatch(/4111|noted/);
  });

  it('filters by time, bot and count (the newest ones)', async () => {
    const { state, store } = recorded();
    const list = auditHandlers({ paths: { state }, inference: { auditStore: store } })['audit.list'];
    expect((await list({ since: 2_000 })).map((c) => c.at)).toEqual([2_000, 3_000]);
    expect((await list({ bot: 'helper' })).map((c) => c.at)).toEqual([1_000, 3_000]);
    expect((await list({ limit: 1 })).map((c) => c.at)).toEqual([3_000]);
    expect((await list({ bot: 'helper', limit: 1, since: 0 })).map((c) => c.at)).toEqual([3_000]);
    expect(await list({ bot: 'nobody' })).toEqual([]);
  });

  it('reads the file read-only when the inference service holds no store, and answers [] before any call', async () => {
    const { state, store } = recorded();
    store.close();
    const list = auditHandlers({ paths: { state }, inference: { auditStore: undefined } })['audit.list'];
    expect((await list({ bot: 'writer' })).map((c) => c.model)).toEqual(['openai:cloud/gpt-4']);
    const empty = mkdtempSync(join(tmpdir(), 'control-audit-'));
    dirs.push(empty);
    expect(
      await auditHandlers({ paths: { state: empty }, inference: { auditStore: undefined } })['audit.list']({}),
    ).toEqual([]);
  });

  it('refuses a request that is not valid before any handler runs', async () => {
    expect(parseRequest('audit.list', { since: -1 }).ok).toBe(false);
    expect(parseRequest('audit.list', { limit: 0 }).ok).toBe(false);
    expect(parseRequest('audit.list', { bot: 'x', extra: 1 }).ok).toBe(false);
    expect(parseRequest('audit.list', null).ok).toBe(false);
    expect(parseRequest('audit.list', undefined).ok).toBe(true);
    const handlers = { 'audit.list': () => Promise.reject(new Error('must not run')) } as unknown as CoreHandlers;
    expect(await dispatch(handlers, 'audit.list', { limit: 'ten' })).toMatchObject({
      ok: false,
      error: { code: 'BadRequest' },
    });
  });
});
