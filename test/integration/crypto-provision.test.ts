// Provisioning an encrypted team room on the test homeserver: the room created encrypted, an existing unencrypted
// room switched, and the owner's cross-signing, recovery key (kept in the secret store, reported once) and key backup.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import { accountSecretNames } from '../../main/core/provisioning/accounts.ts';
import { OWNER_RECOVERY_SECRET, roomShouldBeEncrypted } from '../../main/core/provisioning/encryption.ts';
import { provision } from '../../main/core/provisioning/provisioner.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { startHomeserver, type Homeserver } from '../support/homeserver/index.ts';

const TOKEN = 'crypto-registration-token';
let server: Homeserver;
let dir: string;

async function api(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/_matrix/client/v3${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const settingsFor = (owner: string) =>
  settingsSchema.parse({
    owner: { localpart: owner },
    bots: [{ id: `${owner}-bot`, displayName: 'Bot', model: 'ollama:tiny' }],
  });

beforeAll(async () => {
  server = await startHomeserver({ serverName: 'enc.test', registrationToken: TOKEN });
  dir = mkdtempSync(join(tmpdir(), 'crypto-provision-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('roomShouldBeEncrypted', () => {
  const bundled = (lanAccess: boolean) => ({ mode: 'bundled' as const, lanAccess });
  it.each([
    ['loopback only, not set', { room: {}, homeserver: bundled(false) }, {}, false],
    ['LAN access, not set', { room: {}, homeserver: bundled(true) }, {}, true],
    ['external homeserver in settings', { room: {}, homeserver: { mode: 'external' as const } }, {}, true],
    ['serve --homeserver-url', { room: {}, homeserver: bundled(false) }, { external: true }, true],
    ['set on, loopback', { room: { encrypted: true }, homeserver: bundled(false) }, {}, true],
    ['set off, LAN access', { room: { encrypted: false }, homeserver: bundled(true) }, {}, false],
  ])('%s', (_name, s, opts, expected) => {
    expect(roomShouldBeEncrypted(s, opts)).toBe(expected);
  });
});

describe('provisioning with encryption', () => {
  it("creates the team room encrypted and sets up the owner's keys once", async () => {
    const secrets = new MemorySecretStore();
    const stateDir = join(dir, 'a');
    const first = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: settingsFor('owner'),
      encrypt: true,
    });
    expect(first.encrypted).toBe(true);
    expect(first.ownerRecoveryKeyCreated).toBe(true);
    const token = first.owner.accessToken;
    expect(
      (await api('GET', `/rooms/${encodeURIComponent(first.roomId)}/state/m.room.encryption/`, token)).json.algorithm,
    ).toBe('m.megolm.v1.aes-sha2');
    expect(await secrets.get(OWNER_RECOVERY_SECRET)).toMatch(/^E[sS]\w{2}( \w{4})+$/);
    // Cross-signing and key backup exist for the owner; the short-lived key setup device is gone again.
    const keys = await api('POST', '/keys/query', token, { device_keys: { [first.owner.userId]: [] } });
    expect(Object.keys(keys.json.master_keys as object)).toEqual([first.owner.userId]);
    expect((await api('GET', '/room_keys/version', token)).status).toBe(200);
    const devices = (await api('GET', '/devices', token)).json.devices as Array<{ device_id: string }>;
    expect(devices.map((d) => d.device_id)).toEqual([first.owner.deviceId]);
    // The bot passwords the runner's crypto needs are where it looks for them.
    expect(await secrets.get(accountSecretNames('bot.owner-bot').password)).toBeTruthy();

    const key = await secrets.get(OWNER_RECOVERY_SECRET);
    const again = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: settingsFor('owner'),
      encrypt: true,
    });
    expect(again.roomId).toBe(first.roomId);
    expect(again.ownerRecoveryKeyCreated).toBe(false);
    expect(await secrets.get(OWNER_RECOVERY_SECRET)).toBe(key);
  }, 30_000);

  it('switches an existing unencrypted team room to encrypted, and never back', async () => {
    const secrets = new MemorySecretStore();
    const stateDir = join(dir, 'b');
    const plain = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: settingsFor('boss'),
    });
    expect(plain.encrypted).toBe(false);
    expect(plain.ownerRecoveryKeyCreated).toBe(false);
    expect(await secrets.get(OWNER_RECOVERY_SECRET)).toBeUndefined();
    const path = `/rooms/${encodeURIComponent(plain.roomId)}/state/m.room.encryption/`;
    expect((await api('GET', path, plain.owner.accessToken)).status).toBe(404);

    const switched = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: settingsFor('boss'),
      encrypt: true,
    });
    expect(switched.roomId).toBe(plain.roomId);
    expect(switched.encrypted).toBe(true);
    expect(switched.ownerRecoveryKeyCreated).toBe(true);
    expect((await api('GET', path, plain.owner.accessToken)).json.algorithm).toBe('m.megolm.v1.aes-sha2');

    const off = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: settingsFor('boss'),
    });
    expect(off.encrypted).toBe(true);
  }, 30_000);

  it('leaves a bot added later to the encrypted room for a bot to invite with the history keys, and lets bots invite', async () => {
    const secrets = new MemorySecretStore();
    const stateDir = join(dir, 'c');
    const one = settingsFor('chief');
    const first = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: one,
      encrypt: true,
      botsInvite: true,
    });
    expect(first.historyInvites).toEqual([]); // a new room: nothing said yet, the owner invites
    const two = settingsSchema.parse({
      ...one,
      bots: [...one.bots, { id: 'chief-late', displayName: 'Late', model: 'ollama:tiny' }],
    });
    const second = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: two,
      encrypt: true,
      botsInvite: true,
    });
    const late = second.bots.find((b) => b.id === 'chief-late')!;
    expect(second.historyInvites).toEqual([late.userId]);
    const token = first.owner.accessToken;
    const room = encodeURIComponent(first.roomId);
    expect(
      (await api('GET', `/rooms/${room}/state/m.room.member/${encodeURIComponent(late.userId)}`, token)).status,
    ).toBe(404);
    const pl = (await api('GET', `/rooms/${room}/state/m.room.power_levels/`, token)).json as {
      users: Record<string, number>;
      invite: number;
      kick: number;
      state_default: number;
    };
    for (const b of second.bots) expect(pl.users[b.userId]).toBeGreaterThanOrEqual(pl.invite);
    expect(pl.invite).toBeGreaterThan(0); // not every member: only the owner and the bots
    expect([pl.kick, pl.state_default]).toEqual([50, 50]);
    // Without a bot runner to do it (serve --no-bots), the owner adds the bot as before.
    const third = await provision({
      homeserverUrl: server.url,
      registrationToken: TOKEN,
      stateDir,
      secrets,
      settings: two,
      encrypt: true,
    });
    expect(third.historyInvites).toEqual([]);
    expect(
      (await api('GET', `/rooms/${room}/state/m.room.member/${encodeURIComponent(late.userId)}`, token)).json
        .membership,
    ).toBe('join');
  }, 30_000);
});
