// Backpressure: beyond the queue limits (per room, in all) a mention is refused, and its sender told once per burst.
import type { MessageView } from './mentions.ts';
import { admit, queueFullNotice, QueueFullNotices, type QueueLimits } from './notices.ts';
import type { RoomQueues } from './queue.ts';
import type { Worker } from './runner-types.ts';

export class Backpressure {
  readonly #told = new QueueFullNotices();

  constructor(
    private readonly queue: RoomQueues,
    private readonly limits: () => QueueLimits,
    /** Posts a notice as the bot. */
    private readonly notice: (botId: string, roomId: string, body: string, extra: Record<string, unknown>) => void,
  ) {}

  /** True when one more reply fits; otherwise the reason it was refused (the sender is told, once per burst). */
  admit(t: Worker, roomId: string, view: MessageView): true | string {
    const room = this.queue.counts(undefined, roomId);
    const all = this.queue.counts();
    const a = admit(room.queued + room.running, all.queued + all.running, this.limits());
    if (a.ok) return true;
    if (!view.fromBot && this.#told.shouldTell(roomId, view.sender)) {
      void t.conn.joinedMembers(roomId).then(
        (members) => {
          const name = members.find((m) => m.userId === view.sender)?.displayName ?? view.sender;
          const extra = {
            'm.relates_to': { 'm.in_reply_to': { event_id: view.triggerId } },
            'm.mentions': { user_ids: [view.sender] },
          };
          this.notice(t.account.id, roomId, queueFullNotice(name, a.scope, a.limit), extra);
        },
        () => undefined,
      );
    }
    return `queue full (${a.scope}, ${a.limit})`;
  }

  /** After a reply ended: once the room is below its limit, its senders are told again at the next burst. */
  replyEnded(roomId: string): void {
    const c = this.queue.counts(undefined, roomId);
    if (c.queued + c.running < this.limits().maxQueuedPerRoom) this.#told.roomHasSpace(roomId);
  }
}
