// A bot's send path: an event straight to the server (no local echo, no SDK thread guessing), encrypted first in
// an encrypted room, under a transaction id that makes it idempotent; retried through the app's Matrix retry
// policy while the homeserver restarts (homeserver/matrix-fetch.ts).
import { Method, type MatrixClient } from 'matrix-js-sdk';
import { retryTransient } from '../homeserver/matrix-fetch.ts';
import type { BotEncryption } from './bot-crypto-wiring.ts';

export class BotSender {
  readonly #client: MatrixClient;
  readonly #encryption: () => BotEncryption | undefined;
  readonly #stopped: () => boolean;
  #txn = 0;
  readonly #encrypting = new Set<Promise<unknown>>();

  constructor(client: MatrixClient, encryption: () => BotEncryption | undefined, stopped: () => boolean) {
    this.#client = client;
    this.#encryption = encryption;
    this.#stopped = stopped;
  }

  /**
   * Sends an event; returns its id. `txnId` makes the send idempotent across restarts (same device, same id →
   * same event). While the homeserver restarts (the supervisor brings it back within seconds) the send is
   * retried with the same transaction id, which the server answers once: a reply is finished, never posted twice.
   */
  async send(
    roomId: string,
    clearType: string,
    clearContent: Record<string, unknown>,
    txnId?: string,
  ): Promise<string> {
    const txn = txnId ?? `ar${Date.now().toString(36)}.${++this.#txn}`;
    let type = clearType;
    let content = clearContent;
    // Encrypted once, before the retries: every retry sends the same ciphertext under the same transaction id.
    const enc = this.#encryption();
    if (enc && (await enc.roomEncrypted(roomId))) {
      const encrypting = enc.encrypt(roomId, clearType, clearContent);
      this.#encrypting.add(encrypting);
      try {
        ({ type, content } = await encrypting);
      } finally {
        this.#encrypting.delete(encrypting);
      }
    }
    const path = `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txn)}`;
    const res = await retryTransient(
      () => this.#client.http.authedRequest<{ event_id: string }>(Method.Put, path, undefined, content),
      { stopped: this.#stopped },
    );
    return res.event_id;
  }

  /** Waits (up to `timeoutMs`) for encryptions in flight: closing crypto under one makes the SDK reject a promise nobody awaits. */
  async settle(timeoutMs = 5000): Promise<void> {
    if (this.#encrypting.size === 0) return;
    await Promise.race([
      Promise.allSettled([...this.#encrypting]),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }
}
