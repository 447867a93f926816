// @vitest-environment jsdom
// The composer's mentions: autocomplete produces a pill, and the sent content matches what Element sends.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { Composer } from '../../renderer/src/components/composer.tsx';
import { findMentionQuery, matchCandidates, type MentionCandidate } from '../../renderer/src/lib/autocomplete.ts';
import { buildMessageContent, type MessageContent } from '../../renderer/src/lib/mention-content.ts';

afterEach(cleanup);

const qwen = { kind: 'pill', userId: '@qwen:agent-room.localhost', displayName: 'Qwen' } as const;
const mistral = { kind: 'pill', userId: '@mistral:agent-room.localhost', displayName: 'Mistral' } as const;

describe('buildMessageContent', () => {
  const cases: [string, Parameters<typeof buildMessageContent>[0], Partial<MessageContent>][] = [
    [
      'plain text: no formatted_body, empty m.mentions',
      [{ kind: 'text', text: 'hello there' }],
      { body: 'hello there', 'm.mentions': {} },
    ],
    [
      'a pill at the start',
      [qwen, { kind: 'text', text: ': explain quicksort' }],
      {
        body: 'Qwen: explain quicksort',
        format: 'org.matrix.custom.html',
        formatted_body: '<a href="https://matrix.to/#/@qwen:agent-room.localhost">Qwen</a>: explain quicksort',
        'm.mentions': { user_ids: ['@qwen:agent-room.localhost'] },
      },
    ],
    [
      'two pills mid-sentence, one repeated',
      [
        { kind: 'text', text: 'ask ' },
        qwen,
        { kind: 'text', text: ' and ' },
        mistral,
        { kind: 'text', text: ' then ' },
        qwen,
      ],
      {
        body: 'ask Qwen and Mistral then Qwen',
        formatted_body:
          'ask <a href="https://matrix.to/#/@qwen:agent-room.localhost">Qwen</a> and <a href="https://matrix.to/#/@mistral:agent-room.localhost">Mistral</a> then <a href="https://matrix.to/#/@qwen:agent-room.localhost">Qwen</a>',
        'm.mentions': { user_ids: ['@qwen:agent-room.localhost', '@mistral:agent-room.localhost'] },
      },
    ],
    [
      'markdown',
      [{ kind: 'text', text: 'use **bold** <b>' }],
      { body: 'use **bold** <b>', formatted_body: 'use <strong>bold</strong> &lt;b&gt;' },
    ],
    [
      'a display name with HTML is escaped',
      [
        { kind: 'pill', userId: '@x:s', displayName: '<i>X</i>' },
        { kind: 'text', text: ' hi' },
      ],
      { formatted_body: '<a href="https://matrix.to/#/@x:s">&lt;i&gt;X&lt;/i&gt;</a> hi' },
    ],
    ['plain multi-line: no formatted_body', [{ kind: 'text', text: 'one\ntwo' }], { body: 'one\ntwo' }],
    [
      'a pill and a line break',
      [qwen, { kind: 'text', text: ': one\ntwo' }],
      {
        body: 'Qwen: one\ntwo',
        formatted_body: '<a href="https://matrix.to/#/@qwen:agent-room.localhost">Qwen</a>: one<br>two',
      },
    ],
  ];
  it.each(cases)('%s', (_name, parts, expected) => {
    expect(buildMessageContent(parts)).toMatchObject({ msgtype: 'm.text', ...expected });
    if (!('formatted_body' in expected)) expect(buildMessageContent(parts)).not.toHaveProperty('formatted_body');
  });

  it('replies mention the replied-to sender and carry m.in_reply_to; threads carry m.thread', () => {
    const reply = buildMessageContent([{ kind: 'text', text: 'ok' }], {
      replyTo: { eventId: '$e', sender: '@qwen:s' },
    });
    expect(reply?.['m.relates_to']).toEqual({ 'm.in_reply_to': { event_id: '$e' } });
    expect(reply?.['m.mentions']).toEqual({ user_ids: ['@qwen:s'] });
    const thread = buildMessageContent([{ kind: 'text', text: 'ok' }], {
      thread: { rootId: '$root', latestEventId: '$last' },
    });
    expect(thread?.['m.relates_to']).toEqual({
      rel_type: 'm.thread',
      event_id: '$root',
      is_falling_back: true,
      'm.in_reply_to': { event_id: '$last' },
    });
  });

  it('sends nothing for blank input', () => {
    expect(buildMessageContent([{ kind: 'text', text: '  \n ' }])).toBeUndefined();
  });
});

describe('autocomplete', () => {
  const people: MentionCandidate[] = [
    { userId: '@qwen:s', displayName: 'Qwen', isBot: true },
    { userId: '@quinn:s', displayName: 'Quinn Smith', isBot: false },
    { userId: '@mistral:s', displayName: 'Mistral', isBot: true },
  ];
  it.each([
    ['@qw', { query: 'qw', start: 0 }],
    ['hi @Mis', { query: 'Mis', start: 3 }],
    ['mail a@b', undefined],
    ['@qw ', undefined],
  ])('finds the query in %j', (text, expected) => expect(findMentionQuery(text)).toEqual(expected));
  it('ranks prefix matches and bots first', () => {
    expect(matchCandidates('q', people).map((c) => c.displayName)).toEqual(['Qwen', 'Quinn Smith']);
    expect(matchCandidates('smith', people).map((c) => c.displayName)).toEqual(['Quinn Smith']);
  });
});

function typeInto(editor: HTMLElement, text: string, node?: Text) {
  const target = node ?? document.createTextNode('');
  if (!node) editor.appendChild(target);
  target.nodeValue = (target.nodeValue ?? '') + text;
  const range = document.createRange();
  range.setStart(target, target.length);
  range.collapse(true);
  const sel = window.getSelection()!;
  sel.removeAllRanges();
  sel.addRange(range);
  fireEvent.input(editor);
}

describe('<Composer>', () => {
  const candidates: MentionCandidate[] = [
    { userId: '@qwen:agent-room.localhost', displayName: 'Qwen', detail: 'qwen2.5', isBot: true },
    { userId: '@owner2:agent-room.localhost', displayName: 'Sam', isBot: false },
  ];

  it('turns "@qw" + Enter into a pill and sends Element-style content on Enter', () => {
    const onSend = vi.fn();
    render(<Composer candidates={candidates} onSend={onSend} />);
    const editor = screen.getByRole('textbox', { name: 'Message' });
    typeInto(editor, '@qw');
    const options = screen.getAllByRole('option');
    expect(options.map((o) => o.textContent)).toEqual([expect.stringContaining('Qwen')]);
    fireEvent.keyDown(editor, { key: 'Enter' });
    expect(screen.queryByRole('listbox')).toBeNull();
    const pill = editor.querySelector('.pill') as HTMLElement;
    expect(pill.textContent).toBe('Qwen');
    expect(pill.getAttribute('contenteditable')).toBe('false');
    // The caret sits after the ": " that follows a pill at the start; keep typing there.
    typeInto(editor, 'hello', pill.nextSibling as Text);
    fireEvent.keyDown(editor, { key: 'Enter', shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
    fireEvent.keyDown(editor, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledTimes(1);
    expect(onSend.mock.calls[0]![0]).toEqual({
      msgtype: 'm.text',
      body: 'Qwen: hello',
      format: 'org.matrix.custom.html',
      formatted_body: '<a href="https://matrix.to/#/@qwen:agent-room.localhost">Qwen</a>: hello',
      'm.mentions': { user_ids: ['@qwen:agent-room.localhost'] },
    });
    expect(editor.textContent).toBe('');
  });

  it('navigates suggestions with the arrow keys and closes them with Escape', () => {
    render(<Composer candidates={candidates} onSend={() => undefined} />);
    const editor = screen.getByRole('textbox', { name: 'Message' });
    typeInto(editor, 'hi @');
    expect(screen.getAllByRole('option')).toHaveLength(2);
    fireEvent.keyDown(editor, { key: 'ArrowDown' });
    expect(screen.getAllByRole('option')[1]!.getAttribute('aria-selected')).toBe('true');
    expect(editor.getAttribute('aria-activedescendant')).toBe('mention-suggestions-1');
    fireEvent.keyDown(editor, { key: 'Escape' });
    expect(screen.queryByRole('listbox')).toBeNull();
  });

  it('shows a Stop button while a bot streams', () => {
    const onStop = vi.fn();
    render(<Composer candidates={[]} onSend={() => undefined} streaming onStop={onStop} />);
    fireEvent.click(screen.getByRole('button', { name: "Stop the bot's reply" }));
    expect(onStop).toHaveBeenCalled();
  });
});
