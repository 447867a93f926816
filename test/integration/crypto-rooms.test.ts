// Encrypted rooms end to end on the test homeserver: the owner's client and two bot clients with the crypto
// module (Rust crypto, persistent store, cross-signing, key backup), a restart that keeps the device, and a new
// device that reads history from key backup.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, RoomEvent, createClient, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { startHomeserver, type Homeserver } from '../support/homeserver/index.ts';
import { initBotCrypto, type BotCrypto } from '../../main/core/crypto/bot-crypto.ts';
import { recoveryCallbacks, setupOwnerRecovery } from '../../main/core/crypto/owner-recovery.ts';
import { watchDecryptionFailures } from '../../main/core/crypto/decryption-watcher.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');
const quiet = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  getChild() {
    return quiet;
  },
};

interface Account {
  userId: string;
  deviceId: string;
  accessToken: string;
  password: string;
  name: string;
}
interface Running {
  client: MatrixClient;
  bc: BotCrypto;
  account: Account;
}

describe('encrypted rooms with the crypto module', () => {
  let hs: Homeserver;
  let dir: string;
  const secrets = new MemorySecretStore();
  const running: Running[] = [];
  const accounts: Record<string, Account> = {};
  let roomId = '';
  let owner: Running;
  let bot1: Running;
  let bot2: Running;

  async function register(name: string): Promise<Account> {
    const password = `pw-${name}-secret`;
    const res = await createClient({ baseUrl: hs.url, logger: quiet }).registerRequest({
      username: name,
      password,
      auth: { type: 'm.login.dummy' },
    });
    return {
      userId: res.user_id,
      deviceId: res.device_id as string,
      accessToken: res.access_token as string,
      password,
      name,
    };
  }

  async function start(account: Account, opts: { storeDir?: string; owner?: boolean } = {}): Promise<Running> {
    const client = createClient({
      baseUrl: hs.url,
      userId: account.userId,
      deviceId: account.deviceId,
      accessToken: account.accessToken,
      logger: quiet,
      cryptoCallbacks: opts.owner ? recoveryCallbacks(secrets, 'owner.recoveryKey') : undefined,
    });
    const bc = await initBotCrypto(client, {
      storeDir: opts.storeDir ?? join(dir, 'state', 'crypto', account.name),
      secrets,
      secretPrefix: `crypto.${account.name}`,
      password: account.password,
      flushDelayMs: 20,
    });
    const ready = new Promise<void>((resolve) => client.on(ClientEvent.Sync, (s) => s === 'PREPARED' && resolve()));
    await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: false });
    await ready;
    const r = { client, bc, account };
    running.push(r);
    return r;
  }

  async function stop(r: Running): Promise<void> {
    r.client.stopClient();
    await r.bc.close();
    running.splice(running.indexOf(r), 1);
  }

  /** Resolves with the clear body of the first event (already in the room or arriving) that `match`es. */
  function decrypted(
    client: MatrixClient,
    match: (body: string, e: MatrixEvent) => boolean,
    timeoutMs = 15_000,
  ): Promise<MatrixEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting on ${client.getUserId()}`)), timeoutMs);
      const check = async (e: MatrixEvent): Promise<void> => {
        if (e.getRoomId() !== roomId) return;
        await client.decryptEventIfNeeded(e);
        const body = e.getContent().body;
        if (typeof body === 'string' && match(body, e)) {
          clearTimeout(timer);
          client.off(RoomEvent.Timeline, onTimeline);
          resolve(e);
        }
      };
      const onTimeline = (e: MatrixEvent): void => void check(e);
      client.on(RoomEvent.Timeline, onTimeline);
      for (const e of client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []) void check(e);
    });
  }

  /** The SDK uploads to backup after a random delay of up to 10 s; wait until the server holds `n` keys. */
  async function backedUp(c: MatrixClient, n: number): Promise<void> {
    for (let i = 0; i < 150; i++) {
      const info = await c.http.authedRequest<{ count: number }>('GET' as never, '/room_keys/version');
      if (info.count >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`backup of ${c.getUserId()} never reached ${n} keys`);
  }

  const deviceIds = async (c: MatrixClient): Promise<string[]> =>
    (await c.getDevices()).devices.map((d) => d.device_id).sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crypto-rooms-'));
    hs = await startHomeserver({ serverName: 'crypto.local', dataDir: join(dir, 'homeserver') });
    for (const n of ['owner', 'bot1', 'bot2']) accounts[n] = await register(n);
    owner = await start(accounts.owner as Account, { owner: true });
    bot1 = await start(accounts.bot1 as Account);
    bot2 = await start(accounts.bot2 as Account);
    const recovery = await setupOwnerRecovery(owner.client, {
      password: (accounts.owner as Account).password,
      secrets,
      secretName: 'owner.recoveryKey',
    });
    expect(recovery.created).toBe(true);
    for (const b of [bot1, bot2]) await b.bc.ensureTrust();
    const created = await owner.client.createRoom({
      invite: [bot1.account.userId, bot2.account.userId],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    roomId = created.room_id;
    await bot1.client.joinRoom(roomId);
    await bot2.client.joinRoom(roomId);
  }, 60_000);

  afterAll(async () => {
    for (const r of [...running]) await stop(r);
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("sets up cross-signing for every account, the owner's recovery key, and key backup", async () => {
    for (const r of [owner, bot1, bot2]) {
      expect(await r.bc.crypto.isCrossSigningReady()).toBe(true);
      expect(await r.bc.crypto.getActiveSessionBackupVersion()).not.toBeNull();
    }
    expect(await owner.bc.crypto.isSecretStorageReady()).toBe(true);
    expect(await secrets.get('owner.recoveryKey')).toMatch(/^E[sS]\w{2}( \w{4})+$/);
    expect(await secrets.get('crypto.bot1.backupKey')).toBeTruthy();
    // A second run finds everything in place and makes no new recovery key.
    const again = await setupOwnerRecovery(owner.client, {
      password: owner.account.password,
      secrets,
      secretName: 'owner.recoveryKey',
    });
    expect(again.created).toBe(false);
  }, 30_000);

  it("the owner's encrypted message is decrypted by both bots, and a bot's encrypted reply by the owner", async () => {
    const seen1 = decrypted(bot1.client, (b) => b === '@bot1 @bot2 what is 2+2?');
    const seen2 = decrypted(bot2.client, (b) => b === '@bot1 @bot2 what is 2+2?');
    await owner.client.sendTextMessage(roomId, '@bot1 @bot2 what is 2+2?');
    const [e1, e2] = await Promise.all([seen1, seen2]);
    expect(e1.isEncrypted() && e2.isEncrypted()).toBe(true);
    // On the server the message is ciphertext.
    const onServer = [...(hs.hs.store.rooms.get(roomId)?.timeline ?? [])]
      .filter((s) => s.event.sender === owner.account.userId)
      .at(-1);
    expect(onServer?.event.type).toBe('m.room.encrypted');
    expect(JSON.stringify(onServer?.event.content)).not.toContain('2+2');

    const reply = decrypted(owner.client, (b, e) => b === '4, from bot1' && e.getSender() === bot1.account.userId);
    await bot1.client.sendEvent(
      roomId,
      'm.room.message' as never,
      { msgtype: 'm.notice', body: '4, from bot1' } as never,
    );
    const got = await reply;
    expect(got.isEncrypted()).toBe(true);
    expect(got.isDecryptionFailure()).toBe(false);
  }, 30_000);

  it('a restarted bot keeps its device and keys and decrypts the history', async () => {
    const before = await deviceIds(bot1.client);
    const keysBefore = await bot1.bc.crypto.getOwnDeviceKeys();
    await stop(bot1);
    bot1 = await start(accounts.bot1 as Account);
    expect(await deviceIds(bot1.client)).toEqual(before);
    expect(await bot1.bc.crypto.getOwnDeviceKeys()).toEqual(keysBefore);
    // History from before the restart decrypts with the stored sessions (no backup involved: fetched fresh).
    const old = await decrypted(bot1.client, (b) => b === '@bot1 @bot2 what is 2+2?');
    expect(old.isDecryptionFailure()).toBe(false);
    // And the running conversation goes on in both directions.
    const next = decrypted(bot1.client, (b) => b === 'still there?');
    await owner.client.sendTextMessage(roomId, 'still there?');
    await next;
    expect(await bot1.bc.crypto.isCrossSigningReady()).toBe(true);
  }, 40_000);

  it('a new device of a bot says once it cannot read, gets the keys from backup, and hands the messages back', async () => {
    await backedUp(bot2.client, 1);
    await stop(bot2);
    const login = await createClient({ baseUrl: hs.url, logger: quiet }).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'bot2' },
      password: (accounts.bot2 as Account).password,
    });
    const fresh: Account = {
      ...(accounts.bot2 as Account),
      deviceId: login.device_id,
      accessToken: login.access_token,
    };
    const notices: string[] = [];
    const recovered: string[] = [];
    const client = createClient({
      baseUrl: hs.url,
      userId: fresh.userId,
      deviceId: fresh.deviceId,
      accessToken: fresh.accessToken,
      logger: quiet,
    });
    const bc = await initBotCrypto(client, {
      storeDir: join(dir, 'state', 'crypto', 'bot2-new'),
      secrets,
      secretPrefix: 'crypto.bot2',
      password: fresh.password,
      flushDelayMs: 20,
    });
    running.push({ client, bc, account: fresh });
    const watcher = watchDecryptionFailures(client, {
      notify: async (_room, text) => notices.push(text),
      onRecovered: (_room, e) => recovered.push(e.getContent().body as string),
      notBefore: 0,
    });
    const ready = new Promise<void>((resolve) => client.on(ClientEvent.Sync, (s) => s === 'PREPARED' && resolve()));
    await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: false });
    await ready;
    // The backup key comes from the app's secret store; the SDK then fetches missing keys from backup itself.
    await bc.ensureTrust();
    await watcher.retry();
    for (let i = 0; i < 150 && !recovered.includes('@bot1 @bot2 what is 2+2?'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(recovered).toContain('@bot1 @bot2 what is 2+2?');
    expect(notices.length).toBe(1);
    expect(notices[0]).toContain("can't read a message");
    expect(watcher.pending()).toEqual([]);
    watcher.stop();
  }, 40_000);

  it('a new device of the owner opens key backup with the recovery key and reads the history', async () => {
    await backedUp(owner.client, 2);
    const login = await createClient({ baseUrl: hs.url, logger: quiet }).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'owner' },
      password: owner.account.password,
    });
    const second = await start(
      { ...owner.account, deviceId: login.device_id, accessToken: login.access_token, name: 'owner-window' },
      { owner: true },
    );
    await second.bc.crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    await second.bc.crypto.checkKeyBackupAndEnable();
    const restored = await second.bc.crypto.restoreKeyBackup();
    expect(restored.imported).toBeGreaterThan(0);
    const e = await decrypted(second.client, (b) => b === '4, from bot1');
    expect(e.isDecryptionFailure()).toBe(false);
  }, 40_000);
});
