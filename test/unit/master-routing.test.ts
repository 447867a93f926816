// The master agent's pure parts: request signals, rules on code and length, the order of a task's models, the
// budget ledger's periods, the classifier's answer parsing, and settings that name tasks that do not exist.
import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import { budgetNotice, costText, SpendLedger } from '../../main/core/inference/budget.ts';
import { requestSignals } from '../../main/core/inference/request-signals.ts';
import { matchRule } from '../../main/core/inference/router-rules.ts';
import { parseChoice } from '../../main/core/inference/task-classifier.ts';
import { planTask } from '../../main/core/inference/task-select.ts';

describe('requestSignals', () => {
  it('reads code blocks and their languages, list items, questions, !task and !commands', () => {
    const s = requestSignals('!task code_review please\n```TS\nlet x = 1;\n```\n```\nplain\n```\n- a\n- b\nok?');
    expect(s).toMatchObject({ codeBlocks: 2, codeLanguages: ['ts'], listItems: 2, questions: 1 });
    expect(s.explicitTask).toBe('code_review');
    expect(s.command).toBe('task');
    expect(requestSignals('@coder: !review this').command).toBe('review');
  });

  it('calls a long or demanding request complex, and a short question fast', () => {
    expect(requestSignals('x'.repeat(2500)).complexity).toBe('high');
    const demanding = requestSignals(
      `Please analyze the trade-offs between these two designs ${'in detail '.repeat(10)}`,
    );
    expect(demanding.complexity).toBe('high');
    expect(demanding.why.join()).toContain('analyze');
    expect(requestSignals('what time is it?')).toMatchObject({ complexity: 'low', latency: 'fast' });
    expect(
      requestSignals('give me a quick summary of the meeting notes from yesterday, with the decisions').latency,
    ).toBe('fast');
    expect(requestSignals('Write a paragraph about the history of the bicycle, with dates.').complexity).toBe('low');
  });
});

describe('rules on code and length', () => {
  const input = (prompt: string) => ({ botId: 'b', prompt, signals: requestSignals(prompt) });
  it('matches code blocks by language, and lengths', () => {
    const rules = [
      { code: ['python', 'py'], task: 'py' },
      { code: true, task: 'any-code' },
      { minChars: 100, task: 'long' },
      { maxChars: 10, model: 'short' },
    ];
    expect(matchRule(rules, input('```py\nx\n```')).match?.reason).toBe('rule #1 (code in py)');
    expect(matchRule(rules, input('```rust\nx\n```')).match?.index).toBe(1);
    expect(matchRule(rules, input('y'.repeat(150))).match?.reason).toBe('rule #3 (at least 100 characters)');
    expect(matchRule(rules, input('hi')).match?.index).toBe(3);
    expect(matchRule(rules, input('a medium text here')).match).toBeUndefined();
  });

  it('matches an attached image', () => {
    const rules = [
      { image: true, task: 'vision' },
      { image: false, model: 'text-only' },
    ];
    expect(matchRule(rules, { ...input('what is this?'), images: 1 }).match?.reason).toBe(
      'rule #1 (an attached image)',
    );
    expect(matchRule(rules, { ...input('what is this?'), images: 0 }).match?.reason).toBe('rule #2 (no image)');
  });
});

describe('planTask', () => {
  const task = {
    name: 'code_review',
    models: ['llama:/m/small.gguf', 'ollama:mid', 'openai:cloud/big'],
    reason: 'code',
  };
  const facts = (loaded: string[]) => ({
    isLocal: (m: string) => !m.startsWith('openai'),
    isLoaded: (m: string) => loaded.includes(m),
  });
  it('takes the first model by default, the last for a complex request, a loaded local one for a fast one', () => {
    const normal = planTask(task, { complexity: 'normal', latency: 'normal', why: [] }, facts([]), 'rule #1');
    expect(normal.models.map((m) => m.model)).toEqual(task.models);
    expect(normal.models[0]?.reason).toBe('task code_review (rule #1): code; its first model');
    const hard = planTask(task, { complexity: 'high', latency: 'normal', why: ['3 questions'] }, facts([]), 'x');
    expect(hard.models.map((m) => m.model)).toEqual(['openai:cloud/big', 'llama:/m/small.gguf', 'ollama:mid']);
    expect(hard.models[0]?.reason).toContain('most capable model (listed last): the request is complex (3 questions)');
    const fast = planTask(task, { complexity: 'low', latency: 'fast', why: [] }, facts(['ollama:mid']), 'x');
    expect(fast.models[0]).toMatchObject({ model: 'ollama:mid', reason: expect.stringContaining('already loaded') });
    // Nothing loaded: the first listed.
    expect(planTask(task, { complexity: 'low', latency: 'fast', why: [] }, facts([]), 'x').models[0]?.model).toBe(
      'llama:/m/small.gguf',
    );
  });
});

describe('SpendLedger', () => {
  const endpoints = [
    {
      id: 'cloud',
      url: 'https://x.example/v1',
      requestsPerMinute: 100,
      timeoutMs: 1000,
      failover: [],
      prices: { 'gpt-4o': { input: 2.5, output: 10 }, '*': { input: 1, output: 1 } },
      budget: { daily: 1, monthly: 1.5, currency: 'EUR' },
    },
  ];
  it('prices calls by model (or *), and renews the daily budget at midnight UTC and the monthly one each month', () => {
    let now = Date.parse('2026-12-02T10:00:00Z');
    const ledger = new SpendLedger({ getEndpoints: () => endpoints, now: () => now });
    expect(ledger.costOf('openai:cloud/gpt-4o', 1_000_000, 100_000)).toBeCloseTo(3.5);
    expect(ledger.costOf('openai:cloud/other', 500_000, 500_000)).toBeCloseTo(1);
    expect(ledger.costOf('openai:elsewhere/x', 10, 10)).toBeNull();
    ledger.add('openai:cloud/gpt-4o', 1.2);
    expect(ledger.overBudget('openai:cloud/gpt-4o')).toBe('cloud spent 1.20 EUR of its daily budget of 1.00 EUR');
    expect(ledger.takeNotice('openai:cloud/gpt-4o')).toBe(true);
    expect(ledger.takeNotice('openai:cloud/gpt-4o')).toBe(false);
    now = Date.parse('2026-12-03T00:00:01Z');
    expect(ledger.overBudget('openai:cloud/gpt-4o')).toBeUndefined();
    ledger.add('openai:cloud/gpt-4o', 0.4);
    expect(ledger.overBudget('openai:cloud/x')).toBe('cloud spent 1.60 EUR of its monthly budget of 1.50 EUR');
    expect(ledger.takeNotice('openai:cloud/x')).toBe(true);
    now = Date.parse('2027-01-01T00:00:01Z');
    expect(ledger.overBudget('openai:cloud/x')).toBeUndefined();
    expect(ledger.summary()).toEqual([
      { endpoint: 'cloud', today: 0, month: 0, daily: 1, monthly: 1.5, currency: 'EUR' },
    ]);
  });

  it('starts from what the audit trail holds', () => {
    const asked: Array<[string, string]> = [];
    const ledger = new SpendLedger({
      getEndpoints: () => endpoints,
      now: () => Date.parse('2026-12-02T10:00:00Z'),
      spentSince: (ep, since) => {
        asked.push([ep, new Date(since).toISOString()]);
        return since >= Date.parse('2026-12-02T00:00:00Z') ? 0.25 : 1.25;
      },
    });
    expect(ledger.summary()[0]).toMatchObject({ today: 0.25, month: 1.25 });
    expect(asked).toEqual([
      ['cloud', '2026-12-02T00:00:00.000Z'],
      ['cloud', '2026-12-01T00:00:00.000Z'],
    ]);
    expect(costText(ledger.summary())).toBe('- cloud: today 0.25 EUR of 1.00 EUR, this month 1.25 EUR of 1.50 EUR');
    expect(
      budgetNotice(
        'budget: cloud spent 1.20 EUR of its daily budget of 1.00 EUR (the bot’s own model)',
        'llama:/m.gguf',
      ),
    ).toBe(
      '💸 cloud spent 1.20 EUR of its daily budget of 1.00 EUR: requests that would go there are answered by llama:/m.gguf until the budget renews. `!cost` shows the spend.',
    );
  });
});

describe('the classifier answer', () => {
  const tasks = [
    { name: 'a', models: ['m'] },
    { name: 'b', models: ['m'] },
  ];
  it('is taken only when it names a task', () => {
    expect(parseChoice('{"task": "b"}', tasks)).toBe('b');
    expect(parseChoice(' {"task":"a"} ', tasks)).toBe('a');
    expect(parseChoice('{"task": "none"}', tasks)).toBeUndefined();
    expect(parseChoice('{"task": "c"}', tasks)).toBeUndefined();
    expect(parseChoice('a', tasks)).toBeUndefined();
    expect(parseChoice('{"task": 1}', tasks)).toBeUndefined();
  });
});

describe('settings that name what does not exist', () => {
  it('says which bot, rule or stage names an unknown task, pipeline or bot, and duplicate names', () => {
    const r = settingsSchema.safeParse({
      bots: [{ id: 'a', displayName: 'A', model: 'm', task: 'nope', pipeline: 'gone' }],
      tasks: [
        { name: 't', models: ['m'] },
        { name: 't', models: ['n'] },
      ],
      routing: { rules: [{ code: true, task: 'missing' }, { pattern: 'x' }] },
      pipelines: [{ name: 'p', stages: [{ name: 's', bot: 'ghost', prompt: '{{input}}' }] }],
    });
    expect(r.success).toBe(false);
    const issues = r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues).toEqual(
      expect.arrayContaining([
        'routing.rules.1: a rule needs a model or a task',
        'tasks.1.name: two tasks are called "t"',
      ]),
    );
    // The reference check runs once the sections themselves are valid.
    const refs = settingsSchema.safeParse({
      bots: [{ id: 'a', displayName: 'A', model: 'm', task: 'nope', pipeline: 'gone' }],
      tasks: [{ name: 't', models: ['m'] }],
      routing: { rules: [{ code: true, task: 'missing' }] },
      pipelines: [{ name: 'p', stages: [{ name: 's', bot: 'ghost', prompt: '{{input}}' }] }],
    });
    expect(refs.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'bots.0.task: no task is called "nope" (tasks: t)',
      'bots.0.pipeline: no pipeline is called "gone" (pipelines: p)',
      'routing.rules.0.task: no task is called "missing" (tasks: t)',
      'pipelines.0.stages.0.bot: no bot is called "ghost" (bots: a)',
    ]);
  });
});

describe('agent-room status: the selector figures', () => {
  it('prints per task the requests, where they went and p50, and the spend', async () => {
    const { figureLines } = await import('../../main/cli/status-command.ts');
    expect(
      figureLines({
        tasks: [
          {
            task: 'code_review',
            requests: 4,
            local: 3,
            cloud: 1,
            unanswered: 0,
            models: { 'llama:/m/c.gguf': 3, 'openai:cloud/gpt-4o': 1 },
            p50Ms: 950.4,
          },
        ],
        spend: [{ endpoint: 'cloud', today: 0.5, month: 2, daily: 1, monthly: undefined, currency: 'USD' }],
      }),
    ).toEqual([
      'Task:       code_review: 4 request(s), 3 here, 1 cloud, 0 unanswered, p50 950 ms (llama:/m/c.gguf ×3, openai:cloud/gpt-4o ×1)',
      'Spend:      cloud: today 0.50 USD of 1.00 USD, this month 2.00 USD',
    ]);
  });
});
