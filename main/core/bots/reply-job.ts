// One bot answering one message: context from the sync (from the homeserver when the sync did not carry enough),
// a stream from inference, the reply streamed as edits, typing while it works, and an honest last edit when it
// fails or is stopped.
export { threadEvents } from './reply-events.ts';
import type { GenerationStats } from '../../common/inference-types.ts';
import { PromptTooLongError, questionLimit } from '../inference/prompt-budget.ts';
import type { Logger } from '../logging/logger.ts';
import type { BotConnection } from './bot-client.ts';
import type { AttachmentSettings } from '../../common/settings-attachments.ts';
import { buildContext, historyComplete, questionCost, type ContextOptions, type Participant } from './context.ts';
import type { LoopGuard } from './loop-guard.ts';
import type { MessageView } from './mentions.ts';
import { CancelledError } from './queue.ts';
import { attachmentText, imagesOf, problemNotice, readMentionAttachments, withNotes } from './reply-attachments.ts';
import { syncedEvents, threadEvents } from './reply-events.ts';
import { ReplyStream } from './reply-stream.ts';
import type { BotStateStore } from './state-store.ts';
import { askInRoom, toolRoomChars } from './reply-tools.ts';
import type { Approvals } from './tool-approval.ts';
import type { BotTools } from './tool-call.ts';
import { runToolLoop } from './tool-loop.ts';
import type { BotConfig, BotInference, ChatMessage, Clock, RawEvent, TurnInfo } from './types.ts';

/** The prompt budget when the backend cannot say how much its model takes. */
const DEFAULT_PROMPT_TOKENS = 3072;

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
  /**
   * Most tokens of prompt (system + history) when set: a cap below the model's own budget (inference.promptBudget).
   * Unset, the model's budget alone bounds the prompt, and 3072 when the backend gives none.
   */
  promptTokens?: number | undefined;
  editsPerSecond: number;
  /** Attachments the mention brings are read under these settings; unset, they are not read. */
  attachments?: AttachmentSettings | undefined;
  /** MCP tools for bots that list some, and the room's approvals for those that change things. */
  tools?: BotTools | undefined;
  approvals?: Approvals | undefined;
  approvalTimeoutMs?: number | undefined;
}

export type ReplyOutcome =
  | { kind: 'done'; text: string; edits: number; replyId: string | undefined; stats?: GenerationStats }
  | { kind: 'cancelled' | 'failed' | 'shutdown'; text: string };

/** What a person reads at the end of a failed reply: what failed and what to do. */
export function failureText(err: unknown): string {
  const e = err as { message?: unknown; hint?: unknown; code?: unknown };
  const what = typeof e?.message === 'string' ? e.message : String(err);
  const hint =
    typeof e?.hint === 'string'
      ? e.hint
      : "Try again; if it keeps failing, check the bot's model in the model manager or the logs.";
  return `⚠️ The answer could not be completed: ${what} ${hint}`;
}

/**
 * The events a reply's context is built from: the newest `limit` up to the trigger (its thread's, in a thread).
 * When the sync already carried all of them that can matter, no request goes to the homeserver: the timeline
 * reaches the room's start or `limit` events back, or a `!reset` or a full context's worth of messages leads up
 * to the trigger. Otherwise they are read from /messages.
 */
async function contextEvents(deps: ReplyJobDeps, input: ReplyJobInput): Promise<RawEvent[]> {
  const limit = Math.max(50, deps.contextMessages * 6);
  const { triggerId, threadRoot } = input.trigger;
  const inThread = (events: RawEvent[]): RawEvent[] => (threadRoot ? threadEvents(events, threadRoot) : events);
  const synced = (await syncedEvents(deps.conn, input.roomId))
    ?.filter((e) => e.origin_server_ts <= input.cutoffTs)
    .slice(-limit);
  if (synced?.some((e) => e.event_id === triggerId)) {
    const events = inThread(synced);
    if (
      synced.length === limit ||
      synced[0]?.type === 'm.room.create' ||
      historyComplete(events, triggerId, deps.contextMessages)
    )
      return events;
  }
  const events = inThread(
    (await deps.conn.recentEvents(input.roomId, limit)).filter((e) => e.origin_server_ts <= input.cutoffTs),
  );
  if (!events.some((e) => e.event_id === triggerId)) {
    const ev = await deps.conn.fetchEvent(input.roomId, triggerId);
    if (ev) events.push(ev);
  }
  return events;
}

/** The reply as a stream of edits: in the trigger's thread, continuing a reply begun before a restart. */
function replyStream(input: ReplyJobInput, deps: ReplyJobDeps): ReplyStream {
  const { conn, state } = deps;
  return new ReplyStream({
    send: (roomId, type, content, txnId) => conn.send(roomId, type, content, txnId),
    firstTxnId: `reply.${input.trigger.triggerId}`,
    target: {
      roomId: input.roomId,
      eventId: input.trigger.triggerId,
      threadRoot: input.trigger.threadRoot,
      ...(input.trigger.fromBot ? {} : { asker: input.trigger.sender }),
    },
    turn:
      input.turn.thread || !input.trigger.threadRoot ? input.turn : { ...input.turn, thread: input.trigger.threadRoot },
    editsPerSecond: deps.editsPerSecond,
    clock: deps.clock,
    existingReplyId: state.replyFor(input.trigger.triggerId),
    onReplyId: (id) => state.setInProgress(input.trigger.triggerId, id),
  });
}

/** Streams the model's answer into `stream` until it ends or `signal` aborts; its final text, stats and tokens. */
async function generate(
  deps: ReplyJobDeps,
  messages: ChatMessage[],
  stream: ReplyStream,
  signal: AbortSignal,
  context: { roomId: string; eventId: string; question: string; input: ReplyJobInput; roomChars: number },
): Promise<{ finalText: string | undefined; stats: GenerationStats | undefined; tokens: number; notice?: string }> {
  const { bot } = deps;
  let notice: string | undefined;
  let finalText: string | undefined;
  let stats: GenerationStats | undefined;
  let tokens = 0;
  const request = {
    bot,
    messages,
    sampling: { temperature: bot.temperature, maxTokens: bot.maxTokens },
    signal,
    context: { roomId: context.roomId, eventId: context.eventId },
    question: context.question,
    onDecision: (d: { notice?: string }) => (notice = d.notice),
  };
  if (deps.tools && deps.approvals && bot.tools?.length) {
    const { trigger } = context.input;
    const place = {
      conn: deps.conn,
      approvals: deps.approvals,
      roomId: context.roomId,
      eventId: context.eventId,
      threadRoot: trigger.threadRoot,
      botName: deps.displayName,
      asker: trigger.fromBot ? undefined : trigger.sender,
      timeoutMs: deps.approvalTimeoutMs ?? 300_000,
      signal,
      logger: deps.logger,
    };
    const r = await runToolLoop({
      bot,
      inference: deps.inference,
      tools: deps.tools,
      request,
      out: stream,
      approve: (tool, args) => askInRoom(place, tool, args),
      roomChars: context.roomChars,
      now: () => deps.clock.now(),
    });
    return { finalText: r.finalText, stats: r.stats, tokens: r.tokens, ...(notice ? { notice } : {}) };
  }
  for await (const chunk of deps.inference.chat(request)) {
    if (signal.aborted) break;
    if (chunk.type === 'text') stream.push(chunk.text);
    else if (chunk.type === 'done') {
      finalText = chunk.text || stream.text;
      stats = chunk.stats;
      tokens = chunk.stats.promptTokens + chunk.stats.completionTokens;
    }
  }
  return { finalText, stats, tokens, ...(notice ? { notice } : {}) };
}

/** A notice about the answer (a spent budget), in reply to the request; one that fails to send is logged. */
async function sendNotice(conn: BotConnection, input: ReplyJobInput, body: string, log?: Logger): Promise<void> {
  await conn
    .send(input.roomId, 'm.room.message', {
      msgtype: 'm.notice',
      body,
      'm.relates_to': {
        ...(input.trigger.threadRoot
          ? { rel_type: 'm.thread', event_id: input.trigger.threadRoot, is_falling_back: true }
          : {}),
        'm.in_reply_to': { event_id: input.trigger.triggerId },
      },
      'm.mentions': {},
    })
    .catch((err: unknown) => log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'notice not sent'));
}

/** The reply's messages (history, the question and what its attachments add), or the notice that refuses it. */
async function prepareRequest(
  deps: ReplyJobDeps,
  input: ReplyJobInput,
  signal: AbortSignal,
): Promise<{ messages: ChatMessage[]; notes: string[]; promptTokens: number } | { refused: string }> {
  const { conn, bot } = deps;
  // Independent: the room's members, the model's real context less the answer's room (history that does not fit is
  // dropped oldest first), and the history (from the sync when it carried enough).
  const [participants, budget, events] = await Promise.all([
    deps.participants(input.roomId),
    deps.inference.promptBudget?.(bot, signal, input.trigger.body),
    contextEvents(deps, input),
  ]);
  const countTokens = (text: string) => deps.inference.countTokens(bot, text);
  const options: ContextOptions = {
    bot: { userId: conn.userId, displayName: deps.displayName, systemPrompt: bot.systemPrompt },
    participants,
    triggerId: input.trigger.triggerId,
    maxMessages: deps.contextMessages,
    maxTokens: budget
      ? Math.min(deps.promptTokens ?? Infinity, budget.promptTokens)
      : (deps.promptTokens ?? DEFAULT_PROMPT_TOKENS),
    ...(budget ? { messageOverheadTokens: budget.perMessageTokens } : {}),
    countTokens,
  };
  let messages = await buildContext(events, options);
  const cost = budget ? await questionCost(messages, countTokens) : undefined;
  // A question cut to fit would be answered as if it were whole: say so instead.
  if (budget && cost && cost.questionTokens > questionLimit(budget, cost.systemTokens))
    throw new PromptTooLongError(budget, cost.questionTokens, cost.systemTokens);
  const found = deps.attachments
    ? await readMentionAttachments({ ...input, conn, view: input.trigger, events, settings: deps.attachments, signal })
    : undefined;
  if (!found) return { messages, notes: [], promptTokens: options.maxTokens };
  if (found.problems.length > 0) return { refused: problemNotice(found.problems) };
  const images = imagesOf(found.results);
  if (images.length > 0) {
    const seeing = (await deps.inference.imageSupport?.(bot, signal)) ?? {
      ok: false as const,
      notice: `${deps.displayName}'s model (${bot.model}) cannot see images.`,
    };
    if (!seeing.ok) return { refused: seeing.notice };
  }
  const { systemTokens, questionTokens } = cost ?? (await questionCost(messages, countTokens));
  const limit = (budget ? questionLimit(budget, systemTokens) : options.maxTokens - systemTokens) - questionTokens;
  const { text, notes } = await attachmentText(found, limit, countTokens);
  messages = await buildContext(events, { ...options, attach: { text, images } });
  return { messages, notes, promptTokens: options.maxTokens };
}

export async function runReply(input: ReplyJobInput, deps: ReplyJobDeps, signal: AbortSignal): Promise<ReplyOutcome> {
  const { conn, state, bot, clock } = deps;
  const log = deps.logger?.child({ bot: bot.id, room: input.roomId, event: input.trigger.triggerId });
  const stream = replyStream(input, deps);
  const typing = (on: boolean): void => void conn.typing(input.roomId, on).catch(() => undefined);
  typing(true);
  const keepTyping = setInterval(() => typing(true), 20_000);
  try {
    const prepared = await prepareRequest(deps, input, signal);
    if ('refused' in prepared) {
      // Attachments it cannot read, or images its model cannot see: one notice, and the model is not asked.
      await sendNotice(conn, input, prepared.refused, log);
      state.markAnswered(input.trigger.triggerId);
      log?.info({ notice: prepared.refused }, 'attachments refused');
      return { kind: 'failed', text: prepared.refused };
    }
    const { messages, notes, promptTokens } = prepared;
    const used = bot.tools?.length
      ? await deps.inference.countTokens(bot, messages.map((m) => m.content).join('\n'))
      : 0;
    const { finalText, stats, tokens, notice } = await generate(deps, messages, stream, signal, {
      roomId: input.roomId,
      eventId: input.trigger.triggerId,
      question: input.trigger.body,
      input,
      roomChars: toolRoomChars(promptTokens, used),
    });
    if (signal.aborted) throw signal.reason;
    deps.guard.record(input.roomId, tokens || Math.ceil(stream.text.length / 4), clock.now());
    await stream.finish(withNotes(finalText ?? stream.text, notes));
    state.markAnswered(input.trigger.triggerId);
    log?.info({ edits: stream.edits, chars: stream.text.length }, 'reply sent');
    if (notice) await sendNotice(conn, input, notice, log);
    return {
      kind: 'done',
      text: finalText ?? stream.text,
      edits: stream.edits,
      replyId: stream.replyId,
      ...(stats ? { stats } : {}),
    };
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
      log?.warn(
        { err: sendErr instanceof Error ? sendErr.message : String(sendErr) },
        'could not send the closing edit',
      );
    }
    state.markAnswered(input.trigger.triggerId);
    return { kind: cancelled ? 'cancelled' : 'failed', text: stream.text };
  } finally {
    clearInterval(keepTyping);
    typing(false);
  }
}
