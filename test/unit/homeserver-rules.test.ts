// Pure decisions of the test homeserver: power levels, redaction, pagination tokens and conduit.toml parsing.
import { describe, expect, it } from 'vitest';
import { parseConduitToml } from '../support/homeserver/conduit-stand-in.ts';
import { paginate } from '../support/homeserver/paginate.ts';
import {
  actionLevel,
  defaultPowerLevels,
  eventLevel,
  powerLevelsChangeAllowed,
  userLevel,
} from '../support/homeserver/power-levels.ts';
import { redactContent } from '../support/homeserver/redaction.ts';
import type { StoredEvent } from '../support/homeserver/store.ts';

const pl = defaultPowerLevels('@owner:x', 'private_chat', ['@bot:x']);

describe('power levels', () => {
  it.each([
    ['@owner:x', 100],
    ['@bot:x', 0],
    ['@nobody:x', 0],
  ])('user %s has level %i', (user, level) => expect(userLevel(pl, user)).toBe(level));

  it.each([
    ['m.room.message', false, 0],
    ['m.room.name', true, 50],
    ['m.room.power_levels', true, 100],
    ['m.room.topic', true, 50],
    ['com.example.custom', true, 50],
  ])('event %s (state %s) needs %i', (type, state, level) => expect(eventLevel(pl, type, state)).toBe(level));

  it('uses preset defaults for invite and the creator rule without power levels', () => {
    expect(actionLevel(pl, 'invite')).toBe(0);
    expect(actionLevel(defaultPowerLevels('@o:x', 'public_chat', []), 'invite')).toBe(50);
    expect(defaultPowerLevels('@o:x', 'trusted_private_chat', ['@b:x']).users).toEqual({ '@o:x': 100, '@b:x': 100 });
    expect(userLevel(undefined, '@c:x', '@c:x')).toBe(100);
    expect(userLevel(undefined, '@d:x', '@c:x')).toBe(0);
  });

  it.each([
    ['raising oneself above own level', '@mod:x', { users: { '@owner:x': 100, '@mod:x': 100 } }, false],
    ['demoting an equal', '@mod:x', { users: { '@owner:x': 100, '@mod:x': 50, '@peer:x': 0 } }, false],
    [
      'promoting a user to own level',
      '@mod:x',
      { users: { '@owner:x': 100, '@mod:x': 50, '@peer:x': 50, '@new:x': 50 } },
      true,
    ],
    ['owner changes anything', '@owner:x', { users: { '@owner:x': 100 }, state_default: 0 }, true],
    [
      'moderator lowers a 100-level event',
      '@mod:x',
      { users: { '@owner:x': 100, '@mod:x': 50, '@peer:x': 50 }, events: {} },
      false,
    ],
  ])('%s', (_name, sender, change, allowed) => {
    const before = { users: { '@owner:x': 100, '@mod:x': 50, '@peer:x': 50 }, events: { 'm.room.power_levels': 100 } };
    const after = { events: before.events, ...change };
    expect(powerLevelsChangeAllowed(before, after, sender)).toBe(allowed);
  });
});

describe('redaction', () => {
  it.each([
    ['m.room.message', { body: 'secret', msgtype: 'm.text' }, '10', {}],
    ['m.room.member', { membership: 'join', displayname: 'A' }, '10', { membership: 'join' }],
    ['m.room.create', { creator: '@a:x', room_version: '10', extra: 1 }, '10', { creator: '@a:x' }],
    ['m.room.create', { room_version: '11', extra: 1 }, '11', { room_version: '11', extra: 1 }],
    ['m.room.power_levels', { users: {}, invite: 0, notifications: {} }, '11', { users: {}, invite: 0 }],
    ['m.room.power_levels', { users: {}, invite: 0 }, '10', { users: {} }],
  ])('%s in room version %s', (type, content, version, expected) =>
    expect(redactContent(type, content, version)).toEqual(expected),
  );
});

describe('pagination tokens', () => {
  const events = [3, 5, 8, 9].map(
    (stream) => ({ stream, event: { event_id: `$${stream}` } }) as unknown as StoredEvent,
  );
  it.each([
    ['b', null, 2, ['$9', '$8'], 's7'],
    ['b', 's7', 2, ['$5', '$3'], undefined],
    ['f', null, 3, ['$3', '$5', '$8'], 's8'],
    ['f', 's5', 5, ['$8', '$9'], undefined],
  ])('dir %s from %s limit %i', (dir, from, limit, ids, next) => {
    const page = paginate(events, dir, from, null, limit, 9);
    expect(page.chunk.map((e) => e.event.event_id)).toEqual(ids);
    expect(page.next).toBe(next);
  });
  it('rejects bad tokens and directions', () => {
    expect(() => paginate(events, 'x', null, null, 1, 9)).toThrow(/dir/);
    expect(() => paginate(events, 'b', 'garbage', null, 1, 9)).toThrow(/token/);
  });
});

describe('conduit.toml', () => {
  const base = '[global]\nserver_name = "a.local"\ndatabase_path = "/tmp/db"\n';
  it('reads the fields the supervisor writes, with Conduit defaults', () => {
    expect(
      parseConduitToml(
        `${base}address = "0.0.0.0"\nport = 6167\nallow_registration = true\nregistration_token = "t"\nmax_request_size = 1000\nlog = "debug"\n`,
      ),
    ).toEqual({
      serverName: 'a.local',
      databasePath: '/tmp/db',
      address: '0.0.0.0',
      port: 6167,
      allowRegistration: true,
      registrationToken: 't',
      allowFederation: false,
      maxRequestSize: 1000,
      log: 'debug',
    });
    expect(parseConduitToml(base)).toMatchObject({
      port: 8000,
      address: '127.0.0.1',
      allowRegistration: false,
      log: 'warn',
    });
  });
  it.each([
    ['not toml [', /invalid TOML/],
    ['[other]\n', /\[global\]/],
    ['[global]\ndatabase_path = "/x"\n', /server_name/],
    [`${base}port = 70000\n`, /port/],
    [`${base}allow_registration = "yes"\n`, /allow_registration/],
    [`${base}log = "loud"\n`, /log/],
  ])('rejects %j', (text, message) => expect(() => parseConduitToml(text)).toThrow(message));
});
