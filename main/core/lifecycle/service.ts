// The contract every long-running part of the app follows, so one host can start and stop them all.

export type ServiceState =
  | { status: 'idle' }
  | { status: 'starting' }
  | { status: 'running'; detail?: string }
  | { status: 'stopping' }
  | { status: 'stopped' }
  | { status: 'failed'; error: string; hint?: string }
  /** Running, but with a problem the person should see (e.g. a crash loop being retried). */
  | { status: 'degraded'; error: string; hint?: string };

export type StateListener = (state: ServiceState) => void;

export interface Service {
  readonly name: string;
  /** Resolves once the service is ready; rejects if it could not start. The signal aborts a slow start. */
  start(signal: AbortSignal): Promise<void>;
  /** Stops everything the service began (child processes, long-polls, generations) within deadlineMs. */
  stop(deadlineMs: number): Promise<void>;
  readonly state: ServiceState;
  onStateChange(listener: StateListener): () => void;
}

/** A small base that keeps the state and its listeners, so services only write start and stop. */
export abstract class BaseService implements Service {
  abstract readonly name: string;
  #state: ServiceState = { status: 'idle' };
  readonly #listeners = new Set<StateListener>();

  get state(): ServiceState {
    return this.#state;
  }

  protected setState(state: ServiceState): void {
    this.#state = state;
    for (const l of [...this.#listeners]) {
      try {
        l(state);
      } catch {
        // A listener's failure must not break the service.
      }
    }
  }

  onStateChange(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  abstract start(signal: AbortSignal): Promise<void>;
  abstract stop(deadlineMs: number): Promise<void>;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
