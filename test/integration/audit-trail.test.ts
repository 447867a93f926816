// The audit trail end to end: chats through an InferenceRouter with the Ollama test server (local) and an
// OpenAI-compatible server behind a remote host name (cloud): an ordinary answer, a fallback after the cloud
// model is missing, a sensitive request kept local, a refusal, then `agent-room audit --json` (the real command
// line, run from source) lists every call with its fields, and `audit --purge` removes them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings, type Settings } from '../../main/common/settings-schema.ts';
import { AuditStore, auditFile } from '../../main/core/audit/audit-store.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import type { ChatMessage } from '../../main/core/inference/types.ts';
import { dataPaths } from '../../main/core/paths.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';
import { hostMappingFetch, OpenAITestServer } from '../support/openai-server.ts';
import { repoRoot } from '../support/cli.ts';

const CLOUD = 'openai:cloud/gpt-4o-mini';
const MISSING = 'openai:cloud/no-such-model';
const LOCAL = 'ollama:qwen2.5:0.5b';
const CARD = '4111 1111 1111 1111';

let ollama: OllamaTestServer;
let cloud: OpenAITestServer;
let router: InferenceRouter;
let store: AuditStore;
let dataDir: string;
const settings: Settings = defaultSettings();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'audit-trail-'));
  ollama = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
  cloud = await OpenAITestServer.start({ models: ['gpt-4o-mini'], apiKey: 'sk-cloud-123456789' });
  const endpoint = { id: 'cloud', url: 'https://api.cloud.example/v1', apiKeyRef: 'k', requestsPerMinute: 100 };
  const openai = new OpenAIBackend({
    getEndpoints: () => [{ ...endpoint, timeoutMs: 5000, failover: [] }],
    resolveSecret: async () => 'sk-cloud-123456789',
    fetch: hostMappingFetch({ 'api.cloud.example': cloud.url }),
  });
  // Priced, so the cloud call has a cost; a task, so a call has one.
  settings.endpoints.openai = [
    { ...endpoint, timeoutMs: 5000, failover: [], prices: { '*': { input: 0.15, output: 0.6 } } },
  ];
  settings.tasks = [{ name: 'extraction', models: [LOCAL], reason: 'Fast, cheap, good enough' }];
  const opened = AuditStore.open({ file: auditFile(dataPaths(dataDir).state), getSettings: () => settings.audit });
  if (!opened) throw new Error('node:sqlite is missing');
  store = opened;
  router = new InferenceRouter({
    backends: [new OllamaBackend({ host: ollama.url }), openai],
    getSettings: () => settings,
    audit: store,
  });
});
afterAll(async () => {
  store.close();
  await ollama.close();
  await cloud.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const helper = botSchema.parse({ id: 'helper', displayName: 'Helper', model: CLOUD, fallback: [LOCAL] });
const broken = botSchema.parse({ id: 'broken', displayName: 'Broken', model: MISSING, fallback: [LOCAL] });
const cloudOnly = botSchema.parse({ id: 'cloudy', displayName: 'Cloudy', model: CLOUD });
const ask = (q: string): ChatMessage[] => [
  { role: 'system', content: 'You are a bot.' },
  { role: 'user', content: q },
];

async function chat(bot: typeof helper, q: string, eventId: string): Promise<string> {
  let text = '';
  for await (const c of router.chat({ bot, messages: ask(q), context: { roomId: '!team:test', eventId } }))
    if (c.type === 'text') text += c.text;
  return text;
}

/** `agent-room --data-dir DIR audit …` from source, on this Node. */
function auditCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const script = `const m = await import('./main/serve.ts');
    await m.main(['node', 'agent-room', '--data-dir', ${JSON.stringify(dataDir)}, 'audit', ...${JSON.stringify(args)}]);`;
  return spawnSync(
    process.execPath,
    ['--experimental-transform-types', '--no-warnings', '--input-type=module', '-e', script],
    { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
  );
}

describe('audit trail', () => {
  it('records every call of a run, and `agent-room audit --json` lists them with their fields', async () => {
    expect(await chat(helper, 'what is 2+2?', '$e1')).toBe('Echo: what is 2+2?');
    expect(await chat(broken, 'and 3+3?', '$e2')).toContain('3+3');
    expect(await chat(helper, `is ${CARD} valid?`, '$e3')).toContain('valid');
    await expect(chat(cloudOnly, `is ${CARD} valid?`, '$e4')).rejects.toMatchObject({ code: 'PolicyRefused' });
    expect(await chat(helper, '!task extraction the total of invoice 7', '$e5')).toContain('invoice');

    const run = auditCli('--json');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const calls = JSON.parse(run.stdout) as AuditEntry[];
    expect(calls.map((c) => [c.eventId, c.botId, c.model, c.outcome])).toEqual([
      ['$e1', 'helper', CLOUD, 'ok'],
      ['$e2', 'broken', MISSING, 'failed'],
      ['$e2', 'broken', LOCAL, 'ok'],
      ['$e3', 'helper', LOCAL, 'ok'],
      ['$e4', 'cloudy', CLOUD, 'refused'],
      ['$e5', 'helper', LOCAL, 'ok'],
    ]);
    for (const c of calls) {
      expect(c.roomId).toBe('!team:test');
      expect(c.task).toBe(c.eventId === '$e5' ? 'extraction' : null);
      // Only the priced cloud call that answered has a cost.
      if (c.eventId !== '$e1') expect(c.cost).toBeNull();
      expect(typeof c.at).toBe('number');
      expect(c.durationMs).toBeGreaterThanOrEqual(0);
      expect(c.reason.length).toBeGreaterThan(0);
      // No message text unless audit.storeText.
      expect(c).not.toHaveProperty('prompt');
      expect(c).not.toHaveProperty('reply');
      expect(JSON.stringify(c)).not.toContain('4111');
    }
    const [plain, failed, fallback, sensitive, refused, tasked] = calls;
    expect(plain).toMatchObject({ backend: 'openai', endpoint: 'cloud', local: false, sensitive: [] });
    const { promptTokens = 0, completionTokens = 0 } = plain ?? {};
    expect(plain?.cost).toBeCloseTo(((promptTokens ?? 0) * 0.15 + (completionTokens ?? 0) * 0.6) / 1e6, 12);
    expect(plain?.cost).toBeGreaterThan(0);
    expect(tasked?.reason).toBe('task extraction (`!task` in the request): Fast, cheap, good enough; its first model');
    expect(plain?.promptTokens).toBeGreaterThan(0);
    expect(plain?.completionTokens).toBeGreaterThan(0);
    expect(plain?.reason).toBe("the bot's own model");
    expect(failed).toMatchObject({ errorCode: 'ModelNotFound', local: false, promptTokens: null });
    expect(fallback).toMatchObject({ backend: 'ollama', endpoint: 'ollama', local: true, errorCode: null });
    expect(fallback?.reason).toBe(`fallback #1 of the bot after ${MISSING} failed (ModelNotFound)`);
    expect(fallback?.completionTokens).toBeGreaterThan(0);
    expect(sensitive).toMatchObject({ local: true, sensitive: ['card'] });
    expect(sensitive?.reason).toMatch(/local only: the request holds sensitive data \(card\)/);
    expect(refused).toMatchObject({ backend: 'none', errorCode: 'PolicyRefused', sensitive: ['card'] });
    expect(refused?.reason).toMatch(/^refused: the request holds sensitive data/);
  }, 90_000);

  it('keeps the text only when audit.storeText is on', async () => {
    settings.audit.storeText = true;
    try {
      await chat(helper, 'spell cat', '$e5');
    } finally {
      settings.audit.storeText = false;
    }
    expect(store.list().at(-1)).toMatchObject({ eventId: '$e5', prompt: 'spell cat', reply: 'Echo: spell cat' });
  });

  it('lists the newest calls as a table, and --purge removes them', () => {
    const table = auditCli('--since', '24h', '--limit', '2');
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/helper +openai:cloud\/gpt-4o-mini +cloud +ok/);
    expect(table.stdout).toMatch(/why: the bot's own model/);
    const purge = auditCli('--purge');
    expect(purge.stdout).toMatch(/^Removed 7 call\(s\)/);
    expect(store.list()).toEqual([]);
    expect(auditCli('--since', 'later').status).toBe(2);
  }, 90_000);
});
