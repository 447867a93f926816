// The app's own accounts trusting each other: the owner's key device verifies each bot's device by SAS (spec
// "Short Authentication String (SAS) verification"), and Rust crypto then signs the bot's master key with the
// owner's user-signing key, so every owner device (the chat window, Element after entering the recovery key)
// shows the bots as verified. Both ends run in this process, so the comparison a person would make by looking at
// two screens is made here through a rendezvous both sides report to: each confirms only when the other side
// computed the same SAS. A request that does not come through the rendezvous (another of the owner's devices, a
// stranger) is never confirmed by a bot.
import type { MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent, type CryptoApi } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { pollUntil } from '../async.ts';
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
const sasOf = (sas: ShowSasCallbacks): string =>
  (sas.sas.decimal ?? []).join('-') + '|' + (sas.sas.emoji ?? []).map((e) => e[1]).join(',');

type Side = 'owner' | 'bot';

interface Waiting {
  side: Side;
  sas: string;
  settle: (match: boolean) => void;
}

/**
 * In-process stand-in for the person comparing two screens, one verification per bot device at a time. The owner's
 * side announces the verification with the id of its own (key) device; the bot answers only a request from that
 * device, and each side confirms only when the other reported the same SAS.
 */
export class SasRendezvous {
  readonly #waiting = new Map<string, Waiting>();
  /** bot device key → the owner device that announced it, with a token so an old forget() cannot end a newer one. */
  readonly #expected = new Map<string, { ownerDeviceId: string; token: symbol }>();
  /** bot device key → whether that bot's crypto knows a given owner device (it ignores requests from unknown ones). */
  readonly #peers = new Map<string, (ownerUserId: string, ownerDeviceId: string) => Promise<boolean>>();

  /** The bot side says how to ask whether it knows a device of the owner's; returns the unregistration. */
  register(
    botUserId: string,
    botDeviceId: string,
    knows: (ownerUserId: string, ownerDeviceId: string) => Promise<boolean>,
  ): () => void {
    const key = `${botUserId}|${botDeviceId}`;
    this.#peers.set(key, knows);
    return () => {
      if (this.#peers.get(key) === knows) this.#peers.delete(key);
    };
  }

  /** Whether the bot knows the owner's device; undefined when no bot device registered (an older runner, a test). */
  async peerKnows(
    botUserId: string,
    botDeviceId: string,
    ownerUserId: string,
    ownerDeviceId: string,
  ): Promise<boolean | undefined> {
    const knows = this.#peers.get(`${botUserId}|${botDeviceId}`);
    return knows ? knows(ownerUserId, ownerDeviceId).catch(() => false) : undefined;
  }

  expect(botUserId: string, botDeviceId: string, ownerDeviceId: string): () => void {
    const key = `${botUserId}|${botDeviceId}`;
    this.#settle(key, false);
    const token = Symbol(key);
    this.#expected.set(key, { ownerDeviceId, token });
    return () => {
      if (this.#expected.get(key)?.token !== token) return;
      this.#expected.delete(key);
      this.#settle(key, false);
    };
  }

  /** Whether a request to this bot device from `ownerDeviceId` was announced. */
  isExpected(botUserId: string, botDeviceId: string, ownerDeviceId: string | undefined): boolean {
    return (
      ownerDeviceId !== undefined && this.#expected.get(`${botUserId}|${botDeviceId}`)?.ownerDeviceId === ownerDeviceId
    );
  }

  /** Resolves true when the other side reported the same SAS, false when it reported another, or either gave up. */
  compare(botUserId: string, botDeviceId: string, side: Side, sas: ShowSasCallbacks): Promise<boolean> {
    const key = `${botUserId}|${botDeviceId}`;
    if (!this.#expected.has(key)) return Promise.resolve(false);
    const mine = sasOf(sas);
    const other = this.#waiting.get(key);
    if (other && other.side !== side) {
      this.#waiting.delete(key);
      const match = other.sas === mine && mine !== '|';
      other.settle(match);
      return Promise.resolve(match);
    }
    // A second report from the same side replaces the first, which is refused.
    this.#settle(key, false);
    return new Promise((settle) => this.#waiting.set(key, { side, sas: mine, settle }));
  }

  #settle(key: string, match: boolean): void {
    const waiting = this.#waiting.get(key);
    this.#waiting.delete(key);
    waiting?.settle(match);
  }
}

/** `promise`, or a rejection with `message` as soon as `signal` is aborted (also when it already is). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal, message: string): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new VerificationError(message));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new VerificationError(message));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}

/** Resolves once `ready()` is true after a change of the request, rejects when it is cancelled. */
function whenPhase(request: VerificationRequest, ready: () => boolean, who: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (request.phase === VerificationPhase.Cancelled) {
        request.off(VerificationRequestEvent.Change, check);
        reject(new VerificationError(`${who} cancelled the verification (${request.cancellationCode ?? 'no code'})`));
      } else if (ready()) {
        request.off(VerificationRequestEvent.Change, check);
        resolve();
      }
    };
    request.on(VerificationRequestEvent.Change, check);
    check();
  });
}

export interface VerifyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Runs the SAS exchange on `verifier`, confirming only what the rendezvous says matched. */
async function runSas(verifier: Verifier, compare: (sas: ShowSasCallbacks) => Promise<boolean>): Promise<void> {
  const onSas = (sas: ShowSasCallbacks): void => {
    // confirm() sends to-device messages and may fail (server gone, client stopping): the exchange then ends.
    compare(sas)
      .then((match) => (match ? sas.confirm() : sas.mismatch()))
      .catch(() => {
        try {
          sas.cancel();
        } catch {
          // Already over.
        }
      });
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
export function acceptOwnerVerifications(
  client: MatrixClient,
  opts: { ownerUserId: string; rendezvous: SasRendezvous; log?: VerifyLogger; timeoutMs?: number },
): () => void {
  const me = client.getUserId() ?? '';
  const myDevice = client.getDeviceId() ?? '';
  const onRequest = (request: VerificationRequest): void => {
    if (
      request.otherUserId !== opts.ownerUserId ||
      request.initiatedByMe ||
      !opts.rendezvous.isExpected(me, myDevice, request.otherDeviceId)
    )
      return;
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
    const timedOut = 'the verification with the owner timed out';
    void (async () => {
      await abortable(request.accept(), signal, timedOut);
      await abortable(
        whenPhase(
          request,
          () => request.phase >= VerificationPhase.Started && request.verifier !== undefined,
          'the owner',
        ),
        signal,
        timedOut,
      );
      await abortable(
        runSas(request.verifier!, (sas) => opts.rendezvous.compare(me, myDevice, 'bot', sas)),
        signal,
        timedOut,
      );
      opts.log?.info({ owner: opts.ownerUserId }, 'verified by the owner');
    })().catch((err: unknown) => {
      opts.log?.warn({ owner: opts.ownerUserId, err: (err as Error).message }, 'verification with the owner failed');
      if (request.phase !== VerificationPhase.Cancelled && request.phase !== VerificationPhase.Done)
        void request.cancel().catch(() => undefined);
    });
  };
  client.on(CryptoEvent.VerificationRequestReceived, onRequest);
  // Rust crypto drops a request from a device it does not know yet: the owner's side waits until this bot knows it.
  const unregister = opts.rendezvous.register(me, myDevice, async (ownerUserId, ownerDeviceId) => {
    const crypto = client.getCrypto();
    return crypto
      ? (await crypto.getUserDeviceInfo([ownerUserId])).get(ownerUserId)?.has(ownerDeviceId) === true
      : false;
  });
  return () => {
    unregister();
    client.off(CryptoEvent.VerificationRequestReceived, onRequest);
  };
}

/**
 * Rust crypto verifies only devices it tracks, and it tracks the members of encrypted rooms it shares with them (the
 * team room): waits until the device list it downloads in the background holds the bot's device.
 */
function deviceKnown(crypto: CryptoApi, userId: string, deviceId: string, signal: AbortSignal): Promise<void> {
  return pollUntil(
    async () => (await crypto.getUserDeviceInfo([userId])).get(userId)?.has(deviceId) === true,
    { signal },
    async () => {
      const onServer = (await crypto.getUserDeviceInfo([userId], true)).get(userId)?.has(deviceId) === true;
      return new VerificationError(
        onServer
          ? `${userId} shares no encrypted room with this device of the owner, so its device list is not tracked`
          : `${userId} has no device ${deviceId} on the homeserver`,
      );
    },
  );
}

/** Waits until the bot (in this process) knows the owner's key device, which it learns from its next sync and query. */
function peerKnowsOwner(
  rendezvous: SasRendezvous,
  botUserId: string,
  botDeviceId: string,
  ownerUserId: string,
  ownerDeviceId: string,
  signal: AbortSignal,
): Promise<void> {
  // undefined: no bot registered (another runner, a test), nothing to wait for.
  return pollUntil(
    async () => (await rendezvous.peerKnows(botUserId, botDeviceId, ownerUserId, ownerDeviceId)) !== false,
    { signal },
    () => new VerificationError(`${botUserId} never learnt the owner's key device ${ownerDeviceId}`),
  );
}

/**
 * Owner side: verifies one bot device by SAS through the rendezvous. On success Rust crypto has signed the bot's
 * master key with the owner's user-signing key (the owner's crypto must hold its private cross-signing keys).
 */
export async function verifyBotDevice(
  crypto: CryptoApi,
  botUserId: string,
  botDeviceId: string,
  opts: {
    rendezvous: SasRendezvous;
    ownerUserId: string;
    ownerDeviceId: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<void> {
  const forget = opts.rendezvous.expect(botUserId, botDeviceId, opts.ownerDeviceId);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let request: VerificationRequest | undefined;
  try {
    await deviceKnown(crypto, botUserId, botDeviceId, signal);
    await peerKnowsOwner(opts.rendezvous, botUserId, botDeviceId, opts.ownerUserId, opts.ownerDeviceId, signal);
    // A request the bot missed (it arrived before the bot could read it) is sent again, twice at most.
    for (let attempt = 0; ; attempt++) {
      request = await abortable(
        crypto.requestDeviceVerification(botUserId, botDeviceId),
        signal,
        `sending the verification request to ${botUserId} timed out`,
      );
      const sent = request;
      const patience = AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
      try {
        await abortable(
          whenPhase(sent, () => sent.phase === VerificationPhase.Ready, botUserId),
          patience,
          `${botUserId} did not answer the verification request`,
        );
        break;
      } catch (err) {
        if (signal.aborted || attempt >= 2 || sent.phase === VerificationPhase.Cancelled) throw err;
        await sent.cancel().catch(() => undefined);
      }
    }
    const req = request;
    const verifier = await abortable(
      req.startVerification('m.sas.v1'),
      signal,
      `starting the SAS with ${botUserId} timed out`,
    );
    await abortable(
      runSas(verifier, (sas) => opts.rendezvous.compare(botUserId, botDeviceId, 'owner', sas)),
      signal,
      `the SAS exchange with ${botUserId} timed out`,
    );
    // Rust crypto signs the bot's master key and uploads the signature after the exchange: wait for it to land.
    await pollUntil(
      async () => (await crypto.getUserVerificationStatus(botUserId)).isCrossSigningVerified(),
      { signal },
      () =>
        new VerificationError(
          `the SAS with ${botUserId} matched but its identity was not signed (is the owner's user-signing key on this device?)`,
        ),
    );
  } catch (err) {
    if (request && request.phase !== VerificationPhase.Cancelled && request.phase !== VerificationPhase.Done)
      await request.cancel().catch(() => undefined);
    throw err;
  } finally {
    forget();
  }
}
