// One queued reply, as the runner runs it: wait until the mention can be read, generate and stream the answer, and
// log how the mention ended.
import type { Logger } from '../logging/logger.ts';
import type { Participant } from './context.ts';
import type { LoopGuard } from './loop-guard.ts';
import type { MessageView } from './mentions.ts';
import { runReply } from './reply-job.ts';
import { answerWithPipeline, runFor, type PipelineRun } from './runner-pipeline.ts';
import type { BotRunnerOptions, Worker } from './runner-types.ts';
import type { Approvals } from './tool-approval.ts';
import type { BotConfig, Clock, RawEvent, TurnInfo } from './types.ts';

export type MentionOutcome = 'answered' | 'failed' | 'stopped' | 'refused';

/** Every mention ends in one of these, logged once with its event id. */
export function logOutcome(
  log: Logger | undefined,
  botId: string,
  roomId: string,
  eventId: string,
  outcome: MentionOutcome,
  reason?: string,
): void {
  log?.info({ bot: botId, room: roomId, event: eventId, outcome, ...(reason ? { reason } : {}) }, `mention ${outcome}`);
}

/** A reply dropped before it started (its mention deleted, or !stop): it ends, and no longer holds the sync token back. */
export function endUnstarted(
  log: Logger | undefined,
  t: Worker,
  roomId: string,
  eventId: string,
  reason: 'redacted' | 'stopped',
): void {
  t.unfinished.delete(eventId);
  t.state.markAnswered(eventId);
  logOutcome(
    log,
    t.account.id,
    roomId,
    eventId,
    'stopped',
    reason === 'redacted' ? 'deleted before it was answered' : '!stop',
  );
}

/** What a reply job needs of the runner. */
export interface JobContext {
  options: BotRunnerOptions;
  guard: LoopGuard;
  clock: Clock;
  log: Logger | undefined;
  botConfig(id: string): BotConfig | undefined;
  participants(w: Worker, roomId: string): Promise<Participant[]>;
  approvals: Approvals;
}

export interface QueuedMention {
  roomId: string;
  ev: RawEvent;
  view: MessageView;
  /** The loop guard's turn for this reply. */
  turn: TurnInfo;
  /** `!run`: a pipeline answers instead of the bot. */
  run?: PipelineRun | undefined;
}

export async function answerMention(ctx: JobContext, t: Worker, m: QueuedMention, signal: AbortSignal): Promise<void> {
  const botId = t.account.id;
  const { roomId, view } = m;
  const bot = ctx.botConfig(botId);
  if (!bot) throw new Error(`The bot ${botId} has an account but no settings; add it under bots in settings.`);
  const g = ctx.options.getSettings().guard;
  // Its room key may still be on its way (from key backup or the sender): the reply needs the message.
  if (!(await t.conn.waitReadable(roomId, view.triggerId, 20_000, signal)))
    ctx.log?.warn({ bot: botId, event: view.triggerId }, 'answering without being able to read the message');
  const run = runFor(m, t, bot);
  const outcome = run
    ? await answerWithPipeline(ctx, t, m, run, signal)
    : await runReply(
        { roomId, trigger: view, cutoffTs: m.ev.origin_server_ts, turn: m.turn },
        {
          conn: t.conn,
          state: t.state,
          bot,
          displayName: t.account.displayName,
          inference: ctx.options.inference,
          guard: ctx.guard,
          clock: ctx.clock,
          logger: ctx.log,
          participants: (r) => ctx.participants(t, r),
          contextMessages: g.contextMessages,
          promptTokens: ctx.options.promptTokens,
          editsPerSecond: g.editsPerSecond,
          attachments: ctx.options.getSettings().attachments,
          tools: ctx.options.tools,
          approvals: ctx.approvals,
          approvalTimeoutMs: ctx.options.getSettings().mcp?.approvalTimeoutMs,
        },
        signal,
      );
  if (outcome.kind !== 'shutdown') {
    t.unfinished.delete(view.triggerId);
    logOutcome(
      ctx.log,
      botId,
      roomId,
      view.triggerId,
      outcome.kind === 'done' ? 'answered' : outcome.kind === 'cancelled' ? 'stopped' : 'failed',
    );
  }
  ctx.options.onReply?.(botId, view.triggerId, outcome);
}
