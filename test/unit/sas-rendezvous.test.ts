// The rendezvous that stands in for a person comparing two screens: both sides must report the same SAS.
import { describe, expect, it } from 'vitest';
import type { ShowSasCallbacks } from 'matrix-js-sdk/lib/crypto-api/verification.js';
import { SasRendezvous } from '../../main/core/crypto/verification.ts';

const sas = (decimal: [number, number, number] | undefined, emoji?: string[]): ShowSasCallbacks =>
  ({ sas: { ...(decimal ? { decimal } : {}), ...(emoji ? { emoji: emoji.map((e) => ['?', e]) } : {}) }, confirm: async () => {}, mismatch: () => {}, cancel: () => {} }) as unknown as ShowSasCallbacks;

describe('SasRendezvous', () => {
  it('confirms both sides when they computed the same SAS, in either order', async () => {
    const r = new SasRendezvous();
    r.expect('@a:x', 'DEV');
    const bot = r.compare('@a:x', 'DEV', 'bot', sas([1, 2, 3], ['Dog', 'Cat']));
    expect(await r.compare('@a:x', 'DEV', 'owner', sas([1, 2, 3], ['Dog', 'Cat']))).toBe(true);
    expect(await bot).toBe(true);
  });

  it('refuses both sides when the SAS differ (a man in the middle)', async () => {
    const r = new SasRendezvous();
    r.expect('@a:x', 'DEV');
    const owner = r.compare('@a:x', 'DEV', 'owner', sas([1, 2, 3]));
    expect(await r.compare('@a:x', 'DEV', 'bot', sas([1, 2, 4]))).toBe(false);
    expect(await owner).toBe(false);
  });

  it('refuses an empty SAS and releases a waiting side when the owner gives up', async () => {
    const r = new SasRendezvous();
    const forget = r.expect('@a:x', 'DEV');
    expect(r.isExpected('@a:x', 'DEV')).toBe(true);
    expect(r.isExpected('@a:x', 'OTHER')).toBe(false);
    const waiting = r.compare('@a:x', 'DEV', 'bot', sas(undefined));
    forget();
    expect(await waiting).toBe(false);
    expect(r.isExpected('@a:x', 'DEV')).toBe(false);
    r.expect('@a:x', 'DEV');
    const a = r.compare('@a:x', 'DEV', 'bot', sas(undefined));
    expect(await r.compare('@a:x', 'DEV', 'owner', sas(undefined))).toBe(false);
    expect(await a).toBe(false);
  });
});
