// Streams one reply into the room: the first text as a message at once, then m.replace edits no faster
// than the throttle allows, then a final edit with the whole text (marked final, so other bots may act on it)
// as soon as generation ends. A reply complete before its first message went out is one final message.
// Only the final version mentions the person who asked, so their client notifies them once, when it is done.
import { textContent } from './markdown.ts';
import { EditThrottle } from './throttle.ts';
import { FINAL_KEY, TURN_KEY, type Clock, type TurnInfo } from './types.ts';

export interface ReplyTarget {
  roomId: string;
  /** The message being answered. */
  eventId: string;
  /** The thread root, when the message is in a thread. */
  threadRoot?: string;
  /** The person who asked: mentioned by the final version. Never a bot (a mention would address it). */
  asker?: string;
}

export type SendFn = (
  roomId: string,
  type: string,
  content: Record<string, unknown>,
  txnId?: string,
) => Promise<string>;

export type MessageType = 'm.text' | 'm.notice';

const mentionsOf = (target: ReplyTarget, final: boolean): Record<string, unknown> =>
  final && target.asker ? { user_ids: [target.asker] } : {};

/** Content of the first message: a reply to the mention, in its thread if it has one. */
export function firstContent(
  text: string,
  target: ReplyTarget,
  turn: TurnInfo,
  final = false,
  msgtype: MessageType = 'm.text',
): Record<string, unknown> {
  const relates: Record<string, unknown> = target.threadRoot
    ? {
        rel_type: 'm.thread',
        event_id: target.threadRoot,
        is_falling_back: true,
        'm.in_reply_to': { event_id: target.eventId },
      }
    : { 'm.in_reply_to': { event_id: target.eventId } };
  const content: Record<string, unknown> = {
    msgtype,
    ...textContent(text),
    'm.relates_to': relates,
    'm.mentions': mentionsOf(target, final),
    [TURN_KEY]: turn,
  };
  if (final) content[FINAL_KEY] = true;
  return content;
}

/**
 * Content of an edit (spec: m.new_content holds the new message; body is "* " + the text for old clients). The
 * top-level m.mentions names only users the edit newly mentions: the asker, in the final edit.
 */
export function editContent(
  replyId: string,
  text: string,
  turn: TurnInfo,
  final: boolean,
  target?: ReplyTarget,
  msgtype: MessageType = 'm.text',
): Record<string, unknown> {
  const fresh = textContent(text);
  const mentions = target ? mentionsOf(target, final) : {};
  const content: Record<string, unknown> = {
    msgtype,
    body: `* ${fresh.body}`,
    format: fresh.format,
    formatted_body: `* ${fresh.formatted_body}`,
    'm.new_content': { msgtype, ...fresh, 'm.mentions': mentions, [TURN_KEY]: turn },
    'm.relates_to': { rel_type: 'm.replace', event_id: replyId },
    'm.mentions': mentions,
    [TURN_KEY]: turn,
  };
  if (final) content[FINAL_KEY] = true;
  return content;
}

export interface ReplyStreamOptions {
  send: SendFn;
  target: ReplyTarget;
  turn: TurnInfo;
  editsPerSecond: number;
  clock: Clock;
  /** A reply sent before a restart: edit it instead of sending a new message. */
  existingReplyId?: string;
  /** Called once the reply message exists (to persist it as in progress). */
  onReplyId?: (replyId: string) => void;
  /**
   * Transaction id of the first message, the same for every attempt at this reply: if the app died after the
   * server took the message but before its id was saved, the retry after restart gets the same event back
   * (the spec makes a transaction id idempotent per device) instead of posting a second reply.
   */
  firstTxnId?: string;
  /** m.notice for what is not an answer (a pipeline's stages): never addressed to a bot, never a model's context. */
  msgtype?: MessageType;
  /**
   * False: the last version is not marked final. Only a final version can address other bots, and the window shows
   * a bot replying until its latest message is final: a pipeline's stage messages come before its answer.
   */
  markFinal?: boolean;
}

export class ReplyStream {
  text = '';
  replyId: string | undefined;
  /** Edits sent (not counting the first message), the final one included. */
  edits = 0;
  readonly #throttle: EditThrottle;
  #chain: Promise<void> = Promise.resolve();
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #sentText = '';
  #error: unknown;
  #finished = false;

  private readonly o: ReplyStreamOptions;

  constructor(o: ReplyStreamOptions) {
    this.o = o;
    this.#throttle = new EditThrottle(o.editsPerSecond);
    this.replyId = o.existingReplyId;
  }

  /** Adds streamed text; sends it now or schedules it for when the throttle allows. */
  push(delta: string): void {
    this.text += delta;
    this.#schedule();
  }

  /**
   * Sends the complete text at once: as the final edit once any send in flight is done (the throttle paces only
   * the edits in between), or as the one and only message when none was sent yet.
   */
  async finish(finalText: string): Promise<void> {
    this.#finished = true;
    this.text = finalText;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#drain();
    // A streamed edit that failed is superseded by this final one, which carries the whole text: without
    // this, one refused send left the reply half-finished with no closing edit at all.
    this.#error = undefined;
    await this.#send(finalText.length ? finalText : '…', true);
  }

  /** Stops pending sends (on cancellation) and waits for the one in flight. */
  async close(): Promise<void> {
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#busy) await this.#chain;
  }

  #schedule(): void {
    if (
      this.#finished ||
      this.#busy ||
      this.#timer ||
      this.#error !== undefined ||
      this.text === this.#sentText ||
      this.text.trim() === ''
    )
      return;
    const delay = this.replyId ? this.#throttle.delayMs(this.o.clock.now()) : 0;
    if (delay === 0) this.#flush();
    else
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, delay);
  }

  #flush(): void {
    this.#busy = true;
    this.#chain = this.#send(this.text, false)
      .catch((err: unknown) => {
        this.#error ??= err;
      })
      .finally(() => {
        this.#busy = false;
        if (!this.#error) this.#schedule();
      });
  }

  async #send(text: string, last: boolean): Promise<void> {
    const { roomId } = this.o.target;
    const final = last && this.o.markFinal !== false;
    if (!this.replyId) {
      // Complete in its first message: marked final there (bots and the window read the mark on either).
      this.replyId = await this.o.send(
        roomId,
        'm.room.message',
        firstContent(text, this.o.target, this.o.turn, final, this.o.msgtype),
        this.o.firstTxnId,
      );
      this.o.onReplyId?.(this.replyId);
    } else {
      await this.o.send(
        roomId,
        'm.room.message',
        editContent(this.replyId, text, this.o.turn, final, this.o.target, this.o.msgtype),
      );
      this.edits++;
    }
    this.#sentText = text;
    // Marked when the server has it, so the gap between two edits on the server is at least the interval.
    this.#throttle.markSent(this.o.clock.now());
  }
}
