// The owner vouches for the bots: each bot's master key signed by the owner's user-signing key, so the owner's
// devices (the chat window, Element once it has the recovery key) show the bots as verified. Done by SAS
// verification from the owner's short-lived key device, only for bots whose current identity is not signed yet.
// The same key device signs the owner's session (the chat window's device) when it has keys without the owner's
// self-signature, e.g. a window opened before the app was given the recovery key.
import { planOwnerDevices, signOwnerDevices, type OwnerDevicesAnswer } from '../crypto/owner-devices.ts';
import { importOwnerIdentity } from '../crypto/owner-recovery.ts';
import { SasRendezvous, verifyBotDevice } from '../crypto/verification.ts';
import type { Logger } from '../logging/logger.ts';
import { OWNER_RECOVERY_SECRET, withOwnerKeysDevice, type OwnerKeysOptions } from './encryption.ts';

export interface BotIdentity {
  userId: string;
  deviceId: string;
}

interface CrossSigningKey {
  keys?: Record<string, string>;
  signatures?: Record<string, Record<string, string>>;
}

export interface KeysQueryAnswer extends OwnerDevicesAnswer {
  master_keys?: Record<string, CrossSigningKey>;
  user_signing_keys?: Record<string, CrossSigningKey>;
}

export interface VouchPlan<T> {
  /** Master key not signed by the owner's current user-signing key. */
  todo: T[];
  /** Signed already. */
  already: T[];
  /** Nothing to sign yet, with why. */
  skipped: Array<{ bot: T; reason: string }>;
}

/** Pure: which bots need the owner's signature, which have it, and which cannot get it (yet). */
export function planVouches<T extends { userId: string }>(
  answer: KeysQueryAnswer,
  ownerUserId: string,
  bots: readonly T[],
): VouchPlan<T> {
  const plan: VouchPlan<T> = { todo: [], already: [], skipped: [] };
  const uskId = Object.keys(answer.user_signing_keys?.[ownerUserId]?.keys ?? {})[0];
  for (const bot of bots) {
    const master = answer.master_keys?.[bot.userId];
    if (uskId === undefined)
      plan.skipped.push({
        bot,
        reason: 'the owner has no cross-signing keys (set up when the team room is encrypted)',
      });
    else if (master === undefined) plan.skipped.push({ bot, reason: 'its cross-signing is not set up yet' });
    else if (master.signatures?.[ownerUserId]?.[uskId] === undefined) plan.todo.push(bot);
    else plan.already.push(bot);
  }
  return plan;
}

export interface VouchOptions extends OwnerKeysOptions {
  /**
   * The owner's session, for the key query (no device is signed in for it). Its device (the chat window's) is signed
   * with the owner's self-signing key once it has keys.
   */
  owner: { userId: string; accessToken: string; deviceId?: string };
  bots: readonly BotIdentity[];
  /** Shared with the bots' runner: its bots confirm only verifications announced here. */
  rendezvous: SasRendezvous;
  /** Per verification; default 30 s. */
  verifyTimeoutMs?: number;
}

export interface VouchResult {
  verified: string[];
  already: string[];
  skipped: Array<{ userId: string; reason: string }>;
  failed: Array<{ userId: string; error: string }>;
  /** The owner's devices signed now with the owner's self-signing key (the owner session's, when it had keys unsigned). */
  ownerDevices: string[];
}

async function queryKeys(o: VouchOptions): Promise<KeysQueryAnswer> {
  const fetchFn = o.ctx.fetchFn ?? fetch;
  const wanted = Object.fromEntries([o.owner.userId, ...o.bots.map((b) => b.userId)].map((u) => [u, []]));
  const res = await fetchFn(`${o.ctx.baseUrl.replace(/\/$/, '')}/_matrix/client/v3/keys/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.owner.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ device_keys: wanted }),
  });
  if (!res.ok) throw new Error(`the homeserver answered the key query with HTTP ${res.status}`);
  return (await res.json()) as KeysQueryAnswer;
}

/**
 * Signs the bots that need it, and the owner's session when its keys lack the owner's self-signature. Idempotent and
 * cheap when nothing is to do (one key query, no device signed in). A bot that fails is reported and retried at the
 * next start; the others are still signed.
 */
export async function vouchForBots(o: VouchOptions, log?: Logger): Promise<VouchResult> {
  const answer = await queryKeys(o);
  const { todo, already, skipped } = planVouches(answer, o.owner.userId, o.bots);
  const hasSsk = answer.self_signing_keys?.[o.owner.userId] !== undefined;
  const ownerDevices =
    hasSsk && o.owner.deviceId ? planOwnerDevices(answer, o.owner.userId, [o.owner.deviceId]).unsigned : [];
  const result: VouchResult = {
    verified: [],
    already: already.map((b) => b.userId),
    skipped: skipped.map((s) => ({ userId: s.bot.userId, reason: s.reason })),
    failed: [],
    ownerDevices: [],
  };
  // Without the recovery key the owner's private keys cannot be read: no device is signed in for nothing.
  if ((todo.length > 0 || ownerDevices.length > 0) && (await o.ctx.secrets.get(OWNER_RECOVERY_SECRET)) === undefined) {
    const reason = "the app does not know the owner's recovery key (run `agent-room set-recovery-key`)";
    for (const bot of todo.splice(0)) result.skipped.push({ userId: bot.userId, reason });
    if (ownerDevices.length > 0)
      log?.warn({ devices: ownerDevices.splice(0), reason }, "the owner's session is not signed with the owner's keys");
  }
  if (result.skipped.length > 0) log?.warn({ skipped: result.skipped }, 'the owner cannot vouch for some bots');
  if (todo.length === 0 && ownerDevices.length === 0) return result;
  await withOwnerKeysDevice(o, async ({ client }) => {
    const crypto = client.getCrypto();
    if (!crypto) throw new Error("the owner's key device has no crypto");
    await importOwnerIdentity(client);
    // A failure here is logged and tried again at the next start; the bots are still vouched for.
    if (ownerDevices.length > 0) {
      result.ownerDevices = await signOwnerDevices(client, ownerDevices).catch((err: unknown) => {
        log?.warn(
          { devices: ownerDevices, err: (err as Error).message },
          "could not sign the owner's session with the owner's keys",
        );
        return [];
      });
    }
    const status = await crypto.getCrossSigningStatus();
    if (!status.privateKeysCachedLocally.userSigningKey)
      throw new Error("the owner's user-signing key could not be read from secret storage");
    for (const bot of todo) {
      if (o.signal?.aborted) break;
      try {
        await verifyBotDevice(crypto, bot.userId, bot.deviceId, {
          rendezvous: o.rendezvous,
          ownerUserId: o.owner.userId,
          ownerDeviceId: client.getDeviceId() ?? '',
          timeoutMs: o.verifyTimeoutMs ?? 30_000,
          ...(o.signal ? { signal: o.signal } : {}),
        });
        result.verified.push(bot.userId);
      } catch (err) {
        result.failed.push({ userId: bot.userId, error: (err as Error).message });
      }
    }
  });
  log?.info({ ...result }, 'the owner vouched for the bots');
  return result;
}

export { SasRendezvous };
