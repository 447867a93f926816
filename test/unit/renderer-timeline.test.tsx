// @vitest-environment jsdom
// The timeline applies edits: a streaming reply (a message, then m.replace edits) grows in place.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import { Timeline } from '../../renderer/src/components/timeline.tsx';
import { firstUnreadIndex, projectTimeline, type RawEvent } from '../../renderer/src/lib/timeline.ts';

afterEach(cleanup);

const BOT = '@qwen:s';
const ME = '@owner:s';
let ts = 1_000;
function msg(eventId: string, sender: string, body: string, extra: Record<string, unknown> = {}): RawEvent {
  return { eventId, type: 'm.room.message', sender, ts: ts++, content: { msgtype: 'm.text', body, ...extra } };
}
function edit(eventId: string, target: string, body: string, sender = BOT): RawEvent {
  return msg(eventId, sender, `* ${body}`, {
    'm.new_content': { msgtype: 'm.text', body },
    'm.relates_to': { rel_type: 'm.replace', event_id: target },
  });
}

describe('projectTimeline', () => {
  it('applies the latest edit from the same sender and hides edit events', () => {
    const t = projectTimeline([
      msg('$a', BOT, 'Quick'),
      edit('$e1', '$a', 'Quicksort picks'),
      edit('$e2', '$a', 'Quicksort picks a pivot.'),
      edit('$x', '$a', 'hijacked', ME),
    ]);
    expect(t.main.map((m) => m.eventId)).toEqual(['$a']);
    expect(t.main[0]!.content.body).toBe('Quicksort picks a pivot.');
    expect(t.main[0]!.edited).toBe(true);
  });

  it('marks a reply complete only when its latest edit (or a whole first message) carries the final marker', () => {
    const final = { 'org.agentroom.final': true };
    const streaming = projectTimeline([msg('$a', BOT, 'Quick'), edit('$e1', '$a', 'Quicksort picks')]);
    expect(streaming.main[0]!.final).toBe(false);
    const done = projectTimeline([
      msg('$a', BOT, 'Quick'),
      edit('$e1', '$a', 'Quicksort picks'),
      {
        ...edit('$e2', '$a', 'Quicksort picks a pivot.'),
        content: { ...edit('$e2', '$a', 'Quicksort picks a pivot.').content, ...final },
      },
    ]);
    expect(done.main[0]!.final).toBe(true);
    expect(projectTimeline([msg('$w', BOT, 'Whole answer.', final)]).main[0]!.final).toBe(true);
    expect(projectTimeline([msg('$p', ME, 'no marker')]).main[0]!.final).toBe(false);
  });

  it('groups thread replies under their root and links replies', () => {
    const t = projectTimeline([
      msg('$root', ME, 'root'),
      msg('$t1', BOT, 'in thread', {
        'm.relates_to': {
          rel_type: 'm.thread',
          event_id: '$root',
          is_falling_back: true,
          'm.in_reply_to': { event_id: '$root' },
        },
      }),
      msg('$r', BOT, 'a reply', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$root' } } }),
    ]);
    expect(t.main.map((m) => m.eventId)).toEqual(['$root', '$r']);
    expect(t.main[0]!.threadReplies).toBe(1);
    expect(t.threads.get('$root')!.map((m) => m.eventId)).toEqual(['$t1']);
    expect(t.byId.get('$t1')!.replyTo).toBeUndefined();
    expect(t.main[1]!.replyTo).toBe('$root');
  });

  it('places the unread marker after the read receipt at the first message from someone else', () => {
    const t = projectTimeline([msg('$1', BOT, 'a'), msg('$2', ME, 'b'), msg('$3', BOT, 'c')]);
    expect(firstUnreadIndex(t.main, '$1', ME)).toBe(2);
    expect(firstUnreadIndex(t.main, '$3', ME)).toBe(-1);
  });
});

describe('<Timeline>', () => {
  const senderInfo = (id: string) => (id === BOT ? { name: 'Qwen', model: 'qwen2.5' } : { name: 'You' });
  const view = (events: RawEvent[]) => {
    const timeline = projectTimeline(events);
    return (
      <Timeline
        label="Messages"
        timeline={timeline}
        messages={timeline.main}
        senderInfo={senderInfo}
        streamingSenders={new Set([BOT])}
      />
    );
  };

  it('grows a streamed reply in place as edits arrive', () => {
    const events = [
      msg('$q', ME, 'Qwen: explain quicksort', { 'm.mentions': { user_ids: [BOT] } }),
      msg('$a', BOT, 'Quicksort'),
    ];
    const { rerender } = render(view(events));
    const log = screen.getByRole('log', { name: 'Messages' });
    const reply = () => log.querySelector('[data-event-id="$a"] .msg-body')!;
    expect(reply().textContent).toBe('Quicksort');
    expect(within(log).getAllByRole('article')).toHaveLength(2);

    events.push(edit('$e1', '$a', 'Quicksort picks a **pivot**'));
    rerender(view(events));
    expect(reply().textContent).toBe('Quicksort picks a pivot');
    expect(reply().querySelector('strong')?.textContent).toBe('pivot');

    events.push(edit('$e2', '$a', 'Quicksort picks a **pivot** and partitions the rest.'));
    rerender(view(events));
    expect(reply().textContent).toBe('Quicksort picks a pivot and partitions the rest.');
    // Still two messages: edits never show as messages of their own.
    expect(within(log).getAllByRole('article')).toHaveLength(2);
    expect(log.querySelector('[data-event-id="$a"]')!.classList.contains('msg-streaming')).toBe(true);
    expect(within(log).getByText('(edited)')).toBeTruthy();
    expect(within(log).getByText('qwen2.5')).toBeTruthy();
  });

  it('shows the quoted message of a reply', () => {
    render(
      view([
        msg('$1', BOT, 'the original'),
        msg('$2', ME, 'my answer', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$1' } } }),
      ]),
    );
    const quote = screen.getByRole('button', { name: 'In reply to Qwen' });
    expect(quote.textContent).toContain('the original');
  });
});
