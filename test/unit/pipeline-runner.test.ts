// The pipeline engine with a scripted chat: conditions both ways, prompt templates, JSON parsed and checked, stage
// failures named, settings problems found before anything runs, and a stop that ends the run where it is.
import { describe, expect, it } from 'vitest';
import type { PipelineConfig } from '../../main/common/settings-master.ts';
import type { BotConfig } from '../../main/common/settings-schema.ts';
import { planPipeline, PipelineSettingsError, pipelineList } from '../../main/core/pipelines/pipeline-plan.ts';
import {
  PipelineStageError,
  runPipeline,
  type StageRequest,
  type StageResult,
} from '../../main/core/pipelines/pipeline-runner.ts';
import { renderTemplate } from '../../main/core/pipelines/templates.ts';
import type { ChatChunk } from '../../main/core/inference/types.ts';
import { InferenceError } from '../../main/core/inference/types.ts';

const category = {
  type: 'object',
  properties: { category: { enum: ['simple', 'complex'] } },
  required: ['category'],
};

const triage: PipelineConfig = {
  name: 'triage',
  stages: [
    { name: 'draft', model: 'llama:/m/draft.gguf', prompt: 'Answer: {{input}}' },
    {
      name: 'classify',
      model: 'openai:cloud/judge',
      prompt: 'Classify {{input}} given {{previous}}',
      schema: category,
    },
    {
      name: 'review',
      bot: 'critic',
      prompt: 'Improve {{draft}} (it is {{classify}})',
      condition: "category == 'complex'",
    },
  ],
};

const critic: BotConfig = {
  id: 'critic',
  displayName: 'Critic',
  model: 'ollama:critic',
  systemPrompt: 'You are {display_name}.',
  temperature: 0.2,
  maxTokens: 300,
  localOnly: true,
  keepAliveSeconds: 300,
  pinned: false,
  fallback: [],
};
const bots = (id: string) => (id === 'critic' ? critic : undefined);

/** A chat that answers by the model: the judge says complex when the request has "hard" in it. */
function scripted(answers: Record<string, (prompt: string) => string> = {}) {
  const requests: StageRequest[] = [];
  const chat = async function* (r: StageRequest): AsyncIterable<ChatChunk> {
    requests.push(r);
    const prompt = r.messages.at(-1)!.content;
    const text =
      answers[r.bot.model]?.(prompt) ??
      (r.bot.model === 'openai:cloud/judge'
        ? JSON.stringify({ category: prompt.includes('hard') ? 'complex' : 'simple' })
        : `${r.bot.displayName} says hi`);
    r.onDecision?.({ model: `${r.bot.model}#answered` });
    for (const piece of text.match(/.{1,5}/gs) ?? []) yield { type: 'text', text: piece, tokens: 1 };
    yield { type: 'done', text, stats: {} as never };
  };
  return { requests, chat };
}

describe('runPipeline', () => {
  it('skips the third stage for a simple request and runs it for a complex one', async () => {
    const simple = scripted();
    const r1 = await runPipeline({ plan: planPipeline(triage, bots), input: 'an easy one', chat: simple.chat });
    expect(r1.stages.map((s) => [s.name, s.skipped])).toEqual([
      ['draft', false],
      ['classify', false],
      ['review', true],
    ]);
    expect(r1.stages[2]!.reason).toBe("category == 'complex' is false");
    expect(r1.stages[1]!.json).toEqual({ category: 'simple' });
    expect(r1.answer).toBe('{"category":"simple"}'); // the last stage that ran
    expect(simple.requests).toHaveLength(2);

    const complex = scripted();
    const r2 = await runPipeline({ plan: planPipeline(triage, bots), input: 'a hard one', chat: complex.chat });
    expect(r2.stages.map((s) => s.skipped)).toEqual([false, false, false]);
    expect(r2.answer).toBe('Critic says hi');
    expect(r2.stages.map((s) => s.model)).toEqual([
      'llama:/m/draft.gguf#answered',
      'openai:cloud/judge#answered',
      'ollama:critic#answered',
    ]);
  });

  it('fills the templates, asks for the schema, and runs a stage as its bot or as a bot made for its model', async () => {
    const { requests, chat } = scripted();
    await runPipeline({
      plan: planPipeline(triage, bots),
      input: 'a hard one',
      chat,
      context: { roomId: '!r', eventId: '$e' },
    });
    const [draft, classify, review] = requests;
    expect(draft!.messages).toEqual([{ role: 'user', content: 'Answer: a hard one' }]);
    expect(draft!.bot).toMatchObject({ id: 'pipeline.triage.draft', model: 'llama:/m/draft.gguf', localOnly: false });
    expect(draft!.sampling.maxTokens).toBe(1024);
    expect(classify!.messages.at(-1)!.content).toBe('Classify a hard one given draft says hi');
    expect(classify!.jsonSchema).toEqual(category);
    expect(draft!.jsonSchema).toBeUndefined();
    expect(review!.bot).toEqual(critic);
    expect(review!.messages).toEqual([
      { role: 'system', content: 'You are Critic.' },
      { role: 'user', content: 'Improve draft says hi (it is {"category":"complex"})' },
    ]);
    expect(review!.context).toEqual({ roomId: '!r', eventId: '$e' });
  });

  it('streams each stage through the callbacks, ends each (skipped ones too) before the next starts', async () => {
    const { chat } = scripted();
    const log: string[] = [];
    const texts = new Map<string, string>();
    await runPipeline({
      plan: planPipeline(triage, bots),
      input: 'easy',
      chat,
      events: {
        stageStart: (s) => log.push(`start ${s.name} ${s.index} ${s.model}`),
        stageText: (name, delta) => texts.set(name, (texts.get(name) ?? '') + delta),
        stageEnd: (r: StageResult) => void log.push(`end ${r.name}${r.skipped ? ' skipped' : ''}`),
      },
    });
    expect(log).toEqual([
      'start draft 0 llama:/m/draft.gguf',
      'end draft',
      'start classify 1 openai:cloud/judge',
      'end classify',
      'end review skipped',
    ]);
    expect(texts.get('classify')).toBe('{"category":"simple"}');
  });

  it('fails the run at a stage whose answer is not JSON, or not of its schema, naming the stage', async () => {
    const notJson = scripted({ 'openai:cloud/judge': () => 'complex, I think' });
    const err = await runPipeline({ plan: planPipeline(triage, bots), input: 'x', chat: notJson.chat }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PipelineStageError);
    expect((err as PipelineStageError).stage).toBe('classify');
    expect((err as Error).message).toMatch(
      /^Stage "classify" failed: its answer is not JSON \(.*\): "complex, I think"$/,
    );
    expect((err as PipelineStageError).results.map((r) => r.name)).toEqual(['draft']);

    const wrong = scripted({ 'openai:cloud/judge': () => '{"category":"medium"}' });
    await expect(runPipeline({ plan: planPipeline(triage, bots), input: 'x', chat: wrong.chat })).rejects.toThrow(
      'Stage "classify" failed: its answer does not fit the schema: /category must be equal to one of the allowed values',
    );
  });

  it('fails the run at a stage whose condition reads a field no stage answered, saying what to do', async () => {
    const p: PipelineConfig = {
      name: 'p',
      stages: [
        { name: 'a', model: 'm:a', prompt: '{{input}}' },
        { name: 'b', model: 'm:b', prompt: '{{input}}', condition: 'score > 3' },
      ],
    };
    const err = (await runPipeline({ plan: planPipeline(p, bots), input: 'x', chat: scripted().chat }).catch(
      (e: unknown) => e,
    )) as PipelineStageError;
    expect(err.message).toBe(
      'Stage "b" failed: the condition `score > 3` could not be evaluated: Unknown variable: score',
    );
    expect(err.hint).toMatch(/has\(\)/);
  });

  it('ends the run with the inference error of the stage that failed, and its hint', async () => {
    const chat = async function* (r: StageRequest): AsyncIterable<ChatChunk> {
      if (r.bot.model === 'openai:cloud/judge')
        throw new InferenceError('BackendUnavailable', 'endpoint "cloud" is down.', { hint: 'Start it.' });
      yield { type: 'done', text: 'ok', stats: {} as never };
    };
    const err = (await runPipeline({ plan: planPipeline(triage, bots), input: 'x', chat }).catch(
      (e: unknown) => e,
    )) as PipelineStageError;
    expect(err.message).toBe('Stage "classify" failed: endpoint "cloud" is down.');
    expect(err.hint).toBe('Start it.');
  });

  it('stops where it is when the signal aborts: the stop reason, and no later stage', async () => {
    const ac = new AbortController();
    const requests: string[] = [];
    const chat = async function* (r: StageRequest): AsyncIterable<ChatChunk> {
      requests.push(r.bot.id);
      yield { type: 'text', text: 'part', tokens: 1 };
      if (r.bot.model === 'openai:cloud/judge') {
        ac.abort(new Error('Stopped with !stop.'));
        throw new InferenceError('Aborted', 'The request was stopped.');
      }
      yield { type: 'done', text: 'part', stats: {} as never };
    };
    await expect(
      runPipeline({ plan: planPipeline(triage, bots), input: 'hard', chat, signal: ac.signal }),
    ).rejects.toThrow('Stopped with !stop.');
    expect(requests).toEqual(['pipeline.triage.draft', 'pipeline.triage.classify']);
  });
});

describe('planPipeline', () => {
  it('finds every settings problem before anything runs, naming the pipeline and each stage', () => {
    const bad: PipelineConfig = {
      name: 'bad',
      stages: [
        { name: 'one', model: 'm:x', prompt: 'see {{two}}', condition: "category == 'x' &&" },
        { name: 'two', bot: 'nobody', prompt: '{{input}}', schema: { type: 'frobnicate' } },
      ],
    };
    let err: unknown;
    try {
      planPipeline(bad, bots);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PipelineSettingsError);
    expect((err as PipelineSettingsError).problems).toEqual([
      'stage "one": its prompt refers to {{two}}, which is no earlier stage (use {{input}}, {{previous}})',
      'stage "one": the condition `category == \'x\' &&` is not a valid CEL expression: Unexpected token: EOF',
      'stage "two": no bot is called "nobody"',
      expect.stringMatching(/^stage "two": the schema is not a valid JSON schema: /),
    ]);
    expect((err as Error).message).toMatch(/^Pipeline "bad" cannot run: stage "one": .* Fix it in the settings/);
  });

  it('lists the pipelines, or says how to add one', () => {
    expect(pipelineList([triage])).toBe('Pipelines:\n- triage: draft → classify → review');
    expect(pipelineList([])).toMatch(/No pipelines are set up yet/);
  });
});

describe('renderTemplate', () => {
  it('fills input, previous (the input before any stage ran), stage names with spaces, and a skipped stage as nothing', () => {
    expect(renderTemplate('{{ input }}|{{previous}}|{{a}}', 'q', [])).toBe('q|q|');
    expect(renderTemplate('{{previous}}|{{a}}', 'q', [{ name: 'a', text: ' {"x": 1}', json: { x: 1 } }])).toBe(
      '{"x":1}|{"x":1}',
    );
  });
});
