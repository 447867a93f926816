// Which bots are replying in a room now, for the Stop button and the streaming look of a message. A bot types from
// the moment it takes a mention until its final edit; typing alone lags (its stop travels apart from the edit and may
// come seconds later), so a bot whose latest message turned final after its typing began is done, whatever typing says.
import type { DisplayMessage } from './timeline.ts';

type Latest = Pick<DisplayMessage, 'eventId' | 'final'>;

/** Kept across renders: the order in which typing starts and final edits were seen, as observation counts. */
export class ReplyTracker {
  #seq = 0;
  readonly #typingSince = new Map<string, number>();
  readonly #finalSeen = new Map<string, number>();

  /** The bots replying now: typing here, and not finished with the reply that typing began. */
  observe(typingBots: readonly string[], latestBySender: ReadonlyMap<string, Latest>): Set<string> {
    const seq = ++this.#seq;
    for (const id of typingBots) if (!this.#typingSince.has(id)) this.#typingSince.set(id, seq);
    for (const id of this.#typingSince.keys()) if (!typingBots.includes(id)) this.#typingSince.delete(id);
    for (const msg of latestBySender.values())
      if (msg.final && !this.#finalSeen.has(msg.eventId)) this.#finalSeen.set(msg.eventId, seq);
    const replying = new Set<string>();
    for (const id of typingBots) {
      const latest = latestBySender.get(id);
      const finishedAt = latest?.final ? this.#finalSeen.get(latest.eventId) : undefined;
      if (finishedAt === undefined || finishedAt < this.#typingSince.get(id)!) replying.add(id);
    }
    return replying;
  }
}

/** Each sender's latest message in the room, threads included. */
export function latestBySender(messages: Iterable<DisplayMessage>): Map<string, DisplayMessage> {
  const latest = new Map<string, DisplayMessage>();
  for (const msg of messages) {
    const seen = latest.get(msg.sender);
    if (!seen || msg.ts >= seen.ts) latest.set(msg.sender, msg);
  }
  return latest;
}
