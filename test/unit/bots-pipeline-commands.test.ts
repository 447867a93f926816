// `!run` as typed in the room, and the message a bot bound to a pipeline runs it on (its mention taken off).
import { describe, expect, it } from 'vitest';
import type { PipelineConfig } from '../../main/common/settings-master.ts';
import { parseCommand } from '../../main/core/bots/commands.ts';
import { withoutMention } from '../../main/core/bots/mentions.ts';
import { pipelineCommand } from '../../main/core/bots/runner-pipeline.ts';

const pipelines: PipelineConfig[] = [{ name: 'triage', stages: [{ name: 'a', model: 'm:a', prompt: '{{input}}' }] }];

describe('!run', () => {
  it.each([
    ['!run triage what now?', { name: 'run', pipeline: 'triage', text: 'what now?' }],
    ['!RUN  triage   line one\nline two ', { name: 'run', pipeline: 'triage', text: 'line one\nline two' }],
    ['!run', { name: 'run', text: '' }],
    ['!run triage', { name: 'run', pipeline: 'triage', text: '' }],
  ])('parses %j', (body, expected) => {
    expect(parseCommand(body)).toEqual(expected);
  });

  it('queues a known pipeline with its text, and answers anything else with a notice', () => {
    expect(pipelineCommand({ name: 'run', pipeline: 'Triage', text: 'x' }, pipelines)).toEqual({
      run: { pipeline: 'triage', text: 'x' },
    });
    const reason = (c: ReturnType<typeof pipelineCommand>) =>
      'command' in c && c.command.name === 'invalid' ? c.command.reason : '';
    expect(reason(pipelineCommand({ name: 'run', text: '' }, pipelines))).toBe(
      'Usage: !run <pipeline> <text>\n\nPipelines:\n- triage: a',
    );
    expect(reason(pipelineCommand({ name: 'run', pipeline: 'nope', text: 'x' }, pipelines))).toBe(
      'No pipeline is called "nope". Pipelines:\n- triage: a',
    );
    expect(reason(pipelineCommand({ name: 'run', pipeline: 'triage', text: '' }, pipelines))).toMatch(
      /^Usage: !run triage <text>/,
    );
    expect(reason(pipelineCommand({ name: 'run', pipeline: 'triage', text: 'x' }, []))).toMatch(
      /No pipelines are set up yet/,
    );
    expect(pipelineCommand({ name: 'help' }, pipelines)).toEqual({ command: { name: 'help' } });
  });
});

describe('withoutMention', () => {
  const bot = { userId: '@triage:bots.local', displayName: 'Triage Bot' };
  it.each([
    ['@triage this one is hard', 'this one is hard'],
    ['@triage: this one is hard', 'this one is hard'],
    ['@triage:bots.local, this one is hard', 'this one is hard'],
    ['Triage Bot: this one is hard', 'this one is hard'],
    ['@Triage Bot this one is hard', 'this one is hard'],
    ['please @triage look at this', 'please look at this'],
    ['a triage of this', 'a triage of this'],
    ['line one\n@triage line two', 'line one\nline two'],
  ])('%j → %j', (body, expected) => {
    expect(withoutMention(body, bot)).toBe(expected);
  });
});
