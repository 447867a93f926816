// @vitest-environment jsdom
// The chat window's attachments: the event a sent file becomes (its caption per MSC2530, with mentions, in a reply
// or a thread), what a received one shows, the image a bot's answer is about, encryption that the bots decrypt (and
// the other way round), and the composer taking a file by the attach button and by paste, then sending it with the
// text as its caption and its upload's progress.
import { useEffect } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { decryptAttachment, encryptAttachment } from '../../main/core/attachments/media-crypto.ts';
import { useAttachmentDraft } from '../../renderer/src/components/attachment-draft.tsx';
import { Composer } from '../../renderer/src/components/composer.tsx';
import { Message } from '../../renderer/src/components/message.tsx';
import { decryptFile, encryptFile, type EncryptedFile } from '../../renderer/src/lib/attachment-crypto.ts';
import { attachmentMessage, repliedImage, shownAttachment } from '../../renderer/src/lib/attachments.ts';
import { buildMessageContent, type ComposerPart } from '../../renderer/src/lib/mention-content.ts';
import { projectTimeline } from '../../renderer/src/lib/timeline.ts';

afterEach(cleanup);

const pixel = { kind: 'pill', userId: '@pixel:agent-room.localhost', displayName: 'Pixel' } as const;
const facts = { name: 'cat.png', mimetype: 'image/png', size: 1234, w: 40, h: 30 };

describe('attachmentMessage', () => {
  it('a caption with a pill: the caption is the body (MSC2530), the bot is mentioned, the file is named', () => {
    const caption = buildMessageContent([pixel, { kind: 'text', text: ': what is this?' }]);
    expect(attachmentMessage(facts, { url: 'mxc://hs/abc' }, caption)).toEqual({
      msgtype: 'm.image',
      body: 'Pixel: what is this?',
      format: 'org.matrix.custom.html',
      formatted_body: '<a href="https://matrix.to/#/@pixel:agent-room.localhost">Pixel</a>: what is this?',
      'm.mentions': { user_ids: ['@pixel:agent-room.localhost'] },
      filename: 'cat.png',
      info: { mimetype: 'image/png', size: 1234, w: 40, h: 30 },
      url: 'mxc://hs/abc',
    });
  });
  it('no caption: the name is the body; in a thread it carries the thread relation; encrypted: `file`, no `url`', () => {
    const file = { url: 'mxc://hs/enc' } as EncryptedFile;
    const content = attachmentMessage(
      { name: 'notes.pdf', mimetype: 'application/pdf', size: 9 },
      { file },
      undefined,
      { thread: { rootId: '$root', latestEventId: '$last' } },
    );
    expect(content).toMatchObject({
      msgtype: 'm.file',
      body: 'notes.pdf',
      file,
      'm.mentions': {},
      'm.relates_to': { rel_type: 'm.thread', event_id: '$root', is_falling_back: true },
    });
    expect(content.url).toBeUndefined();
  });
});

describe('received attachments', () => {
  it('shows the name, the caption only when there is one, and where the bytes are', () => {
    expect(shownAttachment({ msgtype: 'm.image', body: 'cat.png', url: 'mxc://hs/a', info: { size: 3 } })).toEqual({
      kind: 'image',
      name: 'cat.png',
      mxc: 'mxc://hs/a',
      size: 3,
    });
    expect(
      shownAttachment({ msgtype: 'm.file', body: 'read it', filename: 'a.pdf', file: { url: 'mxc://hs/e' } }),
    ).toMatchObject({ kind: 'file', name: 'a.pdf', caption: 'read it', mxc: 'mxc://hs/e' });
    expect(shownAttachment({ msgtype: 'm.text', body: 'hi' })).toBeUndefined();
    expect(shownAttachment({ msgtype: 'm.image', body: 'x', url: 'https://evil/x.png' })).toBeUndefined();
  });
  it("a bot's answer is about the image it replies to, or the image the question replied to", () => {
    const ev = (eventId: string, content: Record<string, unknown>) => ({
      eventId,
      type: 'm.room.message',
      sender: '@owner:hs',
      ts: 1,
      content,
    });
    const reply = (id: string) => ({ 'm.relates_to': { 'm.in_reply_to': { event_id: id } } });
    const { byId } = projectTimeline([
      ev('$img', { msgtype: 'm.image', body: 'cat.png', url: 'mxc://hs/cat' }),
      ev('$q', { msgtype: 'm.text', body: '@pixel what is it?', ...reply('$img') }),
      ev('$a1', { msgtype: 'm.text', body: 'A cat.', ...reply('$img') }),
      ev('$a2', { msgtype: 'm.text', body: 'A cat.', ...reply('$q') }),
      ev('$t', { msgtype: 'm.text', body: 'text' }),
      ev('$a3', { msgtype: 'm.text', body: 'ok', ...reply('$t') }),
    ]);
    expect(repliedImage(byId.get('$a1')!, byId)?.mxc).toBe('mxc://hs/cat');
    expect(repliedImage(byId.get('$a2')!, byId)?.mxc).toBe('mxc://hs/cat');
    expect(repliedImage(byId.get('$a3')!, byId)).toBeUndefined();
  });
  it('a file card with its name, size and download; the caption below; a bare name not repeated', () => {
    const { byId } = projectTimeline([
      {
        eventId: '$f',
        type: 'm.room.message',
        sender: '@owner:hs',
        ts: 1,
        content: { msgtype: 'm.file', body: 'report.pdf', url: 'mxc://hs/r', info: { size: 2048 } },
      },
      {
        eventId: '$c',
        type: 'm.room.message',
        sender: '@owner:hs',
        ts: 2,
        content: { msgtype: 'm.file', body: 'Summarise please', filename: 'b.pdf', url: 'mxc://hs/b' },
      },
    ]);
    const { container } = render(
      <>
        <Message msg={byId.get('$f')!} sender={{ name: 'You' }} />
        <Message msg={byId.get('$c')!} sender={{ name: 'You' }} />
      </>,
    );
    const cards = screen.getAllByTestId('attachment-file');
    expect(cards[0]!.textContent).toMatch(/report\.pdf.*2(\.0)? KiB.*Download/);
    expect(screen.getByRole('button', { name: 'Download b.pdf' })).toBeTruthy();
    expect([...container.querySelectorAll('.msg-body')].map((b) => b.textContent)).toEqual(['Summarise please']);
  });
});

describe('encryption the bots read, and the other way round', () => {
  it('the window encrypts, core decrypts; core encrypts, the window decrypts; a changed byte fails', async () => {
    const plain = new TextEncoder().encode('the same bytes on both sides');
    const fromWindow = await encryptFile(plain.buffer as ArrayBuffer);
    const file = { ...fromWindow.file, url: 'mxc://hs/x' };
    expect(new TextDecoder().decode(await decryptAttachment(new Uint8Array(fromWindow.cipher), file, 'x'))).toBe(
      'the same bytes on both sides',
    );
    const fromCore = await encryptAttachment(plain);
    const back = await decryptFile(fromCore.cipher.slice().buffer as ArrayBuffer, fromCore.file);
    expect(new TextDecoder().decode(back)).toBe('the same bytes on both sides');
    const changed = fromCore.cipher.slice();
    changed[0] = changed[0]! ^ 1;
    await expect(decryptFile(changed.buffer as ArrayBuffer, fromCore.file)).rejects.toThrow(/does not match its hash/);
  });
});

function ComposerWithDraft(props: {
  onSendFile: (file: File, parts: ComposerPart[], onProgress: (f: number) => void) => Promise<void>;
  onReady?: (set: (f: File) => void) => void;
}) {
  const draft = useAttachmentDraft();
  useEffect(() => props.onReady?.(draft.set));
  return <Composer candidates={[]} onSend={() => undefined} draft={draft} onSendFile={props.onSendFile} />;
}

describe('<Composer> with a file', () => {
  it('the attach button takes a file; Send uploads it with the text as caption, showing progress', async () => {
    URL.createObjectURL = vi.fn(() => 'blob:preview');
    URL.revokeObjectURL = vi.fn();
    let finish!: () => void;
    let report!: (f: number) => void;
    const onSendFile = vi.fn(
      (_f: File, _p: ComposerPart[], onProgress: (f: number) => void) =>
        new Promise<void>((resolve) => {
          report = onProgress;
          finish = resolve;
        }),
    );
    render(<ComposerWithDraft onSendFile={onSendFile} />);
    expect((screen.getByRole('button', { name: 'Send message' }) as HTMLButtonElement).disabled).toBe(true);
    const file = new File([new Uint8Array([137, 80, 78, 71])], 'shot.png', { type: 'image/png' });
    fireEvent.change(screen.getByTestId('attach-input'), { target: { files: [file] } });
    expect(screen.getByRole('img', { name: 'Preview of shot.png' }).getAttribute('src')).toBe('blob:preview');
    expect((screen.getByRole('button', { name: 'Send message' }) as HTMLButtonElement).disabled).toBe(false);
    const editor = screen.getByRole('textbox', { name: 'Message' });
    editor.textContent = 'look at this';
    fireEvent.input(editor);
    fireEvent.keyDown(editor, { key: 'Enter' });
    expect(onSendFile).toHaveBeenCalledWith(file, [{ kind: 'text', text: 'look at this' }], expect.any(Function));
    await waitFor(() => screen.getByRole('progressbar', { name: 'Uploading shot.png' }));
    act(() => report(0.5));
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('50');
    await act(async () => finish());
    expect(screen.queryByTestId('attachment-draft')).toBeNull();
    expect(editor.textContent).toBe('');
  });
  it('a pasted image becomes the attachment; a failed upload says so and keeps the file', async () => {
    URL.createObjectURL = vi.fn(() => 'blob:pasted');
    URL.revokeObjectURL = vi.fn();
    render(<ComposerWithDraft onSendFile={() => Promise.reject(new Error('the homeserver refused it (413)'))} />);
    const editor = screen.getByRole('textbox', { name: 'Message' });
    const file = new File([new Uint8Array([1])], 'image.png', { type: 'image/png' });
    fireEvent.paste(editor, { clipboardData: { files: [file], getData: () => '' } });
    expect(screen.getByRole('img', { name: 'Preview of image.png' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Send message' }));
    await waitFor(() => screen.getByText(/Not sent: the homeserver refused it \(413\)\. Try again\./));
    expect(screen.getByTestId('attachment-draft').textContent).toContain('image.png');
  });
});
