// Starts services in order and stops them in reverse under one deadline; quit waits on it.
import { errorMessage, type Service, type ServiceState } from './service.ts';
import type { Logger } from '../logging/logger.ts';

export class StartRefusedError extends Error {
  constructor() {
    super('The app is shutting down; nothing new starts now.');
    this.name = 'StartRefusedError';
  }
}

export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    readonly reason: string,
  ) {
    super(`${service} could not start: ${reason}`);
    this.name = 'ServiceStartError';
  }
}

export interface ServiceReport {
  name: string;
  state: ServiceState;
}

export type HostPhase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ServiceHostOptions {
  logger?: Logger;
  /** When false, a failed service is reported and the next ones still start. Default true (stop on failure). */
  failFast?: boolean;
  /** Names of services whose failure must not stop the others (they show the error in status instead). */
  optional?: ReadonlySet<string>;
}

export class ServiceHost {
  readonly #services: Service[] = [];
  readonly #started: Service[] = [];
  #phase: HostPhase = 'idle';
  #abort = new AbortController();
  #stopping: Promise<void> | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(private readonly options: ServiceHostOptions = {}) {}

  get phase(): HostPhase {
    return this.#phase;
  }

  add(service: Service): this {
    if (this.#phase !== 'idle') throw new Error(`Services are added before start (tried ${service.name}).`);
    this.#services.push(service);
    service.onStateChange(() => this.#emit());
    return this;
  }

  get<T extends Service>(name: string): T | undefined {
    return this.#services.find((s) => s.name === name) as T | undefined;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(): void {
    for (const l of [...this.#listeners]) l();
  }

  report(): ServiceReport[] {
    return this.#services.map((s) => ({ name: s.name, state: s.state }));
  }

  /** Starts every service in order. On a failure of a required service, stops those already started and throws. */
  async start(): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') throw new StartRefusedError();
    if (this.#phase !== 'idle') throw new Error('The service host was started already.');
    this.#phase = 'starting';
    this.#emit();
    const log = this.options.logger;
    for (const service of this.#services) {
      if (this.#abort.signal.aborted) throw new StartRefusedError();
      log?.info({ service: service.name }, 'starting service');
      try {
        this.#started.push(service);
        await service.start(this.#abort.signal);
        log?.info({ service: service.name, state: service.state.status }, 'service started');
      } catch (err) {
        if (this.#abort.signal.aborted) throw new StartRefusedError();
        const reason = errorMessage(err);
        // A typed error's hint (what the person can do) goes to the log too, not only to the status page.
        const hint = service.state.status === 'failed' ? service.state.hint : undefined;
        const errHint =
          typeof (err as { hint?: unknown })?.hint === 'string' ? (err as { hint: string }).hint : undefined;
        log?.error(
          { service: service.name, err: reason, ...((hint ?? errHint) ? { hint: hint ?? errHint } : {}) },
          'service failed to start',
        );
        if (this.options.optional?.has(service.name) || this.options.failFast === false) continue;
        await this.stop(10_000);
        throw new ServiceStartError(service.name, reason);
      }
    }
    this.#phase = 'running';
    this.#emit();
  }

  /** Stops started services in reverse order within one overall deadline. Safe to call many times. */
  stop(deadlineMs = 10_000): Promise<void> {
    this.#stopping ??= this.#stop(deadlineMs);
    return this.#stopping;
  }

  async #stop(deadlineMs: number): Promise<void> {
    this.#phase = 'stopping';
    this.#abort.abort(new StartRefusedError());
    this.#emit();
    const end = Date.now() + deadlineMs;
    const log = this.options.logger;
    for (const service of [...this.#started].reverse()) {
      const left = Math.max(0, end - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      try {
        const result = await Promise.race([service.stop(left).then(() => 'ok' as const), timeout]);
        if (result === 'timeout') log?.warn({ service: service.name }, 'service did not stop before the deadline');
      } catch (err) {
        log?.warn({ service: service.name, err: errorMessage(err) }, 'service failed while stopping');
      } finally {
        clearTimeout(timer);
      }
    }
    this.#phase = 'stopped';
    this.#emit();
  }
}
