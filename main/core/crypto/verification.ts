// The app's own accounts trusting each other: the owner's key device verifies each bot's device by SAS (spec
// "Short Authentication String (SAS) verification"), and Rust crypto then signs the bot's master key with the
// owner's user-signing key, so every owner device (the chat window, Element after entering the recovery key)
// shows the bots as verified. Both ends run in this process, so the comparison a person would make by looking at
// two screens is made here through a rendezvous both sides report to: each confirms only when the other side
// computed the same SAS. A request that does not come through the rendezvous (another of the owner's devices, a
// stranger) is never confirmed by a bot.
import type { MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent, type CryptoApi } from 'matrix-js-sdk/lib/crypto-api/index.js';
import {
  VerificationPhase,
  VerificationRequestEvent,
  VerifierEvent,
  type ShowSasCallbacks,
  type VerificationRequest,
  type Verifier,
} from 'matrix-js-sdk/lib/crypto-api/verification.js';

export class VerificationError extends Error {
  override readonly name = 'VerificationError';
}

/** What each side computed; the rendezvous confirms when both agree and refuses when they differ. */
const sasOf = (sas: ShowSasCallbacks): string => (sas.sas.decimal ?? []).join('-') + '|' + (sas.sas.emoji ?? []).map((e) => e[1]).join(',');

type Side = 'owner' | 'bot';

/** In-process stand-in for the person comparing two screens: one entry per verification (keyed by the bot device). */
export class SasRendezvous {
  readonly #waiting = new Map<string, { side: Side; sas: string; settle: (match: boolean) => void }>();
  readonly #expected = new Set<string>();

  /** The owner's side announces a verification before sending the request; a bot accepts only announced ones. */
  expect(botUserId: string, botDeviceId: string): () => void {
    const key = `${botUserId}|${botDeviceId}`;
    this.#expected.add(key);
    return () => {
      this.#expected.delete(key);
      this.#waiting.get(key)?.settle(false);
      this.#waiting.delete(key);
    };
  }

  isExpected(botUserId: string, botDeviceId: string): boolean {
    return this.#expected.has(`${botUserId}|${botDeviceId}`);
  }

  /** Resolves true when the other side reported the same SAS, false when it reported another or gave up. */
  compare(botUserId: string, botDeviceId: string, side: Side, sas: ShowSasCallbacks): Promise<boolean> {
    const key = `${botUserId}|${botDeviceId}`;
    const mine = sasOf(sas);
    const other = this.#waiting.get(key);
    if (other && other.side !== side) {
      this.#waiting.delete(key);
      const match = other.sas === mine && mine !== '|';
      other.settle(match);
      return Promise.resolve(match);
    }
    return new Promise((settle) => this.#waiting.set(key, { side, sas: mine, settle }));
  }
}

export interface VerifyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Resolves with the verifier once the request reached `Started` (the other side chose SAS), or fails on cancel. */
function whenStarted(request: VerificationRequest, signal: AbortSignal): Promise<Verifier> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (request.verifier && request.phase >= VerificationPhase.Started && request.phase !== VerificationPhase.Cancelled) {
        done();
        resolve(request.verifier);
      } else if (request.phase === VerificationPhase.Cancelled) {
        done();
        reject(new VerificationError(`the verification was cancelled (${request.cancellationCode ?? 'no code'})`));
      }
    };
    const abort = (): void => {
      done();
      reject(new VerificationError('timed out waiting for the other side'));
    };
    const done = (): void => {
      request.off(VerificationRequestEvent.Change, check);
      signal.removeEventListener('abort', abort);
    };
    request.on(VerificationRequestEvent.Change, check);
    signal.addEventListener('abort', abort, { once: true });
    check();
  });
}

/** Runs the SAS exchange on `verifier`, confirming only what the rendezvous says matched. */
async function runSas(verifier: Verifier, compare: (sas: ShowSasCallbacks) => Promise<boolean>): Promise<void> {
  const onSas = (sas: ShowSasCallbacks): void => {
    void compare(sas).then((match) => (match ? sas.confirm() : sas.mismatch()), () => sas.cancel());
  };
  verifier.on(VerifierEvent.ShowSas, onSas);
  try {
    const shown = verifier.getShowSasCallbacks();
    if (shown) onSas(shown);
    await verifier.verify();
  } finally {
    verifier.off(VerifierEvent.ShowSas, onSas);
  }
}

/**
 * Bot side: answers verification requests from the owner's account that the rendezvous announced, and confirms the
 * SAS only when the owner's side computed the same. Others are left alone (a person may still verify from Element by
 * hand; nothing is confirmed automatically for them). Returns a function that stops listening.
 */
export function acceptOwnerVerifications(client: MatrixClient, opts: { ownerUserId: string; rendezvous: SasRendezvous; log?: VerifyLogger; timeoutMs?: number }): () => void {
  const me = client.getUserId() ?? '';
  const myDevice = client.getDeviceId() ?? '';
  const onRequest = (request: VerificationRequest): void => {
    if (request.otherUserId !== opts.ownerUserId || request.initiatedByMe || !opts.rendezvous.isExpected(me, myDevice)) return;
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
    void (async () => {
      await request.accept();
      const verifier = await whenStarted(request, signal);
      await runSas(verifier, (sas) => opts.rendezvous.compare(me, myDevice, 'bot', sas));
      opts.log?.info({ owner: opts.ownerUserId }, 'verified by the owner');
    })().catch((err: unknown) => {
      opts.log?.warn({ owner: opts.ownerUserId, err: (err as Error).message }, 'verification with the owner failed');
      if (request.phase !== VerificationPhase.Cancelled && request.phase !== VerificationPhase.Done) void request.cancel().catch(() => undefined);
    });
  };
  client.on(CryptoEvent.VerificationRequestReceived, onRequest);
  return () => client.off(CryptoEvent.VerificationRequestReceived, onRequest);
}

/**
 * Rust crypto verifies only devices it tracks, and it tracks the members of encrypted rooms it shares with them (the
 * team room): waits until the device list it downloads in the background holds the bot's device.
 */
async function deviceKnown(crypto: CryptoApi, userId: string, deviceId: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    if ((await crypto.getUserDeviceInfo([userId])).get(userId)?.has(deviceId)) return;
    if (signal.aborted) {
      const onServer = (await crypto.getUserDeviceInfo([userId], true)).get(userId)?.has(deviceId) === true;
      throw new VerificationError(onServer
        ? `${userId} shares no encrypted room with this device of the owner, so its device list is not tracked`
        : `${userId} has no device ${deviceId} on the homeserver`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Owner side: verifies one bot device by SAS through the rendezvous. On success Rust crypto has signed the bot's
 * master key with the owner's user-signing key (the owner's crypto must hold its private cross-signing keys).
 */
export async function verifyBotDevice(
  crypto: CryptoApi,
  botUserId: string,
  botDeviceId: string,
  opts: { rendezvous: SasRendezvous; timeoutMs?: number; signal?: AbortSignal },
): Promise<void> {
  const forget = opts.rendezvous.expect(botUserId, botDeviceId);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let request: VerificationRequest | undefined;
  try {
    await deviceKnown(crypto, botUserId, botDeviceId, signal);
    request = await crypto.requestDeviceVerification(botUserId, botDeviceId);
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (request!.phase === VerificationPhase.Ready) finish(resolve);
        else if (request!.phase === VerificationPhase.Cancelled) finish(() => reject(new VerificationError(`${botUserId} declined (${request!.cancellationCode ?? 'no code'})`)));
      };
      const onAbort = (): void => finish(() => reject(new VerificationError(`${botUserId} did not answer the verification request`)));
      const finish = (then: () => void): void => {
        request!.off(VerificationRequestEvent.Change, check);
        signal.removeEventListener('abort', onAbort);
        then();
      };
      request!.on(VerificationRequestEvent.Change, check);
      signal.addEventListener('abort', onAbort, { once: true });
      check();
    });
    const verifier = await request.startVerification('m.sas.v1');
    await Promise.race([
      runSas(verifier, (sas) => opts.rendezvous.compare(botUserId, botDeviceId, 'owner', sas)),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new VerificationError(`the SAS exchange with ${botUserId} timed out`)), { once: true })),
    ]);
    // Rust crypto signs the bot's master key and uploads the signature after the exchange: wait for it to land.
    while (!(await crypto.getUserVerificationStatus(botUserId)).isCrossSigningVerified()) {
      if (signal.aborted) throw new VerificationError(`the SAS with ${botUserId} matched but its identity was not signed (is the owner's user-signing key on this device?)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    if (request && request.phase !== VerificationPhase.Cancelled && request.phase !== VerificationPhase.Done) await request.cancel().catch(() => undefined);
    throw err;
  } finally {
    forget();
  }
}
