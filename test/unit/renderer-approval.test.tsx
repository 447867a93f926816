// @vitest-environment jsdom
// A bot's tool approval request in the window: Allow and Deny send the reaction the bot waits for; once the bot
// edits the notice with the outcome the buttons go. A reply's tool call opens on its details.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import type { MatrixClient } from 'matrix-js-sdk';
import { Message } from '../../renderer/src/components/message.tsx';
import { projectTimeline, type RawEvent } from '../../renderer/src/lib/timeline.ts';
import { textContent } from '../../main/core/bots/markdown.ts';
import { detailsBlock } from '../../main/core/bots/tool-call.ts';

afterEach(cleanup);

const BOT = '@writer:s';
function fakeClient() {
  const sendEvent = vi.fn(async () => ({ event_id: '$r' }));
  const room = { roomId: '!room:s', findEventById: (id: string) => (id === '$n' ? {} : undefined) };
  return { client: { getRooms: () => [room], sendEvent } as unknown as MatrixClient, sendEvent };
}
const notice = (state: string): RawEvent => ({
  eventId: '$n',
  type: 'm.room.message',
  sender: BOT,
  ts: 1,
  content: {
    msgtype: 'm.notice',
    body: 'wants to run files/write_file',
    'org.agentroom.approval': { server: 'files', tool: 'write_file', state },
  },
});

describe('tool approval in the window', () => {
  it('Allow sends ✅ on the request; Deny would send ❌', async () => {
    const { client, sendEvent } = fakeClient();
    const msg = projectTimeline([notice('pending')]).main[0]!;
    render(<Message msg={msg} sender={{ name: 'Writer' }} client={client} />);
    expect(screen.getByRole('group', { name: 'Approve files/write_file' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Allow' }));
    expect(sendEvent).toHaveBeenCalledWith('!room:s', 'm.reaction', {
      'm.relates_to': { rel_type: 'm.annotation', event_id: '$n', key: '✅' },
    });
    expect(screen.getByRole('button', { name: 'Allowing…' })).toHaveProperty('disabled', true);
  });

  it('no buttons once the bot edited the request with the outcome', () => {
    const { client } = fakeClient();
    const t = projectTimeline([
      notice('pending'),
      {
        eventId: '$e',
        type: 'm.room.message',
        sender: BOT,
        ts: 2,
        content: {
          msgtype: 'm.notice',
          body: '* done',
          'm.new_content': { msgtype: 'm.notice', body: 'done', 'org.agentroom.approval': { state: 'allowed' } },
          'm.relates_to': { rel_type: 'm.replace', event_id: '$n' },
        },
      },
    ]);
    render(<Message msg={t.main[0]!} sender={{ name: 'Writer' }} client={client} />);
    expect(screen.queryByRole('group')).toBeNull();
  });

  it("a reply's tool call is one line that opens on its arguments and result; its plain body is the line alone", () => {
    const markdown = `${detailsBlock('🔧 everything/echo (12 ms)', '{"message":"hi"}', 'Echo: hi')}\n\nThe tool said: Echo: hi`;
    const content = textContent(markdown);
    expect(content.body).toBe('🔧 everything/echo (12 ms)\n\nThe tool said: Echo: hi');
    const { client } = fakeClient();
    const msg = projectTimeline([
      { eventId: '$m', type: 'm.room.message', sender: BOT, ts: 3, content: { msgtype: 'm.text', ...content } },
    ]).main[0]!;
    const { container } = render(<Message msg={msg} sender={{ name: 'Bot' }} client={client} />);
    const details = container.querySelector('details')!;
    expect(details.querySelector('summary')!.textContent).toBe('🔧 everything/echo (12 ms)');
    expect(details.textContent).toContain('{"message":"hi"}');
    expect(details.textContent).toContain('Echo: hi');
    expect(details.open).toBe(false);
  });
});
