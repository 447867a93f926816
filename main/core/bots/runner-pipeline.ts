// Pipelines in the room: `!run <pipeline> <text>` (or a mention of a bot bound to a pipeline) queued like any reply,
// then run by the engine (main/core/pipelines) with the runner's inference, its stages shown by PipelineMessages.
// A stop (!stop, the message deleted) aborts the stage running; a shutdown leaves the request to be run again.
import type { PipelineConfig } from '../../common/settings-master.ts';
import { errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import { findPipeline, pipelineList, planPipeline, PipelineSettingsError } from '../pipelines/pipeline-plan.ts';
import { PipelineStageError, runPipeline, type StageChat, type StageResult } from '../pipelines/pipeline-runner.ts';
import type { Command } from './commands.ts';
import { withoutMention } from './mentions.ts';
import { PipelineMessages, shownOutput } from './pipeline-messages.ts';
import { attachmentText, readMentionAttachments } from './reply-attachments.ts';
import { threadEvents } from './reply-job.ts';
import { CancelledError } from './queue.ts';
import type { ReplyOutcome } from './reply-job.ts';
import type { LoopGuard } from './loop-guard.ts';
import type { MessageView } from './mentions.ts';
import type { BotRunnerOptions, Worker } from './runner-types.ts';
import type { BotConfig, ChatChunk, Clock, TurnInfo } from './types.ts';

/** A pipeline to run and the text it runs on. */
export interface PipelineRun {
  pipeline: string;
  text: string;
}

/** What a run needs of the runner (its JobContext has it all). */
export interface PipelineJobContext {
  options: BotRunnerOptions;
  guard: LoopGuard;
  clock: Clock;
  log: Logger | undefined;
  botConfig(id: string): BotConfig | undefined;
}

/** The message a run answers (a QueuedMention). */
export interface PipelineMention {
  roomId: string;
  view: MessageView;
  turn: TurnInfo;
  run?: PipelineRun | undefined;
}

/**
 * What `!run` asks for: a run to queue, or the notice that answers it (the pipelines, or how to use it). With
 * `attachment` (the message is a file, or a reply that may be to one) the text may be empty: the document is the input.
 */
export function pipelineCommand(
  command: Command,
  pipelines: readonly PipelineConfig[],
  attachment = false,
): { run: PipelineRun } | { command: Command } {
  if (command.name !== 'run') return { command };
  const invalid = (reason: string) => ({ command: { name: 'invalid' as const, reason } });
  if (!command.pipeline) return invalid(`Usage: !run <pipeline> <text>\n\n${pipelineList(pipelines)}`);
  const found = findPipeline(pipelines, command.pipeline);
  if ('error' in found) return invalid(found.error);
  if (!command.text && !attachment)
    return invalid(`Usage: !run ${found.pipeline.name} <text>: give it the text to work on.`);
  return { run: { pipeline: found.pipeline.name, text: command.text } };
}

/** The run a message asks of bot `t`: the `!run` it came with, or the pipeline the bot is bound to. */
export function runFor(m: PipelineMention, t: Worker, bot: BotConfig): PipelineRun | undefined {
  if (m.run) return m.run;
  return bot.pipeline === undefined
    ? undefined
    : { pipeline: bot.pipeline, text: withoutMention(m.view.body, t.account) };
}

/** Counts the tokens of each stage's request for the room's budget (the loop guard). */
function counting(
  chat: (r: Parameters<StageChat>[0]) => AsyncIterable<ChatChunk>,
  add: (n: number) => void,
): StageChat {
  return async function* (request) {
    for await (const chunk of chat(request)) {
      if (chunk.type === 'done') add((chunk.stats?.promptTokens ?? 0) + (chunk.stats?.completionTokens ?? 0));
      yield chunk;
    }
  };
}

/** The notice of a run that failed: the stage and what to do, or what is wrong with the settings. */
function failureNotice(pipeline: string, err: unknown): string {
  if (err instanceof PipelineStageError)
    return `⚠️ Pipeline "${pipeline}" ended at stage "${err.stage}": ${err.message.replace(/^Stage "[^"]*" failed: /, '')}${err.hint ? ` ${err.hint}` : ''}`;
  if (err instanceof PipelineSettingsError) return `⚠️ ${err.message}`;
  return `⚠️ Pipeline "${pipeline}" could not run: ${errorMessage(err)}`;
}

/**
 * The run's input: its text, then the text of the documents the message brings (its own file, the one it replies to,
 * the thread's since the bot's last answer), cut to half the bot's prompt budget (the stages' prompts need the rest).
 */
async function pipelineInput(
  ctx: PipelineJobContext,
  t: Worker,
  m: PipelineMention,
  run: PipelineRun,
  signal: AbortSignal,
): Promise<string> {
  const { roomId, view } = m;
  const root = view.threadRoot;
  const events = root ? threadEvents(await t.conn.recentEvents(roomId, 100), root) : [];
  const settings = ctx.options.getSettings().attachments;
  const found = await readMentionAttachments({ conn: t.conn, roomId, view, events, settings, signal });
  if (!found) {
    if (!run.text)
      throw new Error(`give it the text to work on: !run ${run.pipeline} <text>, or reply so to a document.`);
    return run.text;
  }
  if (found.problems.length > 0) throw new Error(found.problems.map((p) => p.message).join(' '));
  const image = found.results.find((r) => r.kind === 'image');
  if (image) throw new Error(`pipelines read documents, not images (${image.ref.name}).`);
  const bot = ctx.botConfig(t.account.id);
  const budget = bot ? await ctx.options.inference.promptBudget?.(bot, signal) : undefined;
  const count = (text: string) => (bot ? ctx.options.inference.countTokens(bot, text) : Math.ceil(text.length / 4));
  const { text } = await attachmentText(found, Math.floor((budget?.promptTokens ?? 3072) / 2), count);
  return `${run.text}${text}`.trim();
}

/** Runs the pipeline as `t`'s answer to the message; the outcome as a reply's. */
export async function answerWithPipeline(
  ctx: PipelineJobContext,
  t: Worker,
  m: PipelineMention,
  run: PipelineRun,
  signal: AbortSignal,
): Promise<ReplyOutcome> {
  const { roomId, view } = m;
  const g = ctx.options.getSettings();
  const log = ctx.log?.child({ bot: t.account.id, room: roomId, event: view.triggerId, pipeline: run.pipeline });
  const messages = new PipelineMessages({
    conn: t.conn,
    state: t.state,
    roomId,
    trigger: view,
    turn: m.turn,
    editsPerSecond: g.guard.editsPerSecond,
    clock: ctx.clock,
  });
  const typing = (on: boolean): void => void t.conn.typing(roomId, on).catch(() => undefined);
  typing(true);
  const keepTyping = setInterval(() => typing(true), 20_000);
  let tokens = 0;
  try {
    const found = findPipeline(g.pipelines, run.pipeline);
    if ('error' in found) throw new Error(found.error);
    const result = await runPipeline({
      plan: planPipeline(found.pipeline, (id) => ctx.botConfig(id)),
      input: await pipelineInput(ctx, t, m, run, signal),
      chat: counting(
        (r) => ctx.options.inference.chat(r),
        (n) => (tokens += n),
      ),
      signal,
      context: { roomId, eventId: view.triggerId },
      events: {
        stageStart: (s) => messages.stageStart(s.name, s.model),
        stageText: (_name, delta) => messages.stageText(delta),
        stageEnd: (r: StageResult) => messages.stageEnd(r),
      },
    });
    const last = result.stages.filter((s) => !s.skipped).at(-1);
    const sent = await messages.answer(last ? shownOutput(last) : '_(No stage ran: each one was skipped.)_');
    t.state.markAnswered(view.triggerId);
    log?.info(
      { stages: result.stages.length, ran: result.stages.filter((s) => !s.skipped).length },
      'pipeline answered',
    );
    return { kind: 'done', text: result.answer, ...sent };
  } catch (err) {
    const reason = signal.aborted ? signal.reason : err;
    if (reason instanceof CancelledError && reason.reason === 'shutdown') {
      await messages.close();
      return { kind: 'shutdown', text: '' };
    }
    const cancelled = reason instanceof CancelledError;
    if (!cancelled) log?.warn({ err: errorMessage(reason) }, 'pipeline failed');
    try {
      if (cancelled) await messages.ended(`_(stopped: ${reason.message})_`);
      else await messages.ended('⚠️ _(this stage failed)_', failureNotice(run.pipeline, reason));
    } catch (sendErr) {
      log?.warn({ err: errorMessage(sendErr) }, 'could not tell the room how the pipeline ended');
    }
    t.state.markAnswered(view.triggerId);
    return { kind: cancelled ? 'cancelled' : 'failed', text: '' };
  } finally {
    ctx.guard.record(roomId, tokens, ctx.clock.now());
    clearInterval(keepTyping);
    typing(false);
  }
}
