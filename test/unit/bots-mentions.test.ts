// Who an event addresses: explicit mentions in order, pills as Element sends them, implicit addressing.
import { describe, expect, it } from 'vitest';
import {
  addressedBots,
  messageView,
  stripReplyFallback,
  textMentions,
  type AddressContext,
} from '../../main/core/bots/mentions.ts';
import type { RawEvent } from '../../main/core/bots/types.ts';

const qwen = { id: 'qwen', userId: '@qwen:hs.test', displayName: 'Qwen' };
const mistral = { id: 'mistral', userId: '@mistral:hs.test', displayName: 'Mistral Small' };
const coder = { id: 'coder', userId: '@coder:hs.test', displayName: 'Qwen Coder' };
const bots = [qwen, mistral, coder];
const botIds = new Set(bots.map((b) => b.userId));
const OWNER = '@owner:hs.test';

function msg(content: Record<string, unknown>, sender = OWNER, type = 'm.room.message'): RawEvent {
  return { event_id: '$e', type, sender, origin_server_ts: 1, content };
}
const text = (body: string, extra: Record<string, unknown> = {}) => msg({ msgtype: 'm.text', body, ...extra });
const pill = (uid: string, name: string) => `<a href="https://matrix.to/#/${uid}">${name}</a>`;

function who(event: RawEvent, ctx: Partial<AddressContext> = {}): string[] {
  const view = messageView(event, botIds);
  return view ? addressedBots(view, { bots, ...ctx }).map((b) => b.id) : [];
}

describe('addressedBots', () => {
  const cases: Array<[string, RawEvent, Partial<AddressContext>, string[]]> = [
    ['m.mentions only', text('hello', { 'm.mentions': { user_ids: ['@qwen:hs.test'] } }), {}, ['qwen']],
    ['plain @localpart', text('@qwen what is 2+2?'), {}, ['qwen']],
    ['case-insensitive', text('hey @QWEN, hi'), {}, ['qwen']],
    ['display name with a space', text('@mistral small explain'), {}, ['mistral']],
    ['full user id', text('ask @mistral:hs.test please'), {}, ['mistral']],
    ['longest name wins at one position', text('@Qwen Coder fix this'), {}, ['coder']],
    ['word-bounded: not a prefix', text('@qwen2 and @qwenx'), {}, []],
    ['word-bounded: not inside an address', text('mail bob@qwen.org'), {}, []],
    [
      'three bots in order of mention',
      text('@mistral small, @coder and @qwen: vote'),
      {},
      ['mistral', 'coder', 'qwen'],
    ],
    [
      'm.mentions adds the ones not in text',
      text('@coder hi', { 'm.mentions': { user_ids: ['@qwen:hs.test', '@coder:hs.test'] } }),
      {},
      ['coder', 'qwen'],
    ],
    [
      'Element pill only (body has the bare name)',
      text('Mistral Small: hi', {
        format: 'org.matrix.custom.html',
        formatted_body: `${pill('@mistral:hs.test', 'Mistral Small')}: hi`,
      }),
      {},
      ['mistral'],
    ],
    [
      'pills in order',
      text('Qwen Coder Qwen go', {
        format: 'org.matrix.custom.html',
        formatted_body: `${pill('@coder:hs.test', 'Qwen Coder')} ${pill('@qwen:hs.test', 'Qwen')} go`,
      }),
      {},
      ['coder', 'qwen'],
    ],
    ['reply fallback is not a mention', text('> <@qwen:hs.test> old\n\nthanks'), {}, []],
    [
      'reply to a bot',
      text('why?', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$b' } } }),
      { inReplyToSender: '@qwen:hs.test' },
      ['qwen'],
    ],
    [
      'reply to a bot plus a mention',
      text('@coder check', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$b' } } }),
      { inReplyToSender: '@qwen:hs.test' },
      ['coder', 'qwen'],
    ],
    [
      'thread participant',
      text('and then?', { 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } }),
      { threadParticipants: ['@mistral:hs.test'] },
      ['mistral'],
    ],
    [
      'explicit mention in a thread wins',
      text('@qwen and?', { 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } }),
      { threadParticipants: ['@mistral:hs.test'] },
      ['qwen'],
    ],
    ['DM when allowed', text('hi'), { directBotUserId: '@qwen:hs.test', allowDirectMessages: true }, ['qwen']],
    ['DM when not allowed', text('hi'), { directBotUserId: '@qwen:hs.test', allowDirectMessages: false }, []],
    ['no mention', text('just talking'), {}, []],
    ['notice from a person', msg({ msgtype: 'm.notice', body: '@qwen hi' }), {}, []],
    ['image', msg({ msgtype: 'm.image', body: '@qwen.png', url: 'mxc://x/y' }), {}, []],
    [
      'image with a caption naming the bot (MSC2530)',
      msg({ msgtype: 'm.image', body: '@qwen what is this?', filename: 'cat.png', url: 'mxc://x/y' }),
      {},
      ['qwen'],
    ],
    [
      'file with a caption and a pill',
      msg({
        msgtype: 'm.file',
        body: 'Qwen Coder: summarise',
        filename: 'report.pdf',
        format: 'org.matrix.custom.html',
        formatted_body: `${pill('@coder:hs.test', 'Qwen Coder')}: summarise`,
        url: 'mxc://x/y',
      }),
      {},
      ['coder'],
    ],
    [
      'image whose body is its filename (no caption)',
      msg({ msgtype: 'm.image', body: '@qwen.png', filename: '@qwen.png', url: 'mxc://x/y' }),
      {},
      [],
    ],
    ['not a message', msg({ body: '@qwen' }, OWNER, 'm.reaction'), {}, []],
    [
      'redaction',
      { event_id: '$r', type: 'm.room.redaction', sender: OWNER, origin_server_ts: 1, redacts: '$e', content: {} },
      {},
      [],
    ],
    [
      'edit by a person',
      text('* @qwen hi', {
        'm.new_content': { msgtype: 'm.text', body: '@qwen hi' },
        'm.relates_to': { rel_type: 'm.replace', event_id: '$o' },
      }),
      {},
      [],
    ],
    [
      'a bot never addresses itself',
      { ...text('@qwen @coder', { 'org.agentroom.final': true }), sender: '@qwen:hs.test' },
      {},
      ['coder'],
    ],
    ['a bot streaming (not final) addresses nobody', { ...text('@coder'), sender: '@qwen:hs.test' }, {}, []],
    [
      "a bot's final edit addresses the bots it names",
      {
        ...text('* ask @coder', {
          'org.agentroom.final': true,
          'm.new_content': { msgtype: 'm.text', body: 'ask @coder' },
          'm.relates_to': { rel_type: 'm.replace', event_id: '$o' },
        }),
        sender: '@qwen:hs.test',
      },
      {},
      ['coder'],
    ],
    [
      'bots get no implicit addressing',
      { ...text('ok', { 'org.agentroom.final': true }), sender: '@qwen:hs.test' },
      { inReplyToSender: '@mistral:hs.test', threadParticipants: ['@coder:hs.test'] },
      [],
    ],
  ];
  it.each(cases)('%s', (_name, event, ctx, expected) => {
    expect(who(event, ctx)).toEqual(expected);
  });

  it("records a bot's final edit under the original message", () => {
    const edit = {
      ...text('* x', {
        'org.agentroom.final': true,
        'org.agentroom.turn': { origin: '$h', hop: 1, thread: '$t' },
        'm.new_content': { msgtype: 'm.text', body: 'x' },
        'm.relates_to': { rel_type: 'm.replace', event_id: '$orig' },
      }),
      sender: '@qwen:hs.test',
    };
    const view = messageView(edit, botIds);
    expect(view).toMatchObject({ triggerId: '$orig', turn: { origin: '$h', hop: 1 }, threadRoot: '$t', fromBot: true });
  });
});

describe('helpers', () => {
  it.each([
    ['> <@a:b> quoted\n> more\n\nreal', 'real'],
    ['no fallback', 'no fallback'],
    ['>not a fallback', '>not a fallback'],
  ])('stripReplyFallback(%j)', (input, out) => expect(stripReplyFallback(input)).toBe(out));

  it('textMentions keeps first-mention order and deduplicates', () => {
    expect(textMentions('@qwen @mistral:hs.test @QWEN', bots).map((b) => b.id)).toEqual(['qwen', 'mistral']);
  });
});
