// The sequences of one loaded model's context, each with its LlamaChat: handed to one request at a time, the
// most recently returned first (its evaluated prefix is the likeliest to be reused), and waited for in order
// when all are busy.
import { LlamaChat, type ChatWrapper, type LlamaContext, type LlamaContextSequence } from 'node-llama-cpp';
import { abortedError } from './pool-support.ts';

export interface Slot {
  sequence: LlamaContextSequence;
  chat: LlamaChat;
}

export class PoolSlots {
  readonly #free: Slot[] = [];
  readonly #waiters: Array<(slot: Slot) => void> = [];

  /** A free sequence, a new one while the context has some left, else the next one given back. */
  take(context: LlamaContext, chatWrapper: ChatWrapper, signal: AbortSignal | undefined): Promise<Slot> {
    const free = this.#free.pop();
    if (free) return Promise.resolve(free);
    if (context.sequencesLeft > 0) {
      const sequence = context.getSequence();
      return Promise.resolve({
        sequence,
        chat: new LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false }),
      });
    }
    return new Promise<Slot>((resolve, reject) => {
      const give = (slot: Slot) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(slot);
      };
      const onAbort = () => {
        this.#waiters.splice(this.#waiters.indexOf(give), 1);
        reject(abortedError());
      };
      if (signal?.aborted) return reject(abortedError());
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(give);
    });
  }

  /** A request is done with its sequence: the first waiter gets it, or it waits for the next request. */
  give(slot: Slot): void {
    const next = this.#waiters.shift();
    if (next) next(slot);
    else this.#free.push(slot);
  }
}
