// @vitest-environment jsdom
// The chat window in encrypted rooms: matrix-js-sdk events before and after decryption as the timeline sees them,
// placeholders that give way when keys arrive, streamed edits that arrive encrypted, the header's lock, the
// recovery key card and the secret-storage callback.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MatrixEvent } from 'matrix-js-sdk';
import { DecryptionFailureCode } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { encodeRecoveryKey } from 'matrix-js-sdk/lib/crypto-api/recovery-key.js';
import { DecryptionError, type CryptoBackend } from 'matrix-js-sdk/lib/common-crypto/CryptoBackend.js';
import { encryptionLabel } from '../../renderer/src/components/chat-view.tsx';
import {
  dismissRecoveryKey,
  RecoveryKeyCard,
  recoveryKeyDismissed,
} from '../../renderer/src/components/recovery-key-card.tsx';
import { Timeline } from '../../renderer/src/components/timeline.tsx';
import { projectTimeline, type RawEvent } from '../../renderer/src/lib/timeline.ts';
import { cryptoStorePrefix, recoveryKeyCallbacks } from '../../renderer/src/matrix/crypto.ts';
import { toRawEvent } from '../../renderer/src/matrix/hooks.ts';

afterEach(cleanup);

const BOT = '@qwen:s';
const ME = '@owner:s';
const ROOM = '!team:s';
let ts = 1_000;

function encrypted(eventId: string, sender: string, relatesTo?: Record<string, unknown>): MatrixEvent {
  return new MatrixEvent({
    event_id: eventId,
    room_id: ROOM,
    sender,
    origin_server_ts: ts++,
    type: 'm.room.encrypted',
    content: {
      algorithm: 'm.megolm.v1.aes-sha2',
      ciphertext: 'AwgA…',
      session_id: 's1',
      sender_key: 'k',
      device_id: 'D',
      ...(relatesTo ? { 'm.relates_to': relatesTo } : {}),
    },
  });
}

/** The crypto backend's one call that MatrixEvent.attemptDecryption makes: a clear event, or a DecryptionError. */
function backend(result: Record<string, unknown> | DecryptionError): CryptoBackend {
  return {
    decryptEvent: () =>
      result instanceof DecryptionError ? Promise.reject(result) : Promise.resolve({ clearEvent: result }),
  } as unknown as CryptoBackend;
}

const text = (body: string, extra: Record<string, unknown> = {}) => ({
  type: 'm.room.message',
  content: { msgtype: 'm.text', body, ...extra },
});
const streamEdit = (target: string, body: string, final = false) =>
  text(`* ${body}`, {
    'm.new_content': { msgtype: 'm.text', body },
    'm.relates_to': { rel_type: 'm.replace', event_id: target },
    ...(final ? { 'org.agentroom.final': true } : {}),
  });

describe('toRawEvent on encrypted events', () => {
  it('shows an event waiting for decryption as encrypted, keeping its (clear) relation', () => {
    const raw = toRawEvent(encrypted('$e', BOT, { rel_type: 'm.replace', event_id: '$a' }));
    expect(raw).toMatchObject({ type: 'm.room.encrypted', decryption: 'pending', e2e: true });
    expect(raw.content['m.relates_to']).toEqual({ rel_type: 'm.replace', event_id: '$a' });
  });

  it('gives the clear type and content once decrypted', async () => {
    const ev = encrypted('$a', BOT);
    await ev.attemptDecryption(backend(text('Quicksort')));
    const raw = toRawEvent(ev);
    expect(raw).toMatchObject({ type: 'm.room.message', e2e: true, content: { body: 'Quicksort' } });
    expect(raw.decryption).toBeUndefined();
  });

  it('tells a missing key from a message sent before this device existed', async () => {
    const missing = encrypted('$m', BOT);
    await missing.attemptDecryption(
      backend(new DecryptionError(DecryptionFailureCode.MEGOLM_UNKNOWN_INBOUND_SESSION_ID, 'no key')),
    );
    expect(toRawEvent(missing)).toMatchObject({ type: 'm.room.encrypted', decryption: 'failed' });
    const old = encrypted('$h', BOT);
    await old.attemptDecryption(
      backend(new DecryptionError(DecryptionFailureCode.HISTORICAL_MESSAGE_NO_KEY_BACKUP, 'before login')),
    );
    expect(toRawEvent(old)).toMatchObject({ type: 'm.room.encrypted', decryption: 'historical' });
  });
});

describe('projectTimeline with encrypted events', () => {
  const raw = (eventId: string, sender: string, over: Partial<RawEvent>): RawEvent => ({
    eventId,
    sender,
    ts: ts++,
    type: 'm.room.message',
    content: {},
    ...over,
  });

  it("keeps an earlier edit's text while the newest edit is still encrypted", () => {
    const t = projectTimeline([
      raw('$a', BOT, { content: { msgtype: 'm.text', body: 'Quick' }, e2e: true }),
      raw('$e1', BOT, { content: streamEdit('$a', 'Quicksort picks').content, e2e: true }),
      raw('$e2', BOT, {
        type: 'm.room.encrypted',
        content: { 'm.relates_to': { rel_type: 'm.replace', event_id: '$a' } },
        decryption: 'pending',
        e2e: true,
      }),
    ]);
    expect(t.main.map((m) => m.eventId)).toEqual(['$a']);
    expect(t.main[0]).toMatchObject({
      content: { body: 'Quicksort picks' },
      encrypted: false,
      e2e: true,
      edited: true,
    });
  });

  it('shows an undecryptable message as a placeholder, and its text when a decrypted edit carries it', () => {
    const utd = raw('$a', BOT, { type: 'm.room.encrypted', content: {}, decryption: 'failed', e2e: true });
    expect(projectTimeline([utd]).main[0]).toMatchObject({ encrypted: true, decryption: 'failed' });
    const t = projectTimeline([
      utd,
      raw('$e', BOT, { content: streamEdit('$a', 'whole answer', true).content, e2e: true }),
    ]);
    expect(t.main[0]).toMatchObject({ encrypted: false, final: true, content: { body: 'whole answer' } });
  });
});

describe('<Timeline> as keys arrive', () => {
  const senderInfo = (id: string) => (id === BOT ? { name: 'Qwen', model: 'qwen2.5' } : { name: 'You' });
  const view = (events: MatrixEvent[]) => {
    const timeline = projectTimeline(events.map(toRawEvent));
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

  it('replaces "Unable to decrypt" with the text once the key arrives, and grows a reply whose edits arrive encrypted', async () => {
    const first = encrypted('$a', BOT);
    await first.attemptDecryption(
      backend(new DecryptionError(DecryptionFailureCode.MEGOLM_UNKNOWN_INBOUND_SESSION_ID, 'no key yet')),
    );
    const events = [first];
    const { rerender } = render(view(events));
    const body = () => document.querySelector('[data-event-id="$a"] .msg-body')!;
    expect(body().textContent?.trim()).toBe('Unable to decrypt this message yet: waiting for its keys.');

    // The room key arrives (to-device or key backup): matrix-js-sdk decrypts the same event again.
    await first.attemptDecryption(backend(text('Quicksort')), { isRetry: true });
    rerender(view(events));
    expect(body().textContent).toBe('Quicksort');

    const e1 = encrypted('$e1', BOT, { rel_type: 'm.replace', event_id: '$a' });
    events.push(e1);
    rerender(view(events));
    // The edit is still encrypted: the message keeps its text, and no extra article shows.
    expect(body().textContent).toBe('Quicksort');
    expect(screen.getAllByRole('article')).toHaveLength(1);
    await e1.attemptDecryption(backend(streamEdit('$a', 'Quicksort picks a **pivot**')));
    rerender(view(events));
    expect(body().textContent).toBe('Quicksort picks a pivot');

    const e2 = encrypted('$e2', BOT, { rel_type: 'm.replace', event_id: '$a' });
    await e2.attemptDecryption(backend(streamEdit('$a', 'Quicksort picks a **pivot** and partitions the rest.', true)));
    events.push(e2);
    rerender(view(events));
    expect(body().textContent).toBe('Quicksort picks a pivot and partitions the rest.');
    expect(document.querySelector('[data-event-id="$a"]')!.getAttribute('data-final')).toBe('true');
  });

  it('says when a message was sent before this window could read the room', async () => {
    const old = encrypted('$h', BOT);
    await old.attemptDecryption(
      backend(new DecryptionError(DecryptionFailureCode.HISTORICAL_MESSAGE_USER_NOT_JOINED, 'before')),
    );
    render(view([old]));
    expect(screen.getByText(/sent before this window could read the room/)).toBeTruthy();
  });
});

describe('encryptionLabel', () => {
  it.each([
    ['unencrypted room', false, {}, undefined],
    ['crypto failed to start', true, { error: 'no wasm' }, { warn: true, title: /not readable here: no wasm/ }],
    ['trust setup failed', true, { trustError: 'backup' }, { warn: true, title: /could not be verified: backup/ }],
    ['cross-signed', true, { crossSigned: true }, { warn: false, title: /cross-signed/ }],
    ['not yet signed', true, {}, { warn: false, title: /not verified yet/ }],
  ])('%s', (_name, roomEncrypted, state, expected) => {
    const label = encryptionLabel(roomEncrypted, state);
    if (!expected) return expect(label).toBeUndefined();
    expect(label).toMatchObject({ text: 'Encrypted', warn: expected.warn });
    expect(label!.title).toMatch(expected.title);
  });
});

describe('recovery key', () => {
  it('shows the key with a copy button and goes away for good when saved', async () => {
    const writes: string[] = [];
    const onDismiss = vi.fn();
    render(
      <RecoveryKeyCard
        recoveryKey="EsTc abcd"
        onDismiss={onDismiss}
        writeClipboard={async (t) => void writes.push(t)}
      />,
    );
    expect(screen.getByRole('heading', { name: 'Save your recovery key' })).toBeTruthy();
    expect(screen.getByTestId('recovery-key').textContent).toBe('EsTc abcd');
    fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
    await screen.findByRole('button', { name: 'Copied' });
    expect(writes).toEqual(['EsTc abcd']);
    fireEvent.click(screen.getByRole('button', { name: 'I saved it' }));
    expect(onDismiss).toHaveBeenCalledOnce();

    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    };
    expect(recoveryKeyDismissed(storage, ME)).toBe(false);
    dismissRecoveryKey(storage, ME);
    expect(recoveryKeyDismissed(storage, ME)).toBe(true);
    expect(recoveryKeyDismissed(storage, '@other:s')).toBe(false);
  });

  it('opens secret storage with the decoded recovery key, and not without one', async () => {
    const key = new Uint8Array(32).map((_, i) => i);
    const encoded = encodeRecoveryKey(key)!;
    const keys = { keyA: { algorithm: 'm.secret_storage.v2.aes-hmac-sha2' } } as never;
    const answer = await recoveryKeyCallbacks(async () => encoded).getSecretStorageKey!(
      { keys },
      'm.cross_signing.master',
    );
    expect(answer).not.toBeNull();
    expect(answer![0]).toBe('keyA');
    expect([...answer![1]]).toEqual([...key]);
    expect(
      await recoveryKeyCallbacks(async () => undefined).getSecretStorageKey!({ keys }, 'm.cross_signing.master'),
    ).toBeNull();
  });

  it('keeps one crypto store per device', () => {
    expect(cryptoStorePrefix(ME, 'DEV1')).not.toBe(cryptoStorePrefix(ME, 'DEV2'));
  });
});
