// Context building from room events: roles, names, edits, redactions, !reset, budgets, roster.
import { describe, expect, it } from 'vitest';
import {
  buildContext,
  conversation,
  effectiveMessages,
  rosterLine,
  renderSystemPrompt,
} from '../../main/core/bots/context.ts';
import type { RawEvent } from '../../main/core/bots/types.ts';

const OWNER = '@owner:hs.test';
const QWEN = '@qwen:hs.test';
const MISTRAL = '@mistral:hs.test';
let ts = 0;
function m(id: string, sender: string, body: string, extra: Record<string, unknown> = {}): RawEvent {
  return {
    event_id: id,
    type: 'm.room.message',
    sender,
    origin_server_ts: ++ts,
    content: { msgtype: 'm.text', body, ...extra },
  };
}
function edit(id: string, target: string, sender: string, body: string): RawEvent {
  return m(id, sender, `* ${body}`, {
    'm.new_content': { msgtype: 'm.text', body },
    'm.relates_to': { rel_type: 'm.replace', event_id: target },
  });
}
const participants = [
  { userId: OWNER, displayName: 'Ada' },
  { userId: QWEN, displayName: 'Qwen', model: 'llama:qwen.gguf' },
  { userId: MISTRAL, displayName: 'Mistral', model: 'ollama:mistral' },
];
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const opts = (over: Partial<Parameters<typeof buildContext>[1]> = {}) => ({
  bot: { userId: QWEN, displayName: 'Qwen', systemPrompt: 'You are {display_name}.' },
  participants,
  maxMessages: 10,
  maxTokens: 1000,
  countTokens: words,
  ...over,
});

describe('buildContext', () => {
  it('names speakers, makes the bot the assistant, applies edits and drops redactions', async () => {
    const events: RawEvent[] = [
      m('$1', OWNER, '@qwen hi'),
      m('$2', QWEN, 'hel'),
      edit('$3', '$2', QWEN, 'hello Ada'),
      m('$4', MISTRAL, 'I agree', { 'org.agentroom.final': true }),
      m('$5', OWNER, 'secret'),
      { event_id: '$6', type: 'm.room.redaction', sender: OWNER, origin_server_ts: ++ts, redacts: '$5', content: {} },
      m('$7', OWNER, 'a notice', { msgtype: 'm.notice' }),
      m('$8', OWNER, '@qwen and now?'),
      m('$9', OWNER, 'after the trigger'),
    ];
    const msgs = await buildContext(events, opts({ triggerId: '$8' }));
    expect(msgs[0]!.role).toBe('system');
    expect(msgs[0]!.content).toContain('You are Qwen.');
    expect(msgs[0]!.content).toContain('Qwen (llama:qwen.gguf)');
    expect(msgs.slice(1)).toEqual([
      { role: 'user', content: 'Ada: @qwen hi', name: 'Ada' },
      { role: 'assistant', content: 'hello Ada' },
      { role: 'user', content: 'Mistral: I agree', name: 'Mistral' },
      { role: 'user', content: 'Ada: @qwen and now?', name: 'Ada' },
    ]);
  });

  it('ignores an edit by someone else and keeps the latest edit', async () => {
    const events = [
      m('$1', OWNER, 'v1'),
      edit('$2', '$1', OWNER, 'v2'),
      edit('$3', '$1', OWNER, 'v3'),
      edit('$4', '$1', MISTRAL, 'hijack'),
    ];
    expect(effectiveMessages(events).map((x) => x.body)).toEqual(['v3']);
  });

  it('starts after the last !reset and drops commands', () => {
    const msgs = effectiveMessages([
      m('$1', OWNER, 'old'),
      m('$2', OWNER, '!reset'),
      m('$3', OWNER, '!status'),
      m('$4', OWNER, 'new'),
    ]);
    expect(conversation(msgs).map((x) => x.body)).toEqual(['new']);
  });

  it.each([
    [{ maxMessages: 2 }, ['Ada: three', 'Ada: four five']],
    [{ maxTokens: 3 + 2 + 3 + 2 }, ['Ada: four five']],
    [{ maxTokens: 1 }, ['Ada: four five']], // the message answered is always kept
    [{}, ['Ada: one', 'Ada: two', 'Ada: three', 'Ada: four five']],
  ])('budgets %j keep the newest', async (over, expected) => {
    const events = [m('$1', OWNER, 'one'), m('$2', OWNER, 'two'), m('$3', OWNER, 'three'), m('$4', OWNER, 'four five')];
    const msgs = await buildContext(events, opts(over));
    expect(msgs.slice(1).map((x) => x.content)).toEqual(expected);
  });

  it('strips reply fallbacks from history', async () => {
    const msgs = await buildContext([m('$1', OWNER, '> <@qwen:hs.test> old\n\nwhy?')], opts());
    expect(msgs[1]!.content).toBe('Ada: why?');
  });
});

describe('prompt pieces', () => {
  it('substitutes {display_name} everywhere', () =>
    expect(renderSystemPrompt('{display_name}/{display_name}', 'Q')).toBe('Q/Q'));
  it('lists people and bots with their models', () => {
    expect(rosterLine(participants)).toBe(
      "In this room: people: Ada; AI assistants: Qwen (llama:qwen.gguf), Mistral (ollama:mistral). Messages from others are prefixed with the speaker's name.",
    );
  });
});
