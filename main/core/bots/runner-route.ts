// Carrying out routing.ts's decision for a message that is not a command: the facts gathered from the room, a refusal
// (paused, over the rate limit) logged and told in the room, and the checks each reply passes before it is queued.
import { errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { Backpressure } from './backpressure.ts';
import type { LoopGuard } from './loop-guard.ts';
import type { MessageView } from './mentions.ts';
import type { SkippedHistory } from './notices.ts';
import { rateLimitNotice, type SenderRateLimiter } from './rate-limit.ts';
import { decideRoute } from './routing.ts';
import { logOutcome } from './runner-job.ts';
import type { BotRunnerOptions, Worker } from './runner-types.ts';
import { tooOld, type ThreadMembers } from './runner-workers.ts';
import type { Clock, RawEvent, TurnInfo } from './types.ts';

/** What routing needs of the runner, which owns all of it. */
export interface RouteContext {
  options: BotRunnerOptions;
  clock: Clock;
  log: Logger | undefined;
  guard: LoopGuard;
  rateLimiter: SenderRateLimiter;
  backpressure: Backpressure;
  skipped: SkippedHistory;
  threads: ThreadMembers;
  /** Rooms told of the pause, with the pause they were told of (its start). */
  pauseNoticed: Map<string, number>;
  workers: readonly Worker[];
  botUserIds: ReadonlySet<string>;
  historyWindowMs(): number;
}

/**
 * Decides who answers the message (`to` alone when given: a `!run`): `answer` is called for each bot to reply, in
 * order; a refusal (paused, over the rate limit) is carried out here.
 */
export async function routeMention(
  ctx: RouteContext,
  w: Worker,
  roomId: string,
  view: MessageView,
  answer: (t: Worker) => void,
  to?: Worker,
): Promise<void> {
  const g = ctx.options.getSettings().guard;
  const members = await w.conn.joinedMembers(roomId);
  const pausedSince = ctx.options.pausedSince?.();
  const decision = decideRoute({
    view,
    bots: ctx.options.provision.bots,
    joined: new Set(ctx.workers.filter((x) => x.conn.isJoined(roomId)).map((x) => x.account.userId)),
    answered: new Set(ctx.workers.filter((x) => x.state.isAnswered(view.triggerId)).map((x) => x.account.userId)),
    members,
    inReplyToSender: view.inReplyTo ? (await w.conn.fetchEvent(roomId, view.inReplyTo))?.sender : undefined,
    threadParticipants: view.threadRoot ? await ctx.threads.of(w, roomId, view.threadRoot, ctx.botUserIds) : undefined,
    addressed: to ? ctx.options.provision.bots.filter((b) => b.userId === to.account.userId) : undefined,
    allowDirectMessages: g.allowDirectMessages,
    paused: pausedSince !== undefined,
    pauseNoticed: pausedSince !== undefined && ctx.pauseNoticed.get(roomId) === pausedSince,
    rate: () => {
      ctx.rateLimiter.setOptions(g.rateLimit);
      return ctx.rateLimiter.check(view.sender, ctx.clock.now());
    },
  });
  if (decision.kind === 'none') return;
  const targets = decision.targets.map((b) => ctx.workers.find((x) => x.account.userId === b.userId)!);
  if (decision.kind === 'answer') {
    ctx.guard.setLimits({ maxHops: g.maxHops, roomTokensPerHour: g.roomTokensPerHour });
    for (const t of targets) answer(t);
    return;
  }
  const reason =
    decision.kind === 'paused' ? 'paused' : `rate limit (notice ${decision.notice ? 'sent' : 'sent earlier'})`;
  for (const t of targets) {
    t.state.markAnswered(view.triggerId);
    logOutcome(ctx.log, t.account.id, roomId, view.triggerId, 'refused', reason);
  }
  if (!decision.notice) return;
  if (decision.kind === 'paused') {
    // Paused from the tray or the chat window: nothing queued for later, one notice per room per pause.
    ctx.pauseNoticed.set(roomId, pausedSince!);
    await targets[0]!.conn.send(roomId, 'm.room.message', {
      msgtype: 'm.notice',
      body: 'The bots are paused. Resume them from the tray menu or the status panel.',
    });
    return;
  }
  const name = members.find((m) => m.userId === view.sender)?.displayName ?? view.sender;
  await targets[0]!.conn.send(roomId, 'm.room.message', {
    msgtype: 'm.notice',
    body: rateLimitNotice(name, decision.retryAfterMs),
    'm.relates_to': { 'm.in_reply_to': { event_id: view.triggerId } },
    'm.mentions': { user_ids: [view.sender] },
  });
}

/** The loop guard's turn when `t` may queue its reply; otherwise undefined, the refusal logged (and told, if due). */
export function admitReply(
  ctx: RouteContext,
  t: Worker,
  roomId: string,
  ev: RawEvent,
  view: MessageView,
): TurnInfo | undefined {
  const botId = t.account.id;
  if (t.state.isAnswered(view.triggerId)) return undefined;
  if (tooOld(t, ev.origin_server_ts, ctx.clock.now(), ctx.historyWindowMs())) {
    t.state.markAnswered(view.triggerId);
    t.refused++;
    logOutcome(ctx.log, botId, roomId, view.triggerId, 'refused', 'older than the history window at first join');
    if (!view.fromBot) ctx.skipped.add(botId, roomId, ev.origin_server_ts, ctx.historyWindowMs());
    return undefined;
  }
  const admitted = ctx.backpressure.admit(t, roomId, view);
  if (admitted !== true) {
    t.state.markAnswered(view.triggerId);
    t.refused++;
    logOutcome(ctx.log, botId, roomId, view.triggerId, 'refused', admitted);
    return undefined;
  }
  const decision = ctx.guard.check(
    {
      roomId,
      botUserId: t.account.userId,
      sender: view.sender,
      senderIsBot: view.fromBot,
      triggerId: view.triggerId,
      turn: view.turn,
    },
    ctx.clock.now(),
  );
  if (!decision.ok) {
    logOutcome(ctx.log, botId, roomId, view.triggerId, 'refused', `loop guard: ${decision.reason}`);
    t.state.markAnswered(view.triggerId);
    return undefined;
  }
  return decision.turn;
}

/** Who the bots listen to: the owner, the allowed users of the guard settings, and each other. */
export function allowedSender(ctx: RouteContext, userId: string): boolean {
  const g = ctx.options.getSettings().guard;
  return userId === ctx.options.provision.owner.userId || g.allowedUsers.includes(userId) || ctx.botUserIds.has(userId);
}

/** A bot joins a room it is invited to by someone it listens to. */
export async function joinOnInvite(
  ctx: RouteContext,
  w: Worker,
  roomId: string,
  inviter: string | undefined,
): Promise<void> {
  if (!inviter || !allowedSender(ctx, inviter)) return;
  try {
    await w.conn.join(roomId);
  } catch (err) {
    ctx.log?.warn({ bot: w.account.id, room: roomId, err: errorMessage(err) }, 'could not join on invite');
  }
}
