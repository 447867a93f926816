// The inference service opens the audit database it is given (<data>/state/audit.sqlite in the app), applies the
// retention at start, records the bots' calls through its router, follows audit.enabled, and closes it at stop.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings, ollamaEndpointSchema, type Settings } from '../../main/common/settings-schema.ts';
import { AuditStore, auditFile } from '../../main/core/audit/audit-store.ts';
import { InferenceService } from '../../main/core/inference/inference-service.ts';
import { planInference } from '../../main/core/probe/plan.ts';
import type { HardwareReport } from '../../main/core/probe/report.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';

const report = JSON.parse(
  readFileSync(new URL('../fixtures/hardware/cpu-only-8gb.json', import.meta.url), 'utf8'),
) as HardwareReport;

let ollama: OllamaTestServer;
let dir: string;
beforeAll(async () => {
  ollama = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
  dir = mkdtempSync(join(tmpdir(), 'audit-service-'));
});
afterAll(async () => {
  await ollama.close();
  rmSync(dir, { recursive: true, force: true });
});

const bot = botSchema.parse({ id: 'qwen', displayName: 'Qwen', model: 'ollama:qwen2.5:0.5b' });
const DAY = 86_400_000;

async function withService(settings: Settings, run: (s: InferenceService) => Promise<void>): Promise<void> {
  const service = new InferenceService({
    getSettings: () => settings,
    getPlan: async () => ({ report, plan: planInference(report) }),
    modelsDir: join(dir, 'models'),
    resolveSecret: async () => undefined,
    auditFile: auditFile(dir),
  });
  await service.start(new AbortController().signal);
  try {
    await run(service);
  } finally {
    await service.stop(1000);
  }
}

async function ask(service: InferenceService, eventId: string): Promise<void> {
  const messages = [{ role: 'user' as const, content: 'hello' }];
  for await (const _ of service.router.chat({ bot, messages, context: { roomId: '!r:t', eventId } })) void _;
}

describe('the inference service and the audit', () => {
  it('records calls, follows audit.enabled, and purges past the retention at start', async () => {
    const settings = defaultSettings();
    settings.endpoints.ollama = [ollamaEndpointSchema.parse({ id: 'home', url: ollama.url })];
    await withService(settings, async (s) => {
      await ask(s, '$1');
      settings.audit.enabled = false;
      await ask(s, '$2');
      settings.audit.enabled = true;
    });
    const old = AuditStore.open({ file: auditFile(dir), getSettings: () => ({ ...settings.audit, retentionDays: 0 }) });
    old?.record({ ...old.list()[0]!, at: Date.now() - 100 * DAY, eventId: '$old' });
    expect(old?.list().map((c) => c.eventId)).toEqual(['$1', '$old']);
    old?.close();
    await withService(settings, async (s) => ask(s, '$3'));
    const reader = AuditStore.open({ file: auditFile(dir), readOnly: true });
    expect(reader?.list().map((c) => [c.eventId, c.roomId, c.model, c.local, c.outcome])).toEqual([
      ['$1', '!r:t', 'ollama:qwen2.5:0.5b', true, 'ok'],
      ['$3', '!r:t', 'ollama:qwen2.5:0.5b', true, 'ok'],
    ]);
    reader?.close();
  }, 60_000);
});
