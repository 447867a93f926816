// The router's fallback chain, privacy and decisions, with small in-memory backends.
import { describe, expect, it } from 'vitest';
import { botSchema, defaultSettings, type Settings } from '../../main/common/settings-schema.ts';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import { InferenceRouter, type RouteDecision } from '../../main/core/inference/router.ts';
import {
  InferenceError,
  type ChatChunk,
  type ChatRequest,
  type InferenceBackend,
} from '../../main/core/inference/types.ts';

type Behaviour = { fail?: InferenceError; failAfterText?: InferenceError; words?: string[] };

/** An in-memory backend for a prefix: each model behaves as the table says. */
class MemoryBackend implements InferenceBackend {
  readonly calls: ChatRequest[] = [];
  constructor(
    readonly kind: 'llama' | 'openai',
    readonly prefix: string,
    readonly local: boolean,
    readonly behaviour: Record<string, Behaviour>,
  ) {}
  handles(m: string) {
    return m.startsWith(this.prefix);
  }
  isLocal() {
    return this.local;
  }
  async listModels() {
    return Object.keys(this.behaviour).map((ref) => ({
      ref,
      name: ref,
      backend: this.kind,
      source: 'file' as const,
      location: 'memory',
      local: this.local,
    }));
  }
  async ensureModel() {}
  async countTokens(_m: string, t: string) {
    return t.split(' ').length;
  }
  async close() {}
  async *chat(req: ChatRequest): AsyncIterable<ChatChunk> {
    this.calls.push(req);
    const b = this.behaviour[req.model] ?? { fail: new InferenceError('ModelNotFound', `no ${req.model}`) };
    if (b.fail) throw b.fail;
    const words = b.words ?? [req.model];
    for (const w of words) yield { type: 'text', text: w, tokens: 1 };
    if (b.failAfterText) throw b.failAfterText;
    yield {
      type: 'done',
      text: words.join(''),
      stats: {
        promptTokens: 1,
        completionTokens: words.length,
        timeToFirstTokenMs: 0,
        tokensPerSecond: 1,
        totalMs: 1,
        backend: this.kind,
        model: req.model,
      },
    };
  }
}

function setup(rules: Settings['routing']['rules'] = []) {
  const local = new MemoryBackend('llama', 'llama:', true, {
    'llama:ok': { words: ['local ', 'reply'] },
    'llama:down': { fail: new InferenceError('BackendUnavailable', 'not loaded') },
    'llama:cut': { words: ['half '], failAfterText: new InferenceError('BackendUnavailable', 'cut') },
    'llama:code': { words: ['code'] },
  });
  const cloud = new MemoryBackend('openai', 'openai:', false, { 'openai:cloud/big': { words: ['cloud'] } });
  const { logger, records } = createMemoryLogger();
  const base = defaultSettings();
  const settings = { ...base, routing: { ...base.routing, rules } };
  const router = new InferenceRouter({ backends: [local, cloud], getSettings: () => settings, logger });
  return { router, local, cloud, records };
}

const bot = (over: Partial<Parameters<typeof botSchema.parse>[0]>) =>
  botSchema.parse({ id: 'b', displayName: 'B', model: 'llama:ok', ...over });

async function run(router: InferenceRouter, b: ReturnType<typeof bot>, content = 'hi', command?: string) {
  let decision: RouteDecision | undefined;
  let text = '';
  for await (const c of router.chat({
    bot: b,
    messages: [{ role: 'user', content }],
    command,
    onDecision: (d) => (decision = d),
  }))
    if (c.type === 'text') text += c.text;
  return { text, decision };
}

describe('InferenceRouter', () => {
  it("uses the bot's model and passes its sampling and keep-alive", async () => {
    const { router, local } = setup();
    const r = await run(router, bot({ temperature: 0.3, maxTokens: 99, keepAliveSeconds: 42 }));
    expect(r.text).toBe('local reply');
    expect(r.decision).toMatchObject({ model: 'llama:ok', backend: 'llama', reason: "the bot's own model" });
    expect(local.calls[0]).toMatchObject({ sampling: { temperature: 0.3, maxTokens: 99 }, keepAliveSeconds: 42 });
  });

  it('falls back from a failing primary and says why', async () => {
    const { router, records } = setup();
    const r = await run(router, bot({ model: 'llama:down', fallback: ['openai:cloud/big'] }));
    expect(r.text).toBe('cloud');
    expect(r.decision?.reason).toBe('fallback #1 of the bot after llama:down failed (BackendUnavailable)');
    expect(router.recentDecisions().at(-1)?.model).toBe('openai:cloud/big');
    expect(records.some((x) => x.msg === 'route decision' && x.model === 'openai:cloud/big')).toBe(true);
  });

  it('does not mix two models: a failure after text is thrown, no fallback', async () => {
    const { router, cloud } = setup();
    await expect(run(router, bot({ model: 'llama:cut', fallback: ['openai:cloud/big'] }))).rejects.toMatchObject({
      code: 'BackendUnavailable',
      message: 'cut',
    });
    expect(cloud.calls).toHaveLength(0);
  });

  it('keeps a local-only bot off the cloud, even through its fallback', async () => {
    const { router, cloud } = setup();
    const err = await run(router, bot({ model: 'llama:down', fallback: ['openai:cloud/big'], localOnly: true })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as InferenceError).message).toContain(
      'Models outside this machine were not tried because the bot is local-only',
    );
    expect(cloud.calls).toHaveLength(0);
  });

  it('refuses a local-only bot whose models are all remote with PolicyRefused', async () => {
    const { router, cloud } = setup([{ model: 'openai:cloud/big' }]);
    await expect(run(router, bot({ model: 'openai:cloud/big', localOnly: true }))).rejects.toMatchObject({
      code: 'PolicyRefused',
      message: 'Bot "b" is local-only, and none of its models stays on this machine: openai:cloud/big would leave it.',
    });
    expect(cloud.calls).toHaveLength(0);
  });

  it('applies routing rules by command and by pattern before the bot model', async () => {
    const { router } = setup([
      { command: 'review', model: 'llama:code', reason: 'code review' },
      { pattern: 'cloud please', model: 'openai:cloud/big' },
    ]);
    expect((await run(router, bot({}), 'look at this', '!review')).decision?.reason).toBe(
      'rule #1 (command !review): code review',
    );
    expect((await run(router, bot({}), 'Cloud Please')).text).toBe('cloud');
    // A local-only bot ignores the cloud rule and keeps its own model.
    expect((await run(router, bot({ localOnly: true }), 'cloud please')).decision?.model).toBe('llama:ok');
  });

  it('lists models across backends and counts tokens with the right one', async () => {
    const { router } = setup();
    expect((await router.listModels()).map((m) => m.ref)).toContain('openai:cloud/big');
    expect(await router.countTokens('llama:ok', 'a b c')).toBe(3);
  });
});
