// The team room's provisioning steps: found again (name, topic and encryption brought in line) or created, then the
// bots joined (a newcomer to an encrypted room left for a bot holding the keys to invite) and bots gone removed.
import type { MatrixClient } from 'matrix-js-sdk';
import type { Logger } from '../logging/logger.ts';
import type { AccountSession } from './accounts.ts';
import { ensureRoomEncrypted } from './encryption.ts';
import {
  createTeamRoomRequest,
  ensureJoined,
  ensureRemoved,
  findTeamRoom,
  membershipOf,
  syncRoomDetails,
  type RoomSettings,
} from './room.ts';

/** Runs one provisioning step, its failure described by what it was doing. */
export type Step = <T>(what: string, run: () => Promise<T>) => Promise<T>;

export interface TeamRoomWanted {
  room: RoomSettings;
  /** The room provisioned before, if any (it is found again by its marker otherwise). */
  previousId: string | undefined;
  botUserIds: string[];
  /** Create it encrypted, or switch an existing one on. */
  encrypt: boolean;
}

/** The team room's id: the one found again, its details brought in line, else a new one. */
export async function ensureTeamRoom(
  step: Step,
  owner: AccountSession,
  want: TeamRoomWanted,
  log: Logger | undefined,
): Promise<string> {
  const roomId = await step('looking for the team room', () =>
    findTeamRoom(owner.client, owner.userId, want.previousId),
  );
  if (!roomId) {
    const created = (
      await step('creating the team room', () =>
        owner.client.createRoom(
          createTeamRoomRequest(want.room, owner.userId, want.botUserIds, { encrypted: want.encrypt }),
        ),
      )
    ).room_id;
    log?.info({ roomId: created, encrypted: want.encrypt }, 'created the team room');
    return created;
  }
  await step('updating the room name and topic', () => syncRoomDetails(owner.client, roomId, want.room));
  if (
    want.encrypt &&
    (await step('turning on encryption in the team room', () => ensureRoomEncrypted(owner.client, roomId)))
  )
    log?.info({ roomId }, 'encryption turned on in the team room');
  return roomId;
}

/**
 * Each bot joins the room. In an encrypted room that a bot already reads, a newcomer is left out here: the bot holding
 * the keys invites it with the history (returned), as a bot joining on its own could not read what came before.
 */
export async function joinBots(
  step: Step,
  owner: MatrixClient,
  roomId: string,
  bots: AccountSession[],
  keysTravelWithInvite: boolean,
): Promise<string[]> {
  const membership = new Map<string, string | undefined>();
  for (const bot of bots)
    membership.set(bot.userId, await step('reading the room members', () => membershipOf(owner, roomId, bot.userId)));
  const keyHolder = keysTravelWithInvite && bots.some((b) => membership.get(b.userId) === 'join');
  const historyInvites: string[] = [];
  for (const bot of bots) {
    const m = membership.get(bot.userId);
    if (keyHolder && m !== 'join' && m !== 'invite' && m !== 'ban') {
      historyInvites.push(bot.userId);
      continue;
    }
    await step(`adding ${bot.userId} to the room`, () => ensureJoined(owner, bot.client, roomId, bot.userId));
  }
  return historyInvites;
}

/** Bots no longer in settings leave the room; the ones removed now. */
export async function removeGoneBots(
  step: Step,
  owner: MatrixClient,
  roomId: string,
  previous: ReadonlyArray<{ userId: string }>,
  kept: ReadonlySet<string>,
): Promise<string[]> {
  const removed: string[] = [];
  for (const gone of previous) {
    if (kept.has(gone.userId)) continue;
    if (await step(`removing ${gone.userId} from the room`, () => ensureRemoved(owner, roomId, gone.userId)))
      removed.push(gone.userId);
  }
  return removed;
}

/** An existing room may have been encrypted from elsewhere (Element): the bots need to know either way. */
export async function isEncrypted(client: MatrixClient, roomId: string): Promise<boolean> {
  try {
    return typeof (await client.getStateEvent(roomId, 'm.room.encryption', '')).algorithm === 'string';
  } catch {
    return false;
  }
}
