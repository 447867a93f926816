// When the events a sync carried hold all the history a reply's context can use (no /messages needed).
import { describe, expect, it } from 'vitest';
import { buildContext, historyComplete } from '../../main/core/bots/context.ts';
import type { RawEvent } from '../../main/core/bots/types.ts';

const OWNER = '@owner:hs.test';
const QWEN = '@qwen:hs.test';
let ts = 0;
const m = (id: string, body: string, extra: Record<string, unknown> = {}): RawEvent => ({
  event_id: id,
  type: 'm.room.message',
  sender: OWNER,
  origin_server_ts: ++ts,
  content: { msgtype: 'm.text', body, ...extra },
});
const notice = (id: string): RawEvent => m(id, 'a notice', { msgtype: 'm.notice' });
const redaction = (id: string, target: string): RawEvent => ({
  event_id: id,
  type: 'm.room.redaction',
  sender: OWNER,
  origin_server_ts: ++ts,
  redacts: target,
  content: {},
});

describe('historyComplete', () => {
  it('is true with a !reset at or before the trigger, false with one after it', () => {
    expect(historyComplete([m('$1', 'old'), m('$2', '!reset'), m('$3', '@qwen hi')], '$3', 10)).toBe(true);
    expect(historyComplete([m('$1', 'old'), m('$2', '@qwen hi'), m('$3', '!reset')], '$2', 10)).toBe(false);
  });

  it('is true when a full context of messages leads up to the trigger; notices and commands do not count', () => {
    const three = [m('$1', 'a'), m('$2', 'b'), m('$3', '@qwen c')];
    expect(historyComplete(three, '$3', 3)).toBe(true);
    expect(historyComplete(three, '$3', 4)).toBe(false);
    expect(historyComplete([m('$1', 'a'), notice('$2'), m('$3', '!models'), m('$4', '@qwen c')], '$4', 3)).toBe(false);
  });

  it('a redacted !reset is no boundary', () => {
    expect(historyComplete([m('$1', '!reset'), redaction('$2', '$1'), m('$3', '@qwen hi')], '$3', 10)).toBe(false);
  });

  it('when true, older events change nothing the context holds', async () => {
    const older = [
      m('$o1', 'older one'),
      m('$o2', 'older two'),
      m('$e', '* edited', {
        'm.new_content': { msgtype: 'm.text', body: 'edited' },
        'm.relates_to': { rel_type: 'm.replace', event_id: '$o1' },
      }),
    ];
    const recent = [m('$1', 'a'), m('$2', 'b'), m('$3', '@qwen c')];
    expect(historyComplete(recent, '$3', 3)).toBe(true);
    const opts = {
      bot: { userId: QWEN, displayName: 'Qwen', systemPrompt: 'You are {display_name}.' },
      participants: [],
      triggerId: '$3',
      maxMessages: 3,
      maxTokens: 1000,
      countTokens: (t: string) => t.length,
    };
    expect(await buildContext(recent, opts)).toEqual(await buildContext([...older, ...recent], opts));
  });
});
