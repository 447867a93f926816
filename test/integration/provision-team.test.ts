// Provisioning against the protocol-faithful test homeserver (or a real one: npm run test:external): idempotent re-runs, bots added and removed,
// devices reused, and a clear error for an unreachable URL, a rejected token and an unwritable data folder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import { freePort } from '../../main/core/homeserver/process-tools.ts';
import { accountSecretNames } from '../../main/core/provisioning/accounts.ts';
import {
  DataDirUnwritableError,
  ProvisionUnreachableError,
  RegistrationRejectedError,
} from '../../main/core/provisioning/errors.ts';
import { readLoginInfo } from '../../main/core/provisioning/login-info.ts';
import { provision } from '../../main/core/provisioning/provisioner.ts';
import { TEAM_ROOM_MARKER } from '../../main/core/provisioning/room.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { startMatrixTarget, type MatrixTarget } from '../support/matrix-target.ts';

const TOKEN = 'test-registration-token';
let server: MatrixTarget;
/** A user id on the target: this run's suffix on the localpart. */
const uid = (localpart: string): string => `@${localpart}${server.suffix}:${server.serverName}`;
let dir: string;

function settingsWith(botIds: string[]): Pick<Settings, 'owner' | 'bots' | 'room'> {
  return settingsSchema.parse({
    owner: { localpart: `owner${server.suffix}` },
    bots: botIds.map((id) => ({ id: `${id}${server.suffix}`, displayName: `Bot ${id}`, model: 'ollama:tiny' })),
  });
}

async function api<T>(path: string, token: string): Promise<T> {
  const res = await fetch(`${server.url}/_matrix/client/v3${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  server = await startMatrixTarget({ serverName: 'team.test', registrationToken: TOKEN });
  dir = mkdtempSync(join(tmpdir(), 'provision-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('provision', () => {
  it('is idempotent, adds a later bot and removes a bot taken out of settings', async () => {
    const secrets = new MemorySecretStore();
    const stateDir = join(dir, 'state');
    const first = await provision({
      homeserverUrl: server.url,
      registrationToken: server.registrationToken,
      stateDir,
      secrets,
      settings: settingsWith(['alpha', 'beta']),
    });
    expect(first.ownerPasswordCreated).toBe(true);
    expect(first.serverName).toBe(server.serverName);
    expect(first.owner.userId).toBe(uid('owner'));
    expect(first.bots.map((b) => b.userId)).toEqual([uid('alpha'), uid('beta')]);
    expect(await secrets.get(accountSecretNames('owner').password)).toMatch(/.{20,}/);
    // What `agent-room login-info` prints: the password only when asked for.
    const info = await readLoginInfo(stateDir, secrets);
    expect(info).toMatchObject({
      homeserverUrl: server.url,
      serverName: server.serverName,
      userId: uid('owner'),
      roomId: first.roomId,
    });
    expect(info?.password).toBeUndefined();
    expect((await readLoginInfo(stateDir, secrets, { showPassword: true }))?.password).toBe(
      await secrets.get(accountSecretNames('owner').password),
    );
    // And that password signs in, as Element would.
    const login = await fetch(`${server.url}/_matrix/client/v3/login`, {
      method: 'POST',
      body: JSON.stringify({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: `owner${server.suffix}` },
        password: await secrets.get(accountSecretNames('owner').password),
      }),
    });
    expect(login.status).toBe(200);
    await fetch(`${server.url}/_matrix/client/v3/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` },
      body: '{}',
    });

    // The room as specified: power levels, history, guest access, join rule, both bots joined.
    const owner = first.owner.accessToken;
    const pl = await api<{ users: Record<string, number>; events_default: number; state_default: number }>(
      `/rooms/${encodeURIComponent(first.roomId)}/state/m.room.power_levels/`,
      owner,
    );
    expect(pl.users[uid('owner')]).toBe(100);
    expect(pl.users[uid('alpha')] ?? 0).toBe(0);
    expect(pl.events_default).toBe(0);
    expect(pl.state_default).toBe(50);
    expect(
      (
        await api<{ history_visibility: string }>(
          `/rooms/${encodeURIComponent(first.roomId)}/state/m.room.history_visibility/`,
          owner,
        )
      ).history_visibility,
    ).toBe('shared');
    expect(
      (
        await api<{ guest_access: string }>(
          `/rooms/${encodeURIComponent(first.roomId)}/state/m.room.guest_access/`,
          owner,
        )
      ).guest_access,
    ).toBe('forbidden');
    expect(
      (await api<{ join_rule: string }>(`/rooms/${encodeURIComponent(first.roomId)}/state/m.room.join_rules/`, owner))
        .join_rule,
    ).toBe('invite');
    const members = await api<{ joined: Record<string, { display_name?: string; avatar_url?: string }> }>(
      `/rooms/${encodeURIComponent(first.roomId)}/joined_members`,
      owner,
    );
    expect(Object.keys(members.joined).sort()).toEqual([uid('alpha'), uid('beta'), uid('owner')]);
    const alphaProfile = await api<{ displayname: string; avatar_url: string }>(
      `/profile/${encodeURIComponent(uid('alpha'))}`,
      owner,
    );
    expect(alphaProfile.displayname).toBe('Bot alpha');
    expect(alphaProfile.avatar_url.startsWith(`mxc://${server.serverName}/`)).toBe(true);

    // Second run, one bot more: same accounts, devices and room; no second room, no new device.
    const second = await provision({
      homeserverUrl: server.url,
      registrationToken: server.registrationToken,
      stateDir,
      secrets,
      settings: settingsWith(['alpha', 'beta', 'gamma']),
    });
    expect(second.ownerPasswordCreated).toBe(false);
    expect(second.roomId).toBe(first.roomId);
    expect(second.owner.deviceId).toBe(first.owner.deviceId);
    expect(second.bots.slice(0, 2).map((b) => b.deviceId)).toEqual(first.bots.map((b) => b.deviceId));
    const rooms = await api<{ joined_rooms: string[] }>('/joined_rooms', second.owner.accessToken);
    expect(rooms.joined_rooms).toEqual([first.roomId]);
    const devices = await api<{ devices: unknown[] }>('/devices', second.owner.accessToken);
    expect(devices.devices).toHaveLength(1);
    const after = await api<{ joined: Record<string, unknown> }>(
      `/rooms/${encodeURIComponent(first.roomId)}/joined_members`,
      owner,
    );
    expect(Object.keys(after.joined)).toContain(uid('gamma'));
    // The avatar is not uploaded again when it has not changed.
    expect((await api<{ avatar_url: string }>(`/profile/${encodeURIComponent(uid('alpha'))}`, owner)).avatar_url).toBe(
      alphaProfile.avatar_url,
    );

    // Third run without beta: beta is kicked by the owner; a fourth run changes nothing more.
    const third = await provision({
      homeserverUrl: server.url,
      registrationToken: server.registrationToken,
      stateDir,
      secrets,
      settings: settingsWith(['alpha', 'gamma']),
    });
    expect(third.removedBots).toEqual([uid('beta')]);
    const afterRemoval = await api<{ joined: Record<string, unknown> }>(
      `/rooms/${encodeURIComponent(first.roomId)}/joined_members`,
      owner,
    );
    expect(Object.keys(afterRemoval.joined).sort()).toEqual([uid('alpha'), uid('gamma'), uid('owner')]);
    const saved = JSON.parse(readFileSync(join(stateDir, 'provision.json'), 'utf8')) as {
      roomId: string;
      bots: Array<{ userId: string }>;
    };
    expect(saved.roomId).toBe(first.roomId);
    expect(saved.bots.map((b) => b.userId)).toEqual([uid('alpha'), uid('gamma')]);
    expect(JSON.stringify(saved)).not.toContain(first.owner.accessToken);
  });

  it('recovers after losing provision.json (finds the room by its marker) and after a revoked token (same device)', async () => {
    const secrets = new MemorySecretStore();
    const stateDir = join(dir, 'state-recover');
    const settings = { ...settingsWith(['delta']), owner: { localpart: `owner2${server.suffix}`, displayName: 'Me' } };
    const first = await provision({
      homeserverUrl: server.url,
      registrationToken: server.registrationToken,
      stateDir,
      secrets,
      settings,
    });
    rmSync(join(stateDir, 'provision.json'));
    // The owner's session ends on the server (as after a logout elsewhere).
    const res = await fetch(`${server.url}/_matrix/client/v3/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.owner.accessToken}` },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const second = await provision({
      homeserverUrl: server.url,
      registrationToken: server.registrationToken,
      stateDir,
      secrets,
      settings,
    });
    expect(second.roomId).toBe(first.roomId);
    expect(second.owner.deviceId).toBe(first.owner.deviceId);
    expect(second.owner.accessToken).not.toBe(first.owner.accessToken);
    const marker = await api<{ version: number }>(
      `/rooms/${encodeURIComponent(second.roomId)}/state/${TEAM_ROOM_MARKER}/`,
      second.owner.accessToken,
    );
    expect(marker.version).toBe(1);
  });

  it('reports an unreachable URL, a rejected token and an unwritable data folder clearly', async () => {
    const base = { secrets: new MemorySecretStore(), settings: settingsWith([]) };
    const closedPort = await freePort('127.0.0.1');
    const unreachable = provision({
      ...base,
      homeserverUrl: `http://127.0.0.1:${closedPort}`,
      stateDir: join(dir, 's1'),
    });
    await expect(unreachable).rejects.toBeInstanceOf(ProvisionUnreachableError);
    await expect(unreachable).rejects.toThrow(/cannot be reached: ECONNREFUSED/);

    const rejected = provision({
      ...base,
      homeserverUrl: server.url,
      registrationToken: 'wrong',
      stateDir: join(dir, 's2'),
      settings: { ...base.settings, owner: { localpart: `nobody${server.suffix}`, displayName: 'x' } },
    });
    await expect(rejected).rejects.toBeInstanceOf(RegistrationRejectedError);
    await expect(rejected).rejects.toThrow(/registration token was not accepted/);

    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const unwritable = provision({
      ...base,
      homeserverUrl: server.url,
      registrationToken: server.registrationToken,
      stateDir: join(file, 'state'),
    });
    await expect(unwritable).rejects.toBeInstanceOf(DataDirUnwritableError);
    await expect(unwritable).rejects.toThrow(/cannot be written/);
  });
});
