// What the router hands the audit trail: one entry per model tried, with the reason, the outcome and the
// tokens; a reader that stops reading, or an abort, is recorded as aborted; a failure after text as failed.
import { describe, expect, it } from 'vitest';
import { botSchema, defaultSettings } from '../../main/common/settings-schema.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import { endpointOf } from '../../main/core/inference/router-audit.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import {
  InferenceError,
  type ChatChunk,
  type ChatRequest,
  type InferenceBackend,
} from '../../main/core/inference/types.ts';

/** llama:ok answers two words; llama:abort throws Aborted; llama:cut fails after its first word. */
const backend: InferenceBackend = {
  kind: 'llama',
  handles: (m) => m.startsWith('llama:'),
  isLocal: () => true,
  listModels: async () => [],
  ensureModel: async () => undefined,
  countTokens: async (_m, t) => t.length,
  close: async () => undefined,
  async *chat(req: ChatRequest): AsyncIterable<ChatChunk> {
    if (req.model === 'llama:abort') throw new InferenceError('Aborted', 'stopped');
    yield { type: 'text', text: 'one ', tokens: 1 };
    if (req.model === 'llama:cut') throw new InferenceError('BadResponse', 'cut off');
    yield { type: 'text', text: 'two', tokens: 1 };
    const stats = { promptTokens: 5, completionTokens: 2, timeToFirstTokenMs: 1, tokensPerSecond: 1, totalMs: 3 };
    yield { type: 'done', text: 'one two', stats: { ...stats, backend: 'llama', model: req.model } };
  },
};

function setup() {
  const entries: AuditEntry[] = [];
  const router = new InferenceRouter({
    backends: [backend],
    getSettings: () => defaultSettings(),
    audit: { record: (e) => entries.push(e) },
  });
  return { router, entries };
}
const bot = (model: string) => botSchema.parse({ id: 'b', displayName: 'B', model });
const messages = [{ role: 'user' as const, content: 'hi' }];
const context = { roomId: '!r:x', eventId: '$e' };

describe('router audit', () => {
  it('records an answer with its tokens, the room and the event', async () => {
    const { router, entries } = setup();
    for await (const _ of router.chat({ bot: bot('llama:ok'), messages, context })) void _;
    expect(entries).toEqual([
      expect.objectContaining({
        model: 'llama:ok',
        backend: 'llama',
        endpoint: 'local',
        local: true,
        outcome: 'ok',
        promptTokens: 5,
        completionTokens: 2,
        roomId: '!r:x',
        eventId: '$e',
        reason: "the bot's own model",
        prompt: 'hi',
        reply: 'one two',
      }),
    ]);
  });

  it('records a reader that stops reading, an abort, and a failure after text', async () => {
    const { router, entries } = setup();
    for await (const _ of router.chat({ bot: bot('llama:ok'), messages })) break;
    await expect(async () => {
      for await (const _ of router.chat({ bot: bot('llama:abort'), messages })) void _;
    }).rejects.toMatchObject({ code: 'Aborted' });
    await expect(async () => {
      for await (const _ of router.chat({ bot: bot('llama:cut'), messages })) void _;
    }).rejects.toMatchObject({ code: 'BadResponse' });
    expect(entries.map((e) => [e.model, e.outcome, e.errorCode])).toEqual([
      ['llama:ok', 'aborted', 'Aborted'],
      ['llama:abort', 'aborted', 'Aborted'],
      ['llama:cut', 'failed', 'BadResponse'],
    ]);
    expect(entries[0]).toMatchObject({ roomId: null, eventId: null, promptTokens: null });
  });

  it('names the endpoint of a model reference', () => {
    expect(endpointOf('openai:cloud/gpt-4o', 'openai')).toBe('cloud');
    expect(endpointOf('ollama:qwen', 'ollama')).toBe('ollama');
    expect(endpointOf('ollama@gpu-box:hf.co/u/r:Q4', 'ollama')).toBe('gpu-box');
    expect(endpointOf('llama:/m.gguf', 'llama')).toBe('local');
  });
});
