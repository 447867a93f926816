// What a pipeline run looks like in the room: each stage's output streamed as a notice in a thread under the request
// (headed with the stage and its model; a skipped stage as one line saying why), then the answer as the reply to the
// request, or a notice naming the stage that failed. Notices, and not marked final: they address no bot and enter no
// model's context, and the window shows the bot replying until the answer.
import { basename, isAbsolute } from 'node:path';
import type { StageResult } from '../pipelines/pipeline-runner.ts';
import type { BotConnection } from './bot-client.ts';
import type { MessageView } from './mentions.ts';
import { ReplyStream, type ReplyStreamOptions } from './reply-stream.ts';
import type { BotStateStore } from './state-store.ts';
import type { Clock, TurnInfo } from './types.ts';

export interface PipelineMessagesOptions {
  conn: BotConnection;
  state: BotStateStore;
  roomId: string;
  trigger: MessageView;
  turn: TurnInfo;
  editsPerSecond: number;
  clock: Clock;
}

/** A local file's model by its file name (the folder says nothing to the room). */
const shortModel = (ref: string): string =>
  ref.startsWith('llama:') && isAbsolute(ref.slice(6)) ? `llama:${basename(ref.slice(6))}` : ref;

const header = (name: string, model: string): string => `**${name}** · \`${shortModel(model)}\`\n\n`;

/** A stage's output as shown: a JSON answer as a JSON code block. */
export function shownOutput(r: Pick<StageResult, 'output' | 'json'>): string {
  return r.json === undefined ? r.output : `\`\`\`json\n${JSON.stringify(r.json, null, 2)}\n\`\`\``;
}

export class PipelineMessages {
  readonly #o: PipelineMessagesOptions;
  /** The thread the stages go in: the request's own thread, or a new one under it. */
  readonly #root: string;
  #stage: { stream: ReplyStream; name: string } | undefined;
  #answer: ReplyStream | undefined;

  constructor(o: PipelineMessagesOptions) {
    this.#o = o;
    this.#root = o.trigger.threadRoot ?? o.trigger.triggerId;
  }

  #stream(txnId: string, inThread: boolean, more: Partial<ReplyStreamOptions> = {}): ReplyStream {
    const { conn, trigger, roomId } = this.#o;
    const threadRoot = inThread ? this.#root : trigger.threadRoot;
    return new ReplyStream({
      send: (r, type, content, txn) => conn.send(r, type, content, txn),
      firstTxnId: txnId,
      target: {
        roomId,
        eventId: trigger.triggerId,
        ...(threadRoot ? { threadRoot } : {}),
        ...(inThread || trigger.fromBot ? {} : { asker: trigger.sender }),
      },
      turn: threadRoot ? { ...this.#o.turn, thread: threadRoot } : this.#o.turn,
      editsPerSecond: this.#o.editsPerSecond,
      clock: this.#o.clock,
      ...(inThread ? { msgtype: 'm.notice' as const, markFinal: false } : {}),
      ...more,
    });
  }

  stageStart(name: string, model: string): void {
    const stream = this.#stream(`pipeline.${this.#o.trigger.triggerId}.${name}`, true);
    this.#stage = { stream, name };
    stream.push(header(name, model));
  }

  stageText(delta: string): void {
    this.#stage?.stream.push(delta);
  }

  async stageEnd(r: StageResult): Promise<void> {
    if (r.skipped) {
      const line = this.#stream(`pipeline.${this.#o.trigger.triggerId}.${r.name}`, true);
      await line.finish(`⏭️ **${r.name}** skipped: ${r.reason ?? 'its condition is false'}`);
      return;
    }
    const stage = this.#stage;
    this.#stage = undefined;
    await stage?.stream.finish(`${header(r.name, r.model)}${shownOutput(r)}`);
  }

  /** The answer, as the reply to the request (continuing one begun before a restart). */
  async answer(text: string): Promise<{ replyId: string | undefined; edits: number }> {
    const { state, trigger } = this.#o;
    const existing = state.replyFor(trigger.triggerId);
    const stream = this.#stream(`reply.${trigger.triggerId}`, false, {
      ...(existing ? { existingReplyId: existing } : {}),
      onReplyId: (id) => state.setInProgress(trigger.triggerId, id),
    });
    this.#answer = stream;
    await stream.finish(text);
    return { replyId: stream.replyId, edits: stream.edits };
  }

  /** The run ended early: the running stage's message says how, and for a failure a notice names the stage. */
  async ended(note: string, notice?: string): Promise<void> {
    const stage = this.#stage;
    this.#stage = undefined;
    if (stage) await stage.stream.finish(`${stage.stream.text}\n\n${note}`);
    if (notice === undefined) return;
    const { conn, roomId, trigger } = this.#o;
    await conn.send(roomId, 'm.room.message', {
      msgtype: 'm.notice',
      body: notice,
      'm.relates_to': trigger.threadRoot
        ? { rel_type: 'm.thread', event_id: trigger.threadRoot, 'm.in_reply_to': { event_id: trigger.triggerId } }
        : { 'm.in_reply_to': { event_id: trigger.triggerId } },
      'm.mentions': {},
    });
  }

  /** Stops streaming (shutdown): nothing more is sent. */
  async close(): Promise<void> {
    await this.#stage?.stream.close();
    await this.#answer?.close();
  }
}
