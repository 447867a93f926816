// Routing rules and route plans, table-driven: which rule wins, and the ordered, privacy-filtered candidates.
import { describe, expect, it } from 'vitest';
import { matchRule, planRoute, type RoutingRule } from '../../main/core/inference/router-rules.ts';

const rules: RoutingRule[] = [
  { bot: 'coder', command: 'review', model: 'ollama:qwen2.5-coder', reason: 'code review' },
  { pattern: '\\b(extract|parse)\\b.*\\bjson\\b', model: 'llama:/m/small.gguf', reason: 'data extraction' },
  { bot: 'writer', model: 'openai:cloud/gpt-4o' },
  { command: '!fast', model: 'llama:/m/tiny.gguf' },
  { pattern: '([unclosed', model: 'ollama:never' },
];

describe('matchRule', () => {
  it.each([
    { name: 'bot + command', input: { botId: 'coder', command: 'review', prompt: 'x' }, index: 0 },
    { name: 'command with ! and other case', input: { botId: 'coder', command: '!REVIEW', prompt: 'x' }, index: 0 },
    {
      name: 'command for another bot does not match rule 1',
      input: { botId: 'other', command: 'review', prompt: 'x' },
      index: undefined,
    },
    {
      name: 'pattern, case-insensitive',
      input: { botId: 'any', prompt: 'Please EXTRACT the fields as JSON' },
      index: 1,
    },
    { name: 'pattern needs both words', input: { botId: 'any', prompt: 'extract the fields' }, index: undefined },
    { name: 'by bot only', input: { botId: 'writer', prompt: 'a poem' }, index: 2 },
    { name: 'first match wins over bot rule', input: { botId: 'writer', prompt: 'parse this json' }, index: 1 },
    { name: 'command without bot', input: { botId: 'any', command: 'fast', prompt: 'hi' }, index: 3 },
    { name: 'nothing matches', input: { botId: 'any', prompt: 'hello' }, index: undefined },
  ])('$name', ({ input, index }) => {
    const scan = matchRule(rules, input);
    expect(scan.match?.index).toBe(index);
    // The broken rule #5 is reported only when the scan reached it.
    expect(scan.invalid.map((i) => i.index)).toEqual(index === undefined ? [4] : []);
  });

  it('explains the match', () => {
    expect(matchRule(rules, { botId: 'coder', command: 'review', prompt: '' }).match?.reason).toBe(
      'rule #1 (bot coder, command !review): code review',
    );
    expect(matchRule([{ model: 'x' }], { botId: 'a', prompt: '' }).match?.reason).toBe('rule #1 (matches everything)');
  });

  it('reports an invalid pattern instead of throwing', () => {
    const scan = matchRule([{ pattern: '(', model: 'x' }], { botId: 'a', prompt: '(' });
    expect(scan.match).toBeUndefined();
    expect(scan.invalid[0]?.index).toBe(0);
  });
});

describe('planRoute', () => {
  const local = (m: string) => m.startsWith('llama:') || m.startsWith('ollama:');
  const base = {
    botId: 'b',
    prompt: 'hello',
    rules: [] as RoutingRule[],
    isLocal: local,
    hasBackend: (m: string) => !m.startsWith('nope:'),
  };

  it.each([
    {
      name: 'bot model then fallbacks',
      input: { botModel: 'ollama:a', fallback: ['openai:cloud/b', 'llama:/c.gguf'], localOnly: false },
      candidates: ['ollama:a', 'openai:cloud/b', 'llama:/c.gguf'],
      skipped: [],
    },
    {
      name: 'local-only drops cloud fallback',
      input: { botModel: 'ollama:a', fallback: ['openai:cloud/b', 'llama:/c.gguf'], localOnly: true },
      candidates: ['ollama:a', 'llama:/c.gguf'],
      skipped: ['openai:cloud/b'],
    },
    {
      name: 'local-only drops a cloud rule model too',
      input: { botModel: 'ollama:a', fallback: [], localOnly: true, rules: [{ model: 'openai:cloud/x' }] },
      candidates: ['ollama:a'],
      skipped: ['openai:cloud/x'],
    },
    {
      name: 'rule model first, duplicates once',
      input: {
        botModel: 'ollama:a',
        fallback: ['llama:/r.gguf'],
        localOnly: false,
        rules: [{ model: 'llama:/r.gguf' }],
      },
      candidates: ['llama:/r.gguf', 'ollama:a'],
      skipped: [],
    },
    {
      name: 'unknown backend skipped',
      input: { botModel: 'nope:a', fallback: ['ollama:b'], localOnly: false },
      candidates: ['ollama:b'],
      skipped: ['nope:a'],
    },
    {
      name: 'local-only with only cloud models leaves nothing',
      input: { botModel: 'openai:cloud/a', fallback: ['openai:cloud/b'], localOnly: true },
      candidates: [],
      skipped: ['openai:cloud/a', 'openai:cloud/b'],
    },
    {
      name: 'a sensitive request drops the cloud models, as for a local-only bot',
      input: {
        botModel: 'openai:cloud/a',
        fallback: ['llama:/c.gguf'],
        localOnly: false,
        sensitive: ['card'],
        rules: [{ model: 'openai:cloud/x' }],
      },
      candidates: ['llama:/c.gguf'],
      skipped: ['openai:cloud/x', 'openai:cloud/a'],
    },
    {
      name: 'no sensitive kinds: nothing dropped',
      input: { botModel: 'openai:cloud/a', fallback: ['llama:/c.gguf'], localOnly: false, sensitive: [] },
      candidates: ['openai:cloud/a', 'llama:/c.gguf'],
      skipped: [],
    },
  ])('$name', ({ input, candidates, skipped }) => {
    const plan = planRoute({ ...base, ...input });
    expect(plan.candidates.map((c) => c.model)).toEqual(candidates);
    expect(plan.skipped.map((c) => c.model)).toEqual(skipped);
  });

  it('says why a model was refused', () => {
    const plan = planRoute({ ...base, botModel: 'openai:cloud/a', fallback: [], localOnly: true });
    expect(plan.skipped[0]?.reason).toMatch(/^refused: the bot is local-only and openai:cloud\/a leaves this machine/);
    const sensitive = planRoute({
      ...base,
      botModel: 'openai:cloud/a',
      fallback: [],
      localOnly: false,
      sensitive: ['card', 'email'],
    });
    expect(sensitive.skipped[0]?.reason).toMatch(
      /^refused: the request holds sensitive data \(card, email\) and openai:cloud\/a leaves this machine/,
    );
  });
});
