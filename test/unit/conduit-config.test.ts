// Pure parts of the homeserver supervisor: conduit.toml, bind address, restart policy, binary lookup,
// process identity for the pid file, and log rotation.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bundledBinaryPath,
  ConduitBinaryNotFoundError,
  resolveConduitBinary,
} from '../../main/core/homeserver/binary.ts';
import {
  bindAddress,
  clientUrl,
  ConduitConfigError,
  conduitConfig,
  firstLanAddress,
  renderConduitToml,
  type ConduitConfigInput,
} from '../../main/core/homeserver/conduit-config.ts';
import { isOurHomeserver, type PidRecord } from '../../main/core/homeserver/process-tools.ts';
import { decideRestart, type RestartPolicy } from '../../main/core/homeserver/restart-policy.ts';
import { RotatingLog } from '../../main/core/homeserver/rotating-log.ts';

const tmp = mkdtempSync(join(tmpdir(), 'conduit-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const input: ConduitConfigInput = {
  serverName: 'agent-room.localhost',
  databasePath: '/data/homeserver/database',
  databaseBackend: 'rocksdb',
  address: '127.0.0.1',
  port: 6167,
  registrationToken: 'tok',
  maxRequestSizeBytes: 20_971_520,
  logLevel: 'warn',
};

describe('conduit.toml', () => {
  it('writes every setting under [global], federation off, registration only with a token', () => {
    const parsed = parse(renderConduitToml(input)) as { global: Record<string, unknown> };
    expect(parsed.global).toMatchObject({
      server_name: 'agent-room.localhost',
      database_backend: 'rocksdb',
      database_path: '/data/homeserver/database',
      address: '127.0.0.1',
      port: 6167,
      max_request_size: 20_971_520,
      allow_registration: true,
      registration_token: 'tok',
      allow_federation: false,
      log: 'warn',
    });
  });

  it.each([
    [undefined, false],
    ['', false],
    ['secret', true],
  ])('registration token %j → allow_registration %s', (token, allowed) => {
    const g = conduitConfig({ ...input, registrationToken: token }).global as Record<string, unknown>;
    expect(g.allow_registration).toBe(allowed);
    expect('registration_token' in g).toBe(allowed);
  });

  it.each([['bad name!'], ['a b'], ['']])('rejects the server name %j', (serverName) => {
    expect(() => conduitConfig({ ...input, serverName })).toThrow(ConduitConfigError);
  });

  it('rejects a port outside 1–65535', () => {
    expect(() => conduitConfig({ ...input, port: 0 })).toThrow(/outside/);
  });

  it.each([
    [false, '192.168.1.5', '127.0.0.1'],
    [true, '192.168.1.5', '192.168.1.5'],
    [true, undefined, '127.0.0.1'],
  ])('lanAccess %s with LAN address %s binds %s', (lan, address, expected) => {
    expect(bindAddress(lan, address)).toBe(expected);
  });

  it('finds the first external IPv4 address and builds client URLs', () => {
    const nics = {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
      eth0: [
        { address: 'fe80::1', family: 'IPv6', internal: false },
        { address: '10.0.0.7', family: 'IPv4', internal: false },
      ],
    } as unknown as Parameters<typeof firstLanAddress>[0];
    expect(firstLanAddress(nics)).toBe('10.0.0.7');
    expect(clientUrl('127.0.0.1', 80)).toBe('http://127.0.0.1:80');
    expect(clientUrl('::1', 80)).toBe('http://[::1]:80');
  });
});

describe('restart policy', () => {
  const policy: RestartPolicy = { initialBackoffMs: 250, maxBackoffMs: 2000, maxCrashes: 5, windowMs: 60_000 };
  it.each([
    [[1000], 1000, { action: 'restart', delayMs: 250, recentCrashes: 1 }],
    [[1000, 2000], 2000, { action: 'restart', delayMs: 500, recentCrashes: 2 }],
    [[1, 2, 3, 4], 4, { action: 'restart', delayMs: 2000, recentCrashes: 4 }],
    [[1, 2, 3, 4, 5], 5, { action: 'give-up', recentCrashes: 5 }],
    // Old crashes leave the window: a crash a minute later starts over.
    [[1, 2, 3, 4, 70_000], 70_000, { action: 'restart', delayMs: 250, recentCrashes: 1 }],
  ])('crashes at %j, now %d → %j', (times, now, expected) => {
    expect(decideRestart(times, now, policy)).toEqual(expected);
  });
});

describe('binary resolution', () => {
  const res = join(tmp, 'resources');
  const bundled = bundledBinaryPath(res, 'linux', 'x64');
  mkdirSync(join(res, 'bin', 'linux-x64'), { recursive: true });

  it('uses resources/bin/<platform>-<arch>/conduit, .exe on Windows', () => {
    expect(bundled).toBe(join(res, 'bin', 'linux-x64', 'conduit'));
    expect(bundledBinaryPath(res, 'win32', 'x64')).toBe(join(res, 'bin', 'win32-x64', 'conduit.exe'));
  });

  it('explains how to fix a missing binary', () => {
    const run = () => resolveConduitBinary({ resourcesDir: res, env: {}, platform: 'linux', arch: 'x64' });
    expect(run).toThrow(ConduitBinaryNotFoundError);
    try {
      run();
    } catch (err) {
      expect((err as ConduitBinaryNotFoundError).message).toContain(`${bundled} (missing)`);
      expect((err as ConduitBinaryNotFoundError).hint).toMatch(
        /npm run fetch-conduit.*binaryPath.*AGENT_ROOM_CONDUIT.*external/,
      );
    }
  });

  it('prefers the environment, then settings, then the bundled copy; a broken explicit choice is an error', () => {
    writeFileSync(bundled, '#!/bin/sh\n');
    chmodSync(bundled, 0o755);
    const custom = join(tmp, 'my-conduit');
    writeFileSync(custom, '#!/bin/sh\n');
    chmodSync(custom, 0o755);
    expect(resolveConduitBinary({ resourcesDir: res, env: {}, platform: 'linux', arch: 'x64' })).toEqual({
      command: bundled,
      args: [],
    });
    expect(
      resolveConduitBinary({ resourcesDir: res, env: {}, settingsPath: custom, platform: 'linux', arch: 'x64' })
        .command,
    ).toBe(custom);
    expect(
      resolveConduitBinary({
        resourcesDir: res,
        env: { AGENT_ROOM_CONDUIT: custom },
        settingsPath: '/nope',
        platform: 'linux',
        arch: 'x64',
      }).command,
    ).toBe(custom);
    expect(() =>
      resolveConduitBinary({
        resourcesDir: res,
        env: { AGENT_ROOM_CONDUIT: '/nope/conduit' },
        platform: 'linux',
        arch: 'x64',
      }),
    ).toThrow(/environment AGENT_ROOM_CONDUIT \/nope\/conduit \(missing\)/);
    chmodSync(custom, 0o644);
    expect(() =>
      resolveConduitBinary({ resourcesDir: res, env: {}, settingsPath: custom, platform: 'linux', arch: 'x64' }),
    ).toThrow(/not executable/);
  });
});

describe('pid file identity', () => {
  const record: PidRecord = {
    pid: 42,
    argv: ['/app/resources/bin/linux-x64/conduit'],
    config: '/data/homeserver/conduit.toml',
    startedAt: '',
  };
  const standIn: PidRecord = {
    pid: 42,
    argv: ['/repo/node_modules/.bin/node', '/repo/test/support/homeserver/conduit-stand-in.ts'],
    config: '/d/conduit.toml',
    startedAt: '',
  };
  it.each([
    [
      'our binary, our config',
      { argv: ['/app/resources/bin/linux-x64/conduit'], env: { CONDUIT_CONFIG: '/data/homeserver/conduit.toml' } },
      record,
      true,
    ],
    ['our binary, environment unreadable', { argv: ['/app/resources/bin/linux-x64/conduit'] }, record, true],
    [
      'our binary, another data folder',
      { argv: ['/app/resources/bin/linux-x64/conduit'], env: { CONDUIT_CONFIG: '/other/conduit.toml' } },
      record,
      false,
    ],
    ['an unrelated program', { argv: ['/usr/bin/vim', 'notes.txt'], env: {} }, record, false],
    ['identity unknown', {}, record, false],
    [
      'the stand-in script',
      {
        argv: ['node', '/repo/test/support/homeserver/conduit-stand-in.ts'],
        env: { CONDUIT_CONFIG: '/d/conduit.toml' },
      },
      standIn,
      true,
    ],
    [
      'node running something else',
      { argv: ['node', '/repo/other.js'], env: { CONDUIT_CONFIG: '/d/conduit.toml' } },
      standIn,
      false,
    ],
  ])('%s → %s', (_name, identity, rec, expected) => {
    expect(isOurHomeserver(identity, rec)).toBe(expected);
  });
});

describe('rotating log', () => {
  it('rotates by size and keeps a fixed number of files', () => {
    const dir = join(tmp, 'logs');
    const log = new RotatingLog({ file: join(dir, 'homeserver.log'), maxBytes: 100, keep: 2 });
    for (let i = 0; i < 10; i++) log.write(`${String(i).repeat(59)}\n`); // 60 bytes: one per file
    log.close();
    expect(readdirSync(dir).sort()).toEqual(['homeserver.1.log', 'homeserver.2.log', 'homeserver.log']);
    expect(readFileSync(join(dir, 'homeserver.log'), 'utf8')).toMatch(/^9+\n$/);
    expect(readFileSync(join(dir, 'homeserver.1.log'), 'utf8')).toMatch(/^8+\n$/);
  });
});
