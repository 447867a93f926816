// The decryption-failure watcher's decisions: when to speak, which failures matter, what it says.
import { describe, expect, it } from 'vitest';
import { caresAbout, failureNotice, shouldAnnounce } from '../../main/core/crypto/decryption-watcher.ts';

describe('decryption failure decisions', () => {
  it('announces once per room within the cooldown', () => {
    const table: Array<[number | undefined, number, number, boolean]> = [
      [undefined, 1_000, 600_000, true],
      [1_000, 1_001, 600_000, false],
      [1_000, 600_999, 600_000, false],
      [1_000, 601_000, 600_000, true],
    ];
    for (const [last, now, cooldown, want] of table) expect(shouldAnnounce(last, now, cooldown)).toBe(want);
  });

  it('cares about recent messages from others only', () => {
    const me = '@bot:x';
    const table: Array<[{ sender: string | undefined; ts: number; redacted: boolean }, boolean]> = [
      [{ sender: '@owner:x', ts: 100, redacted: false }, true],
      [{ sender: me, ts: 100, redacted: false }, false],
      [{ sender: undefined, ts: 100, redacted: false }, false],
      [{ sender: '@owner:x', ts: 49, redacted: false }, false],
      [{ sender: '@owner:x', ts: 100, redacted: true }, false],
    ];
    for (const [event, want] of table) expect(caresAbout(event, me, 50)).toBe(want);
  });

  it('names the sender and says what happens next', () => {
    expect(failureNotice('Ada')).toBe(
      "I can't read a message from Ada yet: its room key hasn't reached me. I've asked for it and will answer as soon as it arrives.",
    );
  });
});
