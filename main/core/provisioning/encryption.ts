// Encryption of the team room: whether it should be encrypted (a pure decision on settings), turning it on for a
// new or existing room, and the owner's cross-signing, recovery key and key backup, set up once by the app.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ClientEvent, createClient, Filter, MatrixError, Method, type MatrixClient } from 'matrix-js-sdk';
import { initBotCrypto, type BotCrypto } from '../crypto/bot-crypto.ts';
import { signOwnerDevices } from '../crypto/owner-devices.ts';
import { recoveryCallbacks, setupOwnerRecovery } from '../crypto/owner-recovery.ts';
import type { Logger } from '../logging/logger.ts';
import { OWNER_SECRETS, type MatrixContext } from './accounts.ts';
import { ProvisionHomeserverError } from './errors.ts';

/** The owner's recovery key (shown to the person once; the chat window opens secret storage with it). */
export const OWNER_RECOVERY_SECRET = 'crypto.owner.recoveryKey';
/** Prefix of the short-lived devices the app signs in to set up the owner's keys; the chat window keeps its own device. */
export const OWNER_KEYS_DEVICE = 'AGENTROOMKEYS';

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild: () => quietLogger };

export const ENCRYPTION_STATE = {
  type: 'm.room.encryption',
  state_key: '',
  content: { algorithm: 'm.megolm.v1.aes-sha2' },
} as const;

export interface EncryptionInputs {
  room: { encrypted?: boolean | undefined };
  homeserver: { mode: 'bundled'; lanAccess: boolean } | { mode: 'external' } | { mode: string; lanAccess?: boolean };
}

/**
 * The setting when the person chose; otherwise on as soon as anything but this machine can reach the room:
 * LAN access to the bundled homeserver, or an external homeserver (`external` covers `serve --homeserver-url`).
 */
export function roomShouldBeEncrypted(s: EncryptionInputs, opts: { external?: boolean } = {}): boolean {
  if (s.room.encrypted !== undefined) return s.room.encrypted;
  return (
    opts.external === true ||
    s.homeserver.mode === 'external' ||
    (s.homeserver as { lanAccess?: boolean }).lanAccess === true
  );
}

/** Turns encryption on in an existing room (never off: the spec does not allow it). True when it was switched now. */
export async function ensureRoomEncrypted(owner: MatrixClient, roomId: string): Promise<boolean> {
  try {
    const content = await owner.getStateEvent(roomId, ENCRYPTION_STATE.type, '');
    if (typeof content.algorithm === 'string') return false;
  } catch (err) {
    if (!(err instanceof MatrixError && err.httpStatus === 404)) throw err;
  }
  await owner.sendStateEvent(roomId, ENCRYPTION_STATE.type as never, { ...ENCRYPTION_STATE.content } as never, '');
  return true;
}

export interface OwnerKeysOptions {
  ctx: MatrixContext;
  ownerLocalpart: string;
  stateDir: string;
  logger?: Logger;
  /** How long the first sync may take; default 30 s. */
  timeoutMs?: number;
  /** Aborted when the app stops: the work under way ends and the key device is signed out. */
  signal?: AbortSignal;
  /** The one room the key device syncs (the team room, whose members' devices it must know); none when omitted. */
  roomId?: string;
}

/** The owner's short-lived key device, signed in and synced, with its crypto on. */
export interface OwnerKeysDevice {
  client: MatrixClient;
  password: string;
}

/**
 * Signs in a key device with a new id each time: Synapse answers an initial sync for the same user and device from
 * a cache for a while, so a reused id could be handed the sync from before the owner's secret storage existed.
 */
function signInKeysDevice(
  o: OwnerKeysOptions,
  password: string,
): Promise<{ user_id: string; device_id: string; access_token: string }> {
  return createClient({ baseUrl: o.ctx.baseUrl, fetchFn: o.ctx.fetchFn, logger: quietLogger }).loginRequest({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: o.ownerLocalpart },
    password,
    device_id: `${OWNER_KEYS_DEVICE}${randomBytes(4).toString('hex').toUpperCase()}`,
    initial_device_display_name: 'Agent Room (key setup)',
  });
}

/** Key devices left by a crash (signed in, never signed out) are deleted (user-interactive auth with the password). */
async function deleteStaleKeysDevices(o: OwnerKeysOptions, client: MatrixClient, password: string): Promise<void> {
  const mine = client.getDeviceId();
  const stale = (await client.getDevices()).devices
    .map((d) => d.device_id)
    .filter((id) => id.startsWith(OWNER_KEYS_DEVICE) && id !== mine);
  if (stale.length === 0) return;
  o.logger?.info({ devices: stale }, "deleting the owner's key devices left by an earlier run");
  await client
    .deleteMultipleDevices(stale, {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: client.getUserId() ?? '' },
      password,
    } as never)
    .catch((err: unknown) => {
      o.logger?.warn(
        { err: (err as Error).message },
        "could not delete old key devices; remove them in a Matrix client's session list",
      );
    });
}

/** One key device at a time in this process: two would share the store folder and delete each other as stale. */
let keysDeviceQueue: Promise<unknown> = Promise.resolve();

/**
 * Signs in a short-lived device of the owner's account (with the owner's password), turns its crypto on, syncs once
 * (members loaded, so Rust crypto tracks the team room's devices), runs `work`, then signs the device out and
 * deletes its store. The keys that matter live on the homeserver (cross-signing, secret storage, backup).
 */
export function withOwnerKeysDevice<T>(o: OwnerKeysOptions, work: (d: OwnerKeysDevice) => Promise<T>): Promise<T> {
  const run = keysDeviceQueue.then(() => runKeysDevice(o, work));
  keysDeviceQueue = run.catch(() => undefined);
  return run;
}

async function runKeysDevice<T>(o: OwnerKeysOptions, work: (d: OwnerKeysDevice) => Promise<T>): Promise<T> {
  const what = "setting up the owner's encryption keys";
  if (o.signal?.aborted) throw new ProvisionHomeserverError(what, 'the app is stopping');
  const { secrets } = o.ctx;
  const password = await secrets.get(OWNER_SECRETS.password);
  if (password === undefined)
    throw new ProvisionHomeserverError(what, "the owner's password is not in the secret store");
  const login = await signInKeysDevice(o, password);
  const storeDir = join(o.stateDir, 'crypto', 'owner-keys');
  const client = createClient({
    baseUrl: o.ctx.baseUrl,
    fetchFn: o.ctx.fetchFn,
    userId: login.user_id,
    deviceId: login.device_id,
    accessToken: login.access_token,
    logger: quietLogger,
    cryptoCallbacks: recoveryCallbacks(secrets, OWNER_RECOVERY_SECRET),
  });
  let bc: BotCrypto | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  // From here on the device exists on the server: whatever happens, it is signed out again.
  try {
    await deleteStaleKeysDevices(o, client, password);
    // A store left by a crash belongs to a device signed out since: start clean.
    await rm(storeDir, { recursive: true, force: true });
    await secrets.delete('crypto.owner-keys.storeKey');
    bc = await initBotCrypto(client, { storeDir, secrets, secretPrefix: 'crypto.owner-keys', password });
    // The device's keys are uploaded by the first sync; cross-signing signs them.
    const ready = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new ProvisionHomeserverError(what, 'the first sync did not finish in time')),
        o.timeoutMs ?? 30_000,
      );
      onAbort = () => reject(new ProvisionHomeserverError(what, 'the app is stopping'));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      client.on(ClientEvent.Sync, (state) => {
        if (state === 'PREPARED') resolve();
      });
    });
    ready.catch(() => undefined);
    // Only the team room (or none), its members in full: an owner who is a person's own account may be in
    // thousands of rooms, none of which this device needs.
    const filter = new Filter(login.user_id);
    filter.setDefinition({
      room: { rooms: o.roomId ? [o.roomId] : [], timeline: { limit: 1 }, ephemeral: { types: [] } },
      presence: { types: [] },
    });
    await client.startClient({ initialSyncLimit: 1, lazyLoadMembers: false, filter });
    await ready;
    return await work({ client, password });
  } finally {
    clearTimeout(timer);
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
    client.stopClient();
    await bc?.close();
    await client
      .logout(true)
      .catch((err: unknown) =>
        o.logger?.warn({ err: (err as Error).message }, "could not sign out the owner's key device"),
      );
    await rm(storeDir, { recursive: true, force: true });
    await secrets.delete('crypto.owner-keys.storeKey');
  }
}

/** Holds the owner's user id once the app starts making that account's keys: keys found without it were made elsewhere. */
export const OWNER_KEYS_SETUP_SECRET = 'crypto.owner.setupStarted';

/**
 * What the account already has that encryption setup would replace: a published identity, secret storage, a key
 * backup. Asked with the owner's existing session, so no device is signed in for it.
 */
export async function ownerKeysOnServer(owner: MatrixClient): Promise<string[]> {
  const userId = owner.getUserId() ?? '';
  const found: string[] = [];
  const keys = await owner.downloadKeysForUsers([userId]);
  if (keys.master_keys?.[userId]) found.push('cross-signing keys');
  const defaultKey = await owner
    .getAccountDataFromServer('m.secret_storage.default_key' as never)
    .catch((err: unknown) => {
      if (err instanceof MatrixError && err.httpStatus === 404) return null;
      throw err;
    });
  if (defaultKey) found.push('secret storage');
  const backup = await owner.http.authedRequest(Method.Get, '/room_keys/version').catch((err: unknown) => {
    if (err instanceof MatrixError && err.httpStatus === 404) return null;
    throw err;
  });
  if (backup) found.push('a key backup');
  return found;
}

/**
 * Once per owner: cross-signing, secret storage under a recovery key (kept in the secret store) and key backup,
 * made from the owner's short-lived key device. Returns whether the recovery key was made now, so the app shows it once.
 * An account whose keys were made elsewhere (your own account, set up in Element) is left alone, without signing in
 * a device: replacing them would cut your other devices off from your history. `agent-room set-recovery-key` lets the
 * app use them instead.
 */
export async function ensureOwnerRecovery(
  o: OwnerKeysOptions & { owner: MatrixClient },
): Promise<{ created: boolean; foreignKeys?: string[] }> {
  const { secrets } = o.ctx;
  if ((await secrets.get(OWNER_RECOVERY_SECRET)) !== undefined) return { created: false };
  const userId = o.owner.getUserId() ?? '';
  if ((await secrets.get(OWNER_KEYS_SETUP_SECRET)) !== userId) {
    const found = await ownerKeysOnServer(o.owner);
    if (found.length > 0) {
      o.logger?.warn(
        {
          found,
          hint: 'Run `agent-room set-recovery-key` and enter the recovery key of this account; the next start then verifies the bots with your keys.',
        },
        'the owner account already has encryption keys made elsewhere; Agent Room leaves them alone',
      );
      return { created: false, foreignKeys: found };
    }
    await secrets.set(OWNER_KEYS_SETUP_SECRET, userId);
  }
  return withOwnerKeysDevice(o, async ({ client, password }) => {
    const { created } = await setupOwnerRecovery(client, { password, secrets, secretName: OWNER_RECOVERY_SECRET });
    // The owner's session already has keys when the chat window opened before the room was encrypted.
    const signed = await signOwnerDevices(client, [o.owner.getDeviceId() ?? '']);
    o.logger?.info({ created, signed }, 'owner cross-signing, recovery key and key backup ready');
    return { created };
  });
}
