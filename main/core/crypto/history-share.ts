// Shared room history for a bot added later to an encrypted room (MSC4268, as matrix-js-sdk implements it): a bot
// that already holds the room's keys invites the newcomer; the SDK's invite uploads an encrypted bundle of those keys
// as media and sends its location by encrypted to-device message, and the newcomer's joinRoom imports it.
import { MatrixError, Method, type MatrixClient } from 'matrix-js-sdk';

/** What an inviting bot offers: its SDK client (Rust crypto on) and the wait for its cross-signing setup. */
export interface HistoryInviter {
  readonly userId: string;
  readonly client: MatrixClient;
  isJoined(roomId: string): boolean;
  /** Resolves once cross-signing is set up: the SDK shares history only from a device signed by its own identity. */
  trustReady(): Promise<void>;
}

export interface HistoryInviteLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export type HistoryInviteOutcome = 'shared' | 'plain' | 'already';

/** The bot that should invite: the first other one that is in the room; undefined when none is. */
export function pickInviter<T extends Pick<HistoryInviter, 'userId' | 'isJoined'>>(
  candidates: readonly T[],
  roomId: string,
  invitee: string,
): T | undefined {
  return candidates.find((c) => c.userId !== invitee && c.isJoined(roomId));
}

/**
 * Invites `userId` with the room's history keys. When sharing fails (no keys, no cross-signing, a server without
 * media), the invite still goes out without them: the newcomer then reads what is sent after it joins, as before.
 */
export async function inviteWithHistory(
  inviter: HistoryInviter,
  roomId: string,
  userId: string,
  log?: HistoryInviteLogger,
): Promise<HistoryInviteOutcome> {
  const member = await inviter.client.getStateEvent(roomId, 'm.room.member', userId).catch((err: unknown) => {
    if (err instanceof MatrixError && err.httpStatus === 404) return undefined;
    throw err;
  });
  const membership = (member as { membership?: string } | undefined)?.membership;
  if (membership === 'join' || membership === 'invite') return 'already';
  await inviter.trustReady();
  try {
    await inviter.client.invite(roomId, userId);
    log?.info({ roomId, inviter: inviter.userId, invitee: userId }, 'invited with the room history keys');
    return 'shared';
  } catch (err) {
    // The invite itself refused (power levels) is not a sharing failure: the person has to act.
    if (err instanceof MatrixError && err.httpStatus === 403) throw err;
    log?.warn(
      { roomId, invitee: userId, err: (err as Error).message },
      'could not share the room history; inviting without it',
    );
  }
  // The plain invite endpoint: client.invite() would try the sharing again first.
  await inviter.client.http.authedRequest(Method.Post, `/rooms/${encodeURIComponent(roomId)}/invite`, undefined, {
    user_id: userId,
  });
  return 'plain';
}
