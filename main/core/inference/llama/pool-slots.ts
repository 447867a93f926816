// The sequences of one loaded model's context, each with its LlamaChat: handed to one request at a time, the
// most recently returned first (its evaluated prefix is the likeliest to be reused), and waited for in order
// when all are busy. A waiting request of high priority (a bot's reply) is served before every waiting request
// of low priority (the OpenAI-compatible API), so a flood of API requests can never starve the room.
import { LlamaChat, type ChatWrapper, type LlamaContext, type LlamaContextSequence } from 'node-llama-cpp';
import { abortedError } from './pool-support.ts';

export interface Slot {
  sequence: LlamaContextSequence;
  chat: LlamaChat;
}

/** Who waits first for a sequence: 'high' (the default: the bots' replies) before 'low' (API requests). */
export type SlotPriority = 'high' | 'low';

interface Waiter {
  give: (slot: Slot) => void;
  priority: SlotPriority;
}

export class PoolSlots {
  readonly #free: Slot[] = [];
  readonly #waiters: Waiter[] = [];
  #inUse = 0;

  /** Sequences handed out and not given back yet. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Requests waiting for a sequence. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** A free sequence, a new one while the context has some left, else the next one given back. */
  take(
    context: LlamaContext,
    chatWrapper: ChatWrapper,
    signal: AbortSignal | undefined,
    priority: SlotPriority = 'high',
  ): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(abortedError());
    const free = this.#free.pop();
    if (free) return Promise.resolve(this.#hand(free));
    if (context.sequencesLeft > 0) {
      const sequence = context.getSequence();
      return Promise.resolve(
        this.#hand({
          sequence,
          chat: new LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false }),
        }),
      );
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        give: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** A request is done with its sequence: the first high-priority waiter gets it, else the first waiter, else it waits. */
  give(slot: Slot): void {
    this.#inUse--;
    const high = this.#waiters.findIndex((w) => w.priority === 'high');
    const next = this.#waiters.splice(high >= 0 ? high : 0, 1)[0];
    if (next) next.give(this.#hand(slot));
    else this.#free.push(slot);
  }

  #hand(slot: Slot): Slot {
    this.#inUse++;
    return slot;
  }
}
