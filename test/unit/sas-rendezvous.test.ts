// The rendezvous that stands in for a person comparing two screens: both sides must report the same SAS, for a
// verification the owner's key device announced, from that device only.
import { describe, expect, it } from 'vitest';
import type { ShowSasCallbacks } from 'matrix-js-sdk/lib/crypto-api/verification.js';
import { SasRendezvous } from '../../main/core/crypto/verification.ts';

const sas = (decimal: [number, number, number] | undefined, emoji?: string[]): ShowSasCallbacks =>
  ({
    sas: { ...(decimal ? { decimal } : {}), ...(emoji ? { emoji: emoji.map((e) => ['?', e]) } : {}) },
    confirm: async () => {},
    mismatch: () => {},
    cancel: () => {},
  }) as unknown as ShowSasCallbacks;

describe('SasRendezvous', () => {
  it('confirms both sides when they computed the same SAS, in either order', async () => {
    const r = new SasRendezvous();
    r.expect('@a:x', 'DEV', 'KEYS1');
    const bot = r.compare('@a:x', 'DEV', 'bot', sas([1, 2, 3], ['Dog', 'Cat']));
    expect(await r.compare('@a:x', 'DEV', 'owner', sas([1, 2, 3], ['Dog', 'Cat']))).toBe(true);
    expect(await bot).toBe(true);
  });

  it('refuses both sides when the SAS differ (a man in the middle)', async () => {
    const r = new SasRendezvous();
    r.expect('@a:x', 'DEV', 'KEYS1');
    const owner = r.compare('@a:x', 'DEV', 'owner', sas([1, 2, 3]));
    expect(await r.compare('@a:x', 'DEV', 'bot', sas([1, 2, 4]))).toBe(false);
    expect(await owner).toBe(false);
  });

  it('is expected only from the announcing owner device, and compares nothing unannounced', async () => {
    const r = new SasRendezvous();
    expect(await r.compare('@a:x', 'DEV', 'bot', sas([1, 2, 3]))).toBe(false);
    r.expect('@a:x', 'DEV', 'KEYS1');
    expect(r.isExpected('@a:x', 'DEV', 'KEYS1')).toBe(true);
    expect(r.isExpected('@a:x', 'DEV', 'ELEMENT')).toBe(false);
    expect(r.isExpected('@a:x', 'DEV', undefined)).toBe(false);
    expect(r.isExpected('@a:x', 'OTHER', 'KEYS1')).toBe(false);
  });

  it('refuses an empty SAS, releases a waiting side when the owner gives up, and ignores a stale forget', async () => {
    const r = new SasRendezvous();
    const forget = r.expect('@a:x', 'DEV', 'KEYS1');
    const waiting = r.compare('@a:x', 'DEV', 'bot', sas(undefined));
    forget();
    expect(await waiting).toBe(false);
    expect(r.isExpected('@a:x', 'DEV', 'KEYS1')).toBe(false);
    const forgetOld = r.expect('@a:x', 'DEV', 'KEYS1');
    r.expect('@a:x', 'DEV', 'KEYS2');
    forgetOld();
    expect(r.isExpected('@a:x', 'DEV', 'KEYS2')).toBe(true);
    const a = r.compare('@a:x', 'DEV', 'bot', sas(undefined));
    expect(await r.compare('@a:x', 'DEV', 'owner', sas(undefined))).toBe(false);
    expect(await a).toBe(false);
  });

  it('settles a replaced report from the same side as refused', async () => {
    const r = new SasRendezvous();
    r.expect('@a:x', 'DEV', 'KEYS1');
    const first = r.compare('@a:x', 'DEV', 'bot', sas([1, 2, 3]));
    const second = r.compare('@a:x', 'DEV', 'bot', sas([1, 2, 3]));
    expect(await first).toBe(false);
    expect(await r.compare('@a:x', 'DEV', 'owner', sas([1, 2, 3]))).toBe(true);
    expect(await second).toBe(true);
  });

  it('asks the registered bot whether it knows the owner device, until it unregisters', async () => {
    const r = new SasRendezvous();
    expect(await r.peerKnows('@a:x', 'DEV', '@o:x', 'KEYS1')).toBeUndefined();
    const known = new Set<string>();
    const unregister = r.register('@a:x', 'DEV', async (u, d) => known.has(`${u}|${d}`));
    expect(await r.peerKnows('@a:x', 'DEV', '@o:x', 'KEYS1')).toBe(false);
    known.add('@o:x|KEYS1');
    expect(await r.peerKnows('@a:x', 'DEV', '@o:x', 'KEYS1')).toBe(true);
    r.register('@a:x', 'DEV', async () => {
      throw new Error('crypto closed');
    });
    expect(await r.peerKnows('@a:x', 'DEV', '@o:x', 'KEYS1')).toBe(false);
    unregister(); // an old registration's unregister leaves the newer one
    expect(await r.peerKnows('@a:x', 'DEV', '@o:x', 'KEYS1')).toBe(false);
  });
});
