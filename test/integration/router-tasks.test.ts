// Tasks in the router, against the local Ollama and OpenAI-compatible test servers that count requests: a code
// review goes to the code task's model, `!task` and a bot's task choose, a complex request takes the task's most
// capable model, a sensitive one stays local whatever the task, a spent cloud budget falls back to the local model
// with one notice, and the classifier (a loopback endpoint scripted here) only ever chooses one of the tasks, or
// none, and a slow one leaves the rules' decision standing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { botSchema, settingsSchema, type Settings, type SettingsInput } from '../../main/common/settings-schema.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter, type RouteDecision } from '../../main/core/inference/router.ts';
import { whyText } from '../../main/core/inference/why.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';
import { hostMappingFetch, OpenAITestServer } from '../support/openai-server.ts';

const CODE = 'ollama:codellama:7b';
const LOCAL = 'ollama:qwen2.5:0.5b';
const GPT = 'openai:cloud/gpt-4o';
const MINI = 'openai:cloud/gpt-4o-mini';
const CLASSIFIER = 'openai:clf/tiny';
const NAMES = ['code_review', 'customer_email', 'data_extraction'];

let ollama: OllamaTestServer;
let cloud: OpenAITestServer;
let clf: OpenAITestServer;
let settings: Settings;
let audit: AuditEntry[];

function configure(extra: Partial<SettingsInput> = {}): void {
  settings = settingsSchema.parse({
    endpoints: {
      openai: [
        { id: 'cloud', url: 'https://api.cloud.example/v1', apiKeyRef: 'k', timeoutMs: 5000 },
        { id: 'clf', url: clf.url, timeoutMs: 5000 },
      ],
    },
    tasks: [
      { name: 'code_review', models: [CODE, GPT], reason: 'Specialized for code, no API costs' },
      { name: 'customer_email', models: [GPT], reason: 'Best writing quality' },
      { name: 'data_extraction', models: [LOCAL], description: 'pull fields out of a text' },
    ],
    routing: { rules: [{ code: true, task: 'code_review' }] },
    ...extra,
  });
}

function makeRouter(options: { spentSince?: (endpoint: string, since: number) => number } = {}): InferenceRouter {
  const openai = new OpenAIBackend({
    getEndpoints: () => settings.endpoints.openai,
    resolveSecret: async () => 'sk-cloud-123456789',
    fetch: hostMappingFetch({ 'api.cloud.example': cloud.url }),
  });
  return new InferenceRouter({
    backends: [new OllamaBackend({ host: ollama.url }), openai],
    getSettings: () => settings,
    audit: { record: (e) => audit.push(e) },
    ...options,
  });
}

const bot = botSchema.parse({ id: 'helper', displayName: 'Helper', model: MINI, fallback: [LOCAL] });

async function ask(
  router: InferenceRouter,
  question: string,
  b = bot,
): Promise<{ text: string; decision: RouteDecision | undefined }> {
  let text = '';
  let decision: RouteDecision | undefined;
  for await (const c of router.chat({
    bot: b,
    messages: [
      { role: 'system', content: 'You are Helper.' },
      { role: 'user', content: question },
    ],
    question,
    context: { roomId: '!room:test', eventId: `$${audit.length}` },
    onDecision: (d) => (decision = d),
  }))
    if (c.type === 'text') text += c.text;
  return { text, decision };
}

beforeAll(async () => {
  ollama = await OllamaTestServer.start({ models: [fakeModel('codellama:7b'), fakeModel('qwen2.5:0.5b')] });
  cloud = await OpenAITestServer.start({ models: ['gpt-4o', 'gpt-4o-mini'], apiKey: 'sk-cloud-123456789' });
  clf = await OpenAITestServer.start({
    models: ['tiny'],
    reply: ({ lastUser }) =>
      /review/i.test(lastUser)
        ? '{"task": "code_review"}'
        : /invoice/i.test(lastUser)
          ? '{"task": "data_extraction"}'
          : /bogus/i.test(lastUser)
            ? '{"task": "launch_rockets"}'
            : /garbage/i.test(lastUser)
              ? 'I think it is code'
              : '{"task": "none"}',
  });
});
afterAll(async () => {
  await Promise.all([ollama.close(), cloud.close(), clf.close()]);
});
beforeEach(() => {
  audit = [];
  configure();
});

describe('tasks choose the models', () => {
  it('sends a code review to the code task model: the cloud sees 0 requests', async () => {
    const router = makeRouter();
    const before = cloud.chatRequests().length;
    const { text, decision } = await ask(router, 'please look at this:\n```python\nprint(1)\n```');
    expect(text).toContain('Echo:');
    expect(decision).toMatchObject({ model: CODE, local: true, task: { name: 'code_review', source: 'rule' } });
    expect(decision?.reason).toContain('Specialized for code');
    expect(cloud.chatRequests().length).toBe(before);
    expect(ollama.requestsTo('/api/chat').at(-1)?.body).toMatchObject({ model: 'codellama:7b' });
    expect(audit.at(-1)).toMatchObject({ task: 'code_review', model: CODE, local: true, outcome: 'ok' });
  });

  it('follows an explicit !task, and a bot bound to a task', async () => {
    const router = makeRouter();
    const explicit = await ask(router, '!task customer_email write to Ann about the delay');
    expect(explicit.decision).toMatchObject({
      model: GPT,
      local: false,
      task: { name: 'customer_email', source: 'explicit' },
    });
    // The model gets the request without the `!task` command.
    expect(explicit.text).toBe('Echo: write to Ann about the delay');
    const bound = botSchema.parse({ ...bot, task: 'data_extraction' });
    expect((await ask(router, 'the total is 12 EUR', bound)).decision).toMatchObject({
      model: LOCAL,
      task: { name: 'data_extraction', source: 'bot' },
    });
  });

  it('gives a request with an attached image to the task of a rule on images', async () => {
    configure({ routing: { rules: [{ image: true, task: 'data_extraction' }] } });
    const image = { mime: 'image/png' as const, data: new Uint8Array([137, 80, 78, 71]) };
    const d = await makeRouter().decide({
      bot,
      messages: [{ role: 'user', content: 'what is on this receipt?', images: [image] }],
      question: 'what is on this receipt?',
    });
    expect(d.task).toEqual({ name: 'data_extraction', source: 'rule', reason: 'rule #1 (an attached image)' });
    const plain = await makeRouter().decide({ bot, messages: [], question: 'what is on this receipt?' });
    expect(plain.task).toBeUndefined();
  });

  it('refuses an unknown !task with the task names', async () => {
    const err = await ask(makeRouter(), '!task poetry write a poem').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ModelNotFound', message: 'No task is called "poetry".' });
    expect((err as { hint: string }).hint).toContain('code_review, customer_email, data_extraction');
  });

  it('gives a complex request the most capable model of its task', async () => {
    const long = `!task code_review analyze in depth the trade-offs of this design:\n${'- a point to weigh\n'.repeat(6)}`;
    const { decision } = await ask(makeRouter(), long);
    expect(decision).toMatchObject({ model: GPT, task: { name: 'code_review' } });
    expect(decision?.reason).toContain('most capable');
  });

  it('keeps a sensitive request local even when its task lives in the cloud', async () => {
    const before = cloud.chatRequests().length;
    const { decision } = await ask(makeRouter(), '!task customer_email tell Ann her card 4111 1111 1111 1111 works');
    expect(decision).toMatchObject({ model: LOCAL, local: true, sensitive: ['card'] });
    expect(cloud.chatRequests().length).toBe(before);
    expect(whyText(decision as RouteDecision)).toContain('a card number');
  });
});

describe('a cloud budget', () => {
  const priced = (daily: number): Partial<SettingsInput> => ({
    endpoints: {
      openai: [
        {
          id: 'cloud',
          url: 'https://api.cloud.example/v1',
          apiKeyRef: 'k',
          timeoutMs: 5000,
          prices: { '*': { input: 100_000, output: 200_000 } },
          budget: { daily },
        },
      ],
    },
  });

  it('spends until the daily budget is gone, then answers locally with one notice', async () => {
    configure(priced(1));
    const router = makeRouter();
    const before = cloud.chatRequests().length;
    const first = await ask(router, 'hello there, how are you today');
    expect(first.decision).toMatchObject({ model: MINI, local: false });
    expect(first.decision?.notice).toBeUndefined();
    const cost = audit.at(-1)?.cost ?? 0;
    expect(cost).toBeGreaterThan(1); // more than the budget: (prompt × 0.1 + answer × 0.2) per token
    expect(router.spend()).toEqual([
      { endpoint: 'cloud', today: cost, month: cost, daily: 1, monthly: undefined, currency: 'USD' },
    ]);
    const second = await ask(router, 'and what about tomorrow');
    expect(second.decision).toMatchObject({ model: LOCAL, local: true });
    expect(second.decision?.notice).toMatch(
      /^💸 cloud spent .* of its daily budget of 1\.00 USD: .* ollama:qwen2\.5:0\.5b/,
    );
    const third = await ask(router, 'one more question');
    expect(third.decision?.model).toBe(LOCAL);
    expect(third.decision?.notice).toBeUndefined();
    expect(cloud.chatRequests().length).toBe(before + 1);
  });

  it('counts what the audit trail holds from before a restart', async () => {
    configure(priced(1));
    const router = makeRouter({ spentSince: (endpoint) => (endpoint === 'cloud' ? 5 : 0) });
    const before = cloud.chatRequests().length;
    const { decision } = await ask(router, 'hello again');
    expect(decision).toMatchObject({ model: LOCAL, notice: expect.stringContaining('5.00 USD') });
    expect(cloud.chatRequests().length).toBe(before);
  });

  it('refuses with what to do when the budget is spent and no local model is left', async () => {
    configure(priced(1));
    const router = makeRouter({ spentSince: () => 5 });
    const cloudOnly = botSchema.parse({ id: 'c', displayName: 'C', model: MINI });
    const err = await ask(router, 'hello', cloudOnly).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PolicyRefused' });
    expect(String((err as Error).message)).toContain('daily budget');
  });
});

describe('the classifier', () => {
  const withClassifier = (timeoutMs = 3000) =>
    configure({
      routing: { rules: [{ code: true, task: 'code_review' }], classifier: { model: CLASSIFIER, timeoutMs } },
    });

  it('chooses a task under a schema whose only values are the task names', async () => {
    withClassifier();
    const router = makeRouter();
    const { decision } = await ask(router, 'could you review my function for bugs');
    expect(decision).toMatchObject({ model: CODE, task: { name: 'code_review', source: 'classifier' } });
    const sent = clf.chatRequests().at(-1)?.body as { response_format?: { json_schema?: { schema?: unknown } } };
    expect(sent.response_format?.json_schema?.schema).toMatchObject({
      properties: { task: { enum: [...NAMES, 'none'] } },
    });
    expect(audit.some((e) => e.model === CLASSIFIER && e.reason === 'classifier: chose code_review')).toBe(true);
  });

  it('never takes an answer that is not a task name: the bot keeps its model', async () => {
    withClassifier();
    const router = makeRouter();
    for (const q of ['bogus request', 'garbage please', 'hello', 'my invoice 42 from ACME']) {
      const d = await router.decide({ bot, messages: [{ role: 'user', content: q }], question: q, classify: true });
      if (d.task) expect(NAMES).toContain(d.task.name);
      expect(d.classifier?.task === undefined || NAMES.includes(d.classifier.task)).toBe(true);
    }
    const bogus = await router.decide({ bot, messages: [], question: 'bogus', classify: true });
    expect(bogus).toMatchObject({ task: undefined, classifier: { error: 'answered "{"task": "launch_rockets"}"' } });
    expect(bogus.plan.candidates[0]?.model).toBe(MINI);
  });

  it('falls back to the rules when the classifier is slower than its time cap', async () => {
    withClassifier(150);
    const router = makeRouter();
    clf.addFault({ kind: 'delay', ms: 1500 });
    const d = await router.decide({ bot, messages: [], question: 'please review this', classify: true });
    expect(d.task).toBeUndefined();
    expect(d.classifier?.error).toBe('timed out after 150 ms');
    expect(d.plan.candidates[0]?.model).toBe(MINI);
  });

  it('is not asked when a rule decided, nor in a dry run', async () => {
    withClassifier();
    const router = makeRouter();
    const before = clf.chatRequests().length;
    const ruled = await router.decide({ bot, messages: [], question: 'see\n```js\nx()\n```', classify: true });
    expect(ruled.task).toMatchObject({ name: 'code_review', source: 'rule' });
    await router.decide({ bot, messages: [], question: 'please review this' });
    expect(clf.chatRequests().length).toBe(before);
  });

  it('must run on this machine: a cloud classifier is skipped', async () => {
    configure({ routing: { classifier: { model: GPT, timeoutMs: 1000 } } });
    const before = cloud.chatRequests().length;
    const d = await makeRouter().decide({ bot, messages: [], question: 'please review this', classify: true });
    expect(d.task).toBeUndefined();
    expect(cloud.chatRequests().length).toBe(before);
  });
});
