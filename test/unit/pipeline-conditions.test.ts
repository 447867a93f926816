// Pipeline conditions: CEL expressions on the request and the earlier stages' outputs, read as the settings promise
// (JSON fields at top level, later stages winning; each stage by name; `stages[...]` for any name; `input`).
import { describe, expect, it } from 'vitest';
import { compileCondition, ConditionError, conditionContext } from '../../main/core/pipelines/conditions.ts';

describe('conditions', () => {
  const outputs = [
    { name: 'classify', text: '{"category":"simple","score":2}', json: { category: 'simple', score: 2 } },
    { name: 'draft', text: 'hello' },
    { name: 'extract-invoice', text: '{"category":"complex"}', json: { category: 'complex', input: 'shadowed' } },
  ];
  const ctx = conditionContext('the request', outputs);
  it.each([
    ["category == 'complex'", true], // later JSON fields win
    ['score >= 2', true], // a JSON number compares with a CEL int
    ["classify.category == 'simple'", true],
    ["draft == 'hello'", true],
    ["stages['extract-invoice'].category == 'complex'", true],
    ["input == 'the request'", true], // input is the request, whatever a stage answered
    ["input.contains('request') && !has(classify.urgent)", true],
    ['has(stages.classify.category)', true],
  ])('%s is %s', (source, expected) => {
    expect(compileCondition(source)(ctx)).toBe(expected);
  });

  it('says so when a condition gives something other than true or false', () => {
    expect(() => compileCondition('category')(ctx)).toThrow(
      'the condition `category` gave the text "complex", not true or false',
    );
  });
});

describe('compileCondition', () => {
  it("refuses what is not CEL when parsed, with the first line of the parser's message", () => {
    expect(() => compileCondition("category == 'x' &&")).toThrow(
      new ConditionError("the condition `category == 'x' &&` is not a valid CEL expression: Unexpected token: EOF"),
    );
  });

  it('cannot reach anything but its context: no globals, no JavaScript', () => {
    for (const source of ['process.exit(1)', "constructor.constructor('return 1')()", 'globalThis == null'])
      expect(() => compileCondition(source)({ input: 'x' })).toThrow(ConditionError);
  });
});
