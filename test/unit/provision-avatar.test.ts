// Pure parts of provisioning: the PNG identicon, the registration stage choice, the room's power levels.
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { nextRegistrationStage } from '../../main/core/provisioning/accounts.ts';
import { encodePng, identiconPattern, identiconPng } from '../../main/core/provisioning/avatar.ts';
import { botAvatar } from '../../main/core/provisioning/provisioner.ts';
import { createTeamRoomRequest, teamPowerLevels, TEAM_ROOM_MARKER } from '../../main/core/provisioning/room.ts';

/** Reads a PNG's chunks back (a tiny decoder for what encodePng writes). */
function decode(png: Buffer): { width: number; height: number; pixel: (x: number, y: number) => number[] } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const len = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).toEqual([8, 2]);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  return {
    width,
    height,
    pixel: (x, y) => [...raw.subarray(y * (width * 3 + 1) + 1 + x * 3, y * (width * 3 + 1) + 4 + x * 3)],
  };
}

describe('PNG encoder', () => {
  it('encodes RGB pixels that decode back to the same values', () => {
    const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
    const img = decode(encodePng(2, 2, rgb));
    expect([img.width, img.height]).toEqual([2, 2]);
    expect(img.pixel(0, 0)).toEqual([255, 0, 0]);
    expect(img.pixel(1, 1)).toEqual([10, 20, 30]);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(5))).toThrow(RangeError);
  });
});

describe('identicon', () => {
  it('is deterministic per id, symmetric, and differs between ids', () => {
    expect(identiconPng('mistral')).toEqual(identiconPng('mistral'));
    expect(identiconPng('mistral')).not.toEqual(identiconPng('llama'));
    const { cells } = identiconPattern('mistral');
    for (const row of cells) expect(row).toEqual([...row].reverse());
    const img = decode(identiconPng('mistral', 96));
    expect([img.width, img.height]).toEqual([96, 96]);
    expect(img.pixel(0, 0)).toEqual([240, 240, 240]); // margin
  });

  it('uses an mxc:// avatar from settings as it is', () => {
    expect(botAvatar({ id: 'a', avatar: 'mxc://x/y' })).toEqual({ key: 'mxc://x/y', mxc: 'mxc://x/y' });
    expect(botAvatar({ id: 'a' }).png).toBeInstanceOf(Buffer);
  });
});

describe('registration stages', () => {
  it.each([
    [{ flows: [{ stages: ['m.login.registration_token'] }] }, 'm.login.registration_token'],
    [{ flows: [{ stages: ['m.login.dummy'] }] }, 'm.login.dummy'],
    [
      {
        flows: [{ stages: ['m.login.email.identity'] }, { stages: ['m.login.registration_token', 'm.login.dummy'] }],
        completed: ['m.login.registration_token'],
      },
      'm.login.dummy',
    ],
    [{ flows: [{ stages: ['m.login.recaptcha'] }] }, undefined],
    [{}, undefined],
  ])('%j → %s', (data, stage) => {
    expect(nextRegistrationStage(data)).toBe(stage);
  });
});

describe('team room', () => {
  it('makes the owner admin and lets bots post but not change state', () => {
    const pl = teamPowerLevels('@me:hs', ['@a:hs']) as {
      users: Record<string, number>;
      events_default: number;
      state_default: number;
      events: Record<string, number>;
    };
    expect(pl.users).toEqual({ '@me:hs': 100, '@a:hs': 0 });
    expect(pl.events_default).toBe(0);
    expect(pl.state_default).toBeGreaterThan(0);
    expect(pl.events['m.room.power_levels']).toBe(100);
  });

  it('creates a private, invite-only room with shared history, no guests and the marker', () => {
    const req = createTeamRoomRequest({ name: 'AI Team', topic: 't' }, '@me:hs', ['@a:hs']);
    expect(req.invite).toEqual(['@a:hs']);
    const state = Object.fromEntries((req.initial_state ?? []).map((e) => [e.type, e.content]));
    expect(state['m.room.history_visibility']).toEqual({ history_visibility: 'shared' });
    expect(state['m.room.guest_access']).toEqual({ guest_access: 'forbidden' });
    expect(state['m.room.join_rules']).toEqual({ join_rule: 'invite' });
    expect(state[TEAM_ROOM_MARKER]).toEqual({ version: 1 });
  });
});
