// Who answers a message, decided without side effects: the bots it addresses (mentions, pills, a reply to a bot, a
// thread a bot is in, a direct room) among those in the room, then whether they are paused or the sender is over the
// rate limit. The runner gathers the facts, asks this, and carries out the answer.
import { addressedBots, type AddressContext, type MentionTarget, type MessageView } from './mentions.ts';
import type { RateDecision } from './rate-limit.ts';

export interface RouteFacts {
  view: MessageView;
  /** Every configured bot. */
  bots: readonly MentionTarget[];
  /** User ids of the bots running here and joined to the room. */
  joined: ReadonlySet<string>;
  /** User ids of the bots that already answered this message (a replay after a restart): never asked again. */
  answered?: ReadonlySet<string>;
  /** The room's joined members. */
  members: ReadonlyArray<{ userId: string }>;
  /** Who sent the message this one replies to, when it replies. */
  inReplyToSender?: string | undefined;
  /** Bots that took part in the message's thread, when it is in one. */
  threadParticipants?: string[] | undefined;
  /** The bots the message is for when the caller knows (`!run` goes to the room's first bot); else read from it. */
  addressed?: readonly MentionTarget[] | undefined;
  allowDirectMessages: boolean;
  paused: boolean;
  /** This room was told of the pause already. */
  pauseNoticed: boolean;
  /** The sender's rate verdict; asked only for a person's message that bots would otherwise answer. */
  rate: () => RateDecision;
}

export type RouteDecision =
  /** Nobody here is addressed (or every bot addressed has answered already). */
  | { kind: 'none' }
  /** Refused while paused; `notice`: say so in the room (once per pause). */
  | { kind: 'paused'; targets: MentionTarget[]; notice: boolean }
  /** Refused: the sender is over the rate limit; `notice`: tell them (once per window). */
  | { kind: 'rate-limited'; targets: MentionTarget[]; notice: boolean; retryAfterMs: number }
  /** Each target queues a reply, in this order. */
  | { kind: 'answer'; targets: MentionTarget[] };

/** In a room of two, the bot that the sender is alone with. */
function directBot(f: RouteFacts): string | undefined {
  const { members, view } = f;
  if (members.length !== 2 || !members.some((m) => m.userId === view.sender)) return undefined;
  const botIds = new Set(f.bots.map((b) => b.userId));
  return members.find((m) => botIds.has(m.userId))?.userId;
}

export function decideRoute(f: RouteFacts): RouteDecision {
  const ctx: AddressContext = {
    bots: [...f.bots],
    inReplyToSender: f.inReplyToSender,
    threadParticipants: f.threadParticipants,
    directBotUserId: directBot(f),
    allowDirectMessages: f.allowDirectMessages,
  };
  const targets = (f.addressed ?? addressedBots(f.view, ctx)).filter(
    (b) => f.joined.has(b.userId) && !f.answered?.has(b.userId),
  );
  if (targets.length === 0) return { kind: 'none' };
  if (f.paused) return { kind: 'paused', targets, notice: !f.view.fromBot && !f.pauseNoticed };
  if (!f.view.fromBot) {
    const rate = f.rate();
    if (!rate.allowed) return { kind: 'rate-limited', targets, notice: rate.notify, retryAfterMs: rate.retryAfterMs };
  }
  return { kind: 'answer', targets };
}
