// Failover between HTTP endpoints that serve the same models (OpenAI-compatible and Ollama alike): health per
// endpoint, healthy ones first, and a stream tried on each in turn until one starts answering. Once text reached
// the caller no other endpoint is tried: a second endpoint would start a second reply inside the first.
import type { Logger } from '../logging/logger.ts';
import { systemClock, type Clock } from './rate-limit.ts';
import { InferenceError, isInferenceError } from './types.ts';

export interface EndpointHealth {
  id: string;
  healthy: boolean;
  checkedAt: number;
  error?: string;
}

/** Characters one attempt has handed to the caller; failover stops once it is above 0. */
export interface AttemptProgress {
  chars: number;
}

export interface EndpointFailoverOptions {
  clock?: Clock;
  logger?: Logger;
  /** After a failure an endpoint goes to the end of the failover order for this long. Default 30 s. */
  unhealthyForMs?: number;
  /** For log lines: "openai", "ollama". */
  kind: string;
}

export class EndpointFailover<E extends { id: string }> {
  readonly #o: EndpointFailoverOptions;
  readonly #clock: Clock;
  readonly #health = new Map<string, EndpointHealth & { until: number }>();

  constructor(options: EndpointFailoverOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  health(): EndpointHealth[] {
    return [...this.#health.values()].map(({ until: _until, ...h }) => h);
  }

  /** Records a success (no error) or a failure, which sends the endpoint to the back of the order for a while. */
  mark(ep: E, error?: InferenceError): void {
    const now = this.#clock.now();
    this.#health.set(ep.id, {
      id: ep.id,
      healthy: !error,
      checkedAt: now,
      until: error ? now + (this.#o.unhealthyForMs ?? 30_000) : 0,
      ...(error ? { error: error.message } : {}),
    });
  }

  /** True while a recent failure keeps the endpoint at the back. */
  isSick(ep: E): boolean {
    return (this.#health.get(ep.id)?.until ?? 0) > this.#clock.now();
  }

  /** Healthy endpoints first (in the given order), then those that failed recently. */
  ordered(chain: readonly E[]): E[] {
    return [...chain.filter((e) => !this.isSick(e)), ...chain.filter((e) => this.isSick(e))];
  }

  /**
   * Streams from the first endpoint of the chain that answers. `attempt` runs one endpoint and reports the text it
   * handed out through `progress`; `toError` maps what it threw. Aborts and failures after text are thrown at once.
   * `eligible`, asked just before an endpoint's turn, passes over one that does not serve the model.
   */
  async *stream<T>(
    chain: readonly E[],
    what: string,
    attempt: (ep: E, progress: AttemptProgress) => AsyncIterable<T>,
    toError: (err: unknown, ep: E, progress: AttemptProgress) => InferenceError,
    eligible?: (ep: E) => Promise<boolean>,
  ): AsyncGenerator<T> {
    const failures: string[] = [];
    let last: InferenceError | undefined;
    for (const ep of this.ordered(chain)) {
      if (eligible && !(await eligible(ep))) continue;
      const progress: AttemptProgress = { chars: 0 };
      try {
        yield* attempt(ep, progress);
        this.mark(ep);
        return;
      } catch (err) {
        const e = isInferenceError(err) ? err : toError(err, ep, progress);
        if (e.code === 'Aborted' || progress.chars > 0) throw e;
        this.mark(ep, e);
        this.#o.logger?.warn(
          { endpoint: ep.id, model: what, code: e.code, err: e.message },
          `${this.#o.kind} endpoint failed; trying the next that serves the model`,
        );
        failures.push(`${ep.id}: ${e.message}`);
        last = e;
      }
    }
    if (!last) throw new InferenceError('BackendUnavailable', `No endpoint serves ${what}.`);
    if (failures.length === 1) throw last;
    throw new InferenceError(
      last?.code ?? 'BackendUnavailable',
      `Every endpoint for ${what} failed: ${failures.join('; ')}`,
      { cause: last, hint: last?.hint, retryAfterMs: last?.retryAfterMs },
    );
  }
}
