// The core's typed event emitter: services publish, transports (IPC, WebSocket) subscribe.
import type { EventListener, EventName, Events, EventSource, Unsubscribe } from '../../common/contract.ts';

export class EventHub implements EventSource {
  readonly #listeners = new Map<EventName, Set<(payload: never) => void>>();

  on<E extends EventName>(event: E, listener: EventListener<E>): Unsubscribe {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (l as EventListener<E>)(payload);
      } catch {
        // One subscriber's failure must not stop the others.
      }
    }
  }
}
