// Benchmark of the master agent's routing, all measured side by side in one run:
//   1. the decision by rules (sensitivity scan of every message, signals, 12 rules, 4 tasks, budgets) on a context
//      of about 2,000 tokens: p50 and p95 of InferenceRouter.decide;
//   2. request → the backend's chat call through InferenceRouter.chat, with those rules and tasks vs. with no
//      rules, no tasks and the privacy check off (the router as it was before tasks): p50 of each and the difference;
//   3. the classifier on a model (the generated tiny GGUF unless --model), p50 and p95 of its whole call.
// Usage: npm run bench:route -- [--runs 500] [--classifier-runs 20] [--model FILE.gguf] [--threads 1]
// Last lines:
//   decide_rules_ms_p50: X p95: Y context_tokens: Z
//   send_to_inference_ms_p50: master X baseline Y diff Z
//   classifier_ms_p50: X p95: Y model: M
import { parseArgs } from 'node:util';
import type { Settings } from '../main/common/settings-schema.ts';
import type { ChatChunk, ChatMessage, ChatRequest, InferenceBackend } from '../main/core/inference/types.ts';

const { botSchema, settingsSchema } = await import('../main/common/settings-schema.ts');
const { InferenceRouter } = await import('../main/core/inference/router.ts');
const { LlamaBackend } = await import('../main/core/inference/llama/llama-backend.ts');
const { tinyModel } = await import('../test/support/models.ts');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '500' },
    'classifier-runs': { type: 'string', default: '20' },
    model: { type: 'string' },
    threads: { type: 'string', default: '1' },
  },
});
const runs = Number(values.runs);
const classifierRuns = Number(values['classifier-runs']);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const f = (n: number) => n.toFixed(3);

/** A backend that answers at once and notes when its chat was called: the router's own time is what is measured. */
class InstantBackend implements InferenceBackend {
  readonly kind: 'openai' | 'llama';
  calledAt = 0;
  constructor(
    kind: 'openai' | 'llama',
    private readonly prefix: string,
    private readonly local: boolean,
  ) {
    this.kind = kind;
  }
  handles(model: string): boolean {
    return model.startsWith(this.prefix);
  }
  isLocal(): boolean {
    return this.local;
  }
  async listModels() {
    return [];
  }
  async ensureModel() {}
  async *chat(request: ChatRequest): AsyncIterable<ChatChunk> {
    this.calledAt = performance.now();
    const stats = { promptTokens: 1, completionTokens: 1, timeToFirstTokenMs: 0, tokensPerSecond: 0, totalMs: 0 };
    yield { type: 'done', text: 'ok', stats: { ...stats, backend: this.kind, model: request.model } };
  }
  async countTokens(_m: string, text: string) {
    return Math.ceil(text.length / 4);
  }
  async close() {}
}

// A context of about 2,000 tokens (four characters a token): prose, a list, code, like a busy room.
const paragraph =
  'We went over the release plan again: the installer for Windows still needs signing, the Linux AppImage works, and the ' +
  'update feed is next. Ann asked whether the budget for the cloud model covers the extra reviews this week. ';
const code = '```ts\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n```\n';
const context: ChatMessage[] = [{ role: 'system', content: 'You are Helper, a careful assistant.' }];
while (context.reduce((n, m) => n + m.content.length, 0) < 8000)
  context.push(
    { role: 'user', content: `ann: ${paragraph}${context.length % 3 === 0 ? code : ''}- one\n- two\n` },
    { role: 'assistant', content: paragraph },
  );
const question = 'bob: @helper can you summarise the decisions above and list the open questions?';
const messages: ChatMessage[] = [...context, { role: 'user', content: question }];
const contextTokens = Math.round(messages.reduce((n, m) => n + m.content.length, 0) / 4);

const master: Settings = settingsSchema.parse({
  endpoints: {
    openai: [
      {
        id: 'cloud',
        url: 'https://api.example.com/v1',
        prices: { '*': { input: 2.5, output: 10 } },
        budget: { daily: 5, monthly: 50 },
      },
    ],
  },
  tasks: [
    { name: 'code_review', models: ['llama:/m/code.gguf', 'openai:cloud/big'], reason: 'code' },
    { name: 'customer_email', models: ['openai:cloud/big'], reason: 'writing' },
    { name: 'data_extraction', models: ['llama:/m/small.gguf'], reason: 'fast' },
    { name: 'complex_reasoning', models: ['llama:/m/small.gguf', 'openai:cloud/big'], reason: 'capable' },
  ],
  routing: {
    rules: [
      ...['invoice', 'receipt', 'total due', 'order number', 'tracking', 'refund', 'contract', 'deadline'].map((w) => ({
        pattern: `\\b${w}\\b`,
        task: 'data_extraction',
      })),
      { code: ['ts', 'js', 'python', 'rust'], minChars: 4000, task: 'code_review' },
      { pattern: '^dear |kind regards', task: 'customer_email' },
      { command: 'think', task: 'complex_reasoning' },
      { maxChars: 20, model: 'llama:/m/small.gguf' },
    ],
  },
  privacy: { sensitivePatterns: [{ name: 'project', pattern: 'project[- ]?x\\d+' }] },
});
const baseline: Settings = settingsSchema.parse({
  endpoints: master.endpoints,
  privacy: { enabled: false },
});
const bot = botSchema.parse({
  id: 'helper',
  displayName: 'Helper',
  model: 'openai:cloud/mini',
  fallback: ['llama:/m/small.gguf'],
});

function routerFor(settings: Settings, backends: InferenceBackend[]) {
  return new InferenceRouter({ backends, getSettings: () => settings });
}

// 1. The decision by rules.
const local = new InstantBackend('llama', 'llama:', true);
const cloud = new InstantBackend('openai', 'openai:', false);
const deciding = routerFor(master, [local, cloud]);
const decideMs: number[] = [];
for (let i = 0; i < runs + 20; i++) {
  const t = performance.now();
  await deciding.decide({ bot, messages, question });
  if (i >= 20) decideMs.push(performance.now() - t);
}

// 2. Request → the backend's chat call, with the master agent's rules and without, interleaved.
const withMaster = { router: routerFor(master, [local, cloud]), ms: [] as number[] };
const without = { router: routerFor(baseline, [local, cloud]), ms: [] as number[] };
for (let i = 0; i < runs + 20; i++) {
  for (const side of i % 2 ? [withMaster, without] : [without, withMaster]) {
    const t = performance.now();
    for await (const _ of side.router.chat({ bot, messages, question })) void _;
    const called = Math.max(local.calledAt, cloud.calledAt);
    local.calledAt = cloud.calledAt = 0;
    if (i >= 20) side.ms.push(called - t);
  }
}

// 3. The classifier on a real model.
const modelFile = values.model ?? (await tinyModel({ suppressEos: false }));
const llama = new LlamaBackend({ threads: Number(values.threads), gpu: false, sequences: 1, contextSize: 1024 });
const classified: Settings = settingsSchema.parse({
  tasks: master.tasks,
  routing: { classifier: { model: `llama:${modelFile}`, timeoutMs: 60_000 } },
});
const classifying = routerFor(classified, [llama, cloud]);
const classifierMs: number[] = [];
const chosen = new Map<string, number>();
await llama.ensureModel(`llama:${modelFile}`);
for (let i = 0; i < classifierRuns; i++) {
  const d = await classifying.decide({ bot, messages, question, classify: true });
  classifierMs.push(d.classifier?.ms ?? NaN);
  const key = d.classifier?.task ?? d.classifier?.error ?? 'none';
  chosen.set(key, (chosen.get(key) ?? 0) + 1);
}
await llama.close();

console.log(`runs: ${runs}; classifier runs: ${classifierRuns}; threads: ${values.threads}`);
console.log(`classifier answers: ${[...chosen].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
console.log(
  `decide_rules_ms_p50: ${f(pct(decideMs, 50))} p95: ${f(pct(decideMs, 95))} context_tokens: ${contextTokens}`,
);
const m = pct(withMaster.ms, 50);
const b = pct(without.ms, 50);
console.log(`send_to_inference_ms_p50: master ${f(m)} baseline ${f(b)} diff ${f(m - b)}`);
console.log(
  `classifier_ms_p50: ${f(pct(classifierMs, 50))} p95: ${f(pct(classifierMs, 95))} model: ${values.model ?? 'generated tiny GGUF'}`,
);
