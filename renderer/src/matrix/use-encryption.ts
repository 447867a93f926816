// The window's encryption state for the header's lock: whether crypto started, whether cross-signing and the key
// backup were set up, and whether this device is cross-signed (re-read whenever the owner's devices are re-queried).
import { useEffect, useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/CryptoEvent.js';
import { errorText } from '../hooks/control.ts';
import type { StartedClient } from './client.ts';
import { ownDeviceCrossSigned } from './crypto.ts';

/** This window's encryption: what failed, and whether this device is cross-signed (trusted by the app's devices). */
export interface EncryptionState {
  /** Encryption did not start in this window. */
  error?: string;
  /** Cross-signing or the key backup could not be set up for this device. */
  trustError?: string;
  crossSigned?: boolean;
}

export function useEncryptionState(started: StartedClient | undefined): EncryptionState | undefined {
  const [state, setState] = useState<EncryptionState>();
  useEffect(() => {
    if (!started) return;
    let live = true;
    const { client } = started;
    setState(started.cryptoError ? { error: errorText(started.cryptoError) } : {});
    const recheck = () => {
      ownDeviceCrossSigned(client).then(
        (crossSigned) => live && setState((s) => (s?.crossSigned === crossSigned ? s : { ...s, crossSigned })),
        () => undefined,
      );
    };
    started.trust.then(
      (t) => live && setState((s) => ({ ...s, crossSigned: t.crossSigned })),
      (err: unknown) => live && setState((s) => ({ ...s, trustError: errorText(err) })),
    );
    // The signature made by the trust setup shows here once the sync reports the owner's keys changed.
    client.on(CryptoEvent.DevicesUpdated, recheck);
    client.on(CryptoEvent.KeysChanged, recheck);
    return () => {
      live = false;
      client.off(CryptoEvent.DevicesUpdated, recheck);
      client.off(CryptoEvent.KeysChanged, recheck);
    };
  }, [started]);
  return state;
}

/**
 * Which of `userIds` this window trusts through cross-signing (the app signs each bot's identity with the owner's
 * keys): re-read when identities or their trust change.
 */
export function useVerifiedUsers(client: MatrixClient | undefined, userIds: readonly string[]): ReadonlySet<string> {
  const [verified, setVerified] = useState<ReadonlySet<string>>(new Set());
  const key = userIds.join('\u0000');
  useEffect(() => {
    const crypto = client?.getCrypto();
    if (!client || !crypto) return;
    let live = true;
    const recheck = () => {
      Promise.all(
        key
          .split('\u0000')
          .filter(Boolean)
          .map(async (u) => [u, (await crypto.getUserVerificationStatus(u)).isCrossSigningVerified()] as const),
      ).then(
        (rows) => {
          if (!live) return;
          const next = new Set(rows.filter(([, ok]) => ok).map(([u]) => u));
          setVerified((prev) => (prev.size === next.size && [...next].every((u) => prev.has(u)) ? prev : next));
        },
        () => undefined,
      );
    };
    recheck();
    client.on(CryptoEvent.UserTrustStatusChanged, recheck);
    client.on(CryptoEvent.KeysChanged, recheck);
    client.on(CryptoEvent.DevicesUpdated, recheck);
    return () => {
      live = false;
      client.off(CryptoEvent.UserTrustStatusChanged, recheck);
      client.off(CryptoEvent.KeysChanged, recheck);
      client.off(CryptoEvent.DevicesUpdated, recheck);
    };
  }, [client, key]);
  return verified;
}
