// Which bots the owner still has to vouch for, from a /keys/query answer.
import { describe, expect, it } from 'vitest';
import { planVouches } from '../../main/core/provisioning/owner-trust.ts';

const owner = '@owner:x';
const usk = { keys: { 'ed25519:USK': 'USK' } };
const bots = [{ userId: '@a:x' }, { userId: '@b:x' }, { userId: '@c:x' }];

describe('planVouches', () => {
  it('splits the bots into to sign, signed, and nothing to sign yet', () => {
    const plan = planVouches(
      {
        user_signing_keys: { [owner]: usk },
        master_keys: {
          '@a:x': { keys: { 'ed25519:A': 'A' }, signatures: { '@a:x': { 'ed25519:DEV': 's' } } },
          '@b:x': { keys: { 'ed25519:B': 'B' }, signatures: { [owner]: { 'ed25519:USK': 's' } } },
        },
      },
      owner,
      bots,
    );
    expect(plan.todo).toEqual([bots[0]]);
    expect(plan.already).toEqual([bots[1]]);
    expect(plan.skipped).toEqual([{ bot: bots[2], reason: 'its cross-signing is not set up yet' }]);
  });

  it('signs again after the owner replaced the user-signing key, and skips all when the owner has none', () => {
    const signedByOld = { '@a:x': { keys: { 'ed25519:A': 'A' }, signatures: { [owner]: { 'ed25519:OLD': 's' } } } };
    expect(
      planVouches({ user_signing_keys: { [owner]: usk }, master_keys: signedByOld }, owner, [bots[0]!]).todo,
    ).toEqual([bots[0]]);
    const none = planVouches({ master_keys: signedByOld }, owner, [bots[0]!]);
    expect(none.todo).toEqual([]);
    expect(none.skipped[0]!.reason).toMatch(/owner has no cross-signing keys/);
  });
});
