// The classifier on real node-llama-cpp generation: the random-weight tiny model cannot tell tasks apart, but
// under the grammar made from the schema it can only ever answer one of the task names or "none", never
// anything else, and its call is recorded in the audit trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { tinyModel } from '../support/models.ts';

const NAMES = ['code_review', 'customer_email', 'data_extraction', 'complex_reasoning'];
let backend: LlamaBackend;
let router: InferenceRouter;
let settings: Settings;
const audit: AuditEntry[] = [];

beforeAll(async () => {
  const model = `llama:${await tinyModel({ suppressEos: false })}`;
  backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 1, contextSize: 512 });
  settings = settingsSchema.parse({
    tasks: NAMES.map((name) => ({ name, models: [model], description: `requests of the kind ${name}` })),
    routing: { classifier: { model, timeoutMs: 60_000 } },
  });
  router = new InferenceRouter({
    backends: [backend],
    getSettings: () => settings,
    audit: { record: (e) => audit.push(e) },
  });
});
afterAll(async () => {
  await backend.close();
});

describe('the classifier on node-llama-cpp', () => {
  it('answers one of the task names or none, whatever the request', async () => {
    const bot = botSchema.parse({ id: 'b', displayName: 'B', model: settings.tasks[0]!.models[0] });
    for (const q of ['review my code', 'write to a customer', 'extract the total of this invoice', 'why?']) {
      const d = await router.decide({ bot, messages: [], question: q, classify: true });
      expect(d.classifier, q).toBeDefined();
      // Never a timeout, a failure or text outside the schema: the grammar allows only the names and "none".
      expect([undefined, 'no task fits']).toContain(d.classifier?.error);
      if (d.task) expect(NAMES).toContain(d.task.name);
      expect(d.classifier?.task === undefined || NAMES.includes(d.classifier.task)).toBe(true);
    }
    expect(audit.filter((e) => e.reason.startsWith('classifier:'))).toHaveLength(4);
  });
});
