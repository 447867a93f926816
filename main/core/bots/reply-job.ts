// One bot answering one message: context from the homeserver, a stream from inference, the reply
// streamed as edits, typing while it works, and an honest last edit when it fails or is stopped.
import type { GenerationStats } from '../../common/inference-types.ts';
import { PromptTooLongError, questionLimit } from '../inference/prompt-budget.ts';
import type { Logger } from '../logging/logger.ts';
import type { BotConnection } from './bot-client.ts';
import { buildContext, questionCost, type Participant } from './context.ts';
import type { LoopGuard } from './loop-guard.ts';
import { relationOf, type MessageView } from './mentions.ts';
import { CancelledError } from './queue.ts';
import { ReplyStream } from './reply-stream.ts';
import type { BotStateStore } from './state-store.ts';
import type { BotConfig, BotInference, Clock, RawEvent, TurnInfo } from './types.ts';

export interface ReplyJobInput {
  roomId: string;
  trigger: MessageView;
  /** origin_server_ts of the event that delivered the trigger; later events are not context. */
  cutoffTs: number;
  turn: TurnInfo;
}

export interface ReplyJobDeps {
  conn: BotConnection;
  state: BotStateStore;
  bot: BotConfig;
  displayName: string;
  inference: BotInference;
  guard: LoopGuard;
  clock: Clock;
  logger?: Logger;
  participants: (roomId: string) => Promise<Participant[]>;
  contextMessages: number;
  /** Most tokens of prompt (system + history): an upper bound on the model's own budget (inference.promptBudget). */
  promptTokens: number;
  editsPerSecond: number;
}

export type ReplyOutcome = { kind: 'done'; text: string; edits: number; replyId: string | undefined; stats?: GenerationStats } | { kind: 'cancelled' | 'failed' | 'shutdown'; text: string };

/** Events of the thread rooted at `root` (the root, its thread messages, and edits/redactions of those). */
export function threadEvents(events: readonly RawEvent[], root: string): RawEvent[] {
  const ids = new Set([root]);
  for (const e of events) {
    const rel = relationOf(e.content);
    if (rel.relType === 'm.thread' && rel.eventId === root) ids.add(e.event_id);
  }
  return events.filter((e) => {
    if (ids.has(e.event_id)) return true;
    const rel = relationOf(e.content);
    return (rel.relType === 'm.replace' && rel.eventId !== undefined && ids.has(rel.eventId)) || (e.redacts !== undefined && ids.has(e.redacts));
  });
}

/** What a person reads at the end of a failed reply: what failed and what to do. */
export function failureText(err: unknown): string {
  const e = err as { message?: unknown; hint?: unknown; code?: unknown };
  const what = typeof e?.message === 'string' ? e.message : String(err);
  const hint = typeof e?.hint === 'string' ? e.hint : 'Try again; if it keeps failing, check the bot\'s model in the model manager or the logs.';
  return `⚠️ The answer could not be completed: ${what} ${hint}`;
}

async function contextEvents(deps: ReplyJobDeps, input: ReplyJobInput): Promise<RawEvent[]> {
  const limit = Math.max(50, deps.contextMessages * 6);
  let events = (await deps.conn.recentEvents(input.roomId, limit)).filter((e) => e.origin_server_ts <= input.cutoffTs);
  if (input.trigger.threadRoot) events = threadEvents(events, input.trigger.threadRoot);
  if (!events.some((e) => e.event_id === input.trigger.triggerId)) {
    const ev = await deps.conn.fetchEvent(input.roomId, input.trigger.triggerId);
    if (ev) events.push(ev);
  }
  return events;
}

export async function runReply(input: ReplyJobInput, deps: ReplyJobDeps, signal: AbortSignal): Promise<ReplyOutcome> {
  const { conn, state, bot, clock } = deps;
  const log = deps.logger?.child({ bot: bot.id, room: input.roomId, event: input.trigger.triggerId });
  const stream = new ReplyStream({
    send: (roomId, type, content, txnId) => conn.send(roomId, type, content, txnId),
    firstTxnId: `reply.${input.trigger.triggerId}`,
    target: { roomId: input.roomId, eventId: input.trigger.triggerId, threadRoot: input.trigger.threadRoot, ...(input.trigger.fromBot ? {} : { asker: input.trigger.sender }) },
    turn: input.turn.thread || !input.trigger.threadRoot ? input.turn : { ...input.turn, thread: input.trigger.threadRoot },
    editsPerSecond: deps.editsPerSecond,
    clock,
    existingReplyId: state.replyFor(input.trigger.triggerId),
    onReplyId: (id) => state.setInProgress(input.trigger.triggerId, id),
  });
  const typing = (on: boolean): void => void conn.typing(input.roomId, on).catch(() => undefined);
  typing(true);
  const keepTyping = setInterval(() => typing(true), 20_000);
  try {
    const participants = await deps.participants(input.roomId);
    // The model's real context, less the answer's room: history that does not fit is dropped oldest first.
    const budget = await deps.inference.promptBudget?.(bot, signal);
    const countTokens = (text: string) => deps.inference.countTokens(bot, text);
    const messages = await buildContext(await contextEvents(deps, input), {
      bot: { userId: conn.userId, displayName: deps.displayName, systemPrompt: bot.systemPrompt },
      participants,
      triggerId: input.trigger.triggerId,
      maxMessages: deps.contextMessages,
      maxTokens: budget ? Math.min(deps.promptTokens, budget.promptTokens) : deps.promptTokens,
      ...(budget ? { messageOverheadTokens: budget.perMessageTokens } : {}),
      countTokens,
    });
    if (budget) {
      // A question cut to fit would be answered as if it were whole: say so instead.
      const { systemTokens, questionTokens } = await questionCost(messages, countTokens);
      if (questionTokens > questionLimit(budget, systemTokens)) throw new PromptTooLongError(budget, questionTokens, systemTokens);
    }
    let finalText: string | undefined;
    let stats: GenerationStats | undefined;
    let tokens = 0;
    for await (const chunk of deps.inference.chat({ bot, messages, sampling: { temperature: bot.temperature, maxTokens: bot.maxTokens }, signal })) {
      if (signal.aborted) break;
      if (chunk.type === 'text') stream.push(chunk.text);
      else {
        finalText = chunk.text || stream.text;
        stats = chunk.stats;
        tokens = chunk.stats.promptTokens + chunk.stats.completionTokens;
      }
    }
    if (signal.aborted) throw signal.reason;
    deps.guard.record(input.roomId, tokens || Math.ceil(stream.text.length / 4), clock.now());
    await stream.finish(finalText ?? stream.text);
    state.markAnswered(input.trigger.triggerId);
    log?.info({ edits: stream.edits, chars: stream.text.length }, 'reply sent');
    return { kind: 'done', text: finalText ?? stream.text, edits: stream.edits, replyId: stream.replyId, ...(stats ? { stats } : {}) };
  } catch (err) {
    const reason = signal.aborted ? signal.reason : err;
    if (reason instanceof CancelledError && reason.reason === 'shutdown') {
      // Left in progress: after the restart the same reply message is edited with a fresh answer.
      await stream.close();
      return { kind: 'shutdown', text: stream.text };
    }
    await stream.close();
    const cancelled = reason instanceof CancelledError;
    const note = cancelled ? `_(stopped: ${reason.message})_` : failureText(reason);
    if (!cancelled) log?.warn({ err: reason instanceof Error ? reason.message : String(reason) }, 'reply failed');
    try {
      if (stream.replyId || !cancelled) await stream.finish(stream.text ? `${stream.text}\n\n${note}` : note);
    } catch (sendErr) {
      log?.warn({ err: sendErr instanceof Error ? sendErr.message : String(sendErr) }, 'could not send the closing edit');
    }
    state.markAnswered(input.trigger.triggerId);
    return { kind: cancelled ? 'cancelled' : 'failed', text: stream.text };
  } finally {
    clearInterval(keepTyping);
    typing(false);
  }
}
