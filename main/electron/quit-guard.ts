// Quit waits for the core: the first quit request is held (before-quit → preventDefault), every service
// stops in reverse under one deadline, then the app exits. A hung stop cannot keep the app alive.
import { app } from 'electron';
import type { HostPort } from './core-port.ts';

export interface QuitGuardOptions {
  host: HostPort;
  /** One deadline for all services together. */
  deadlineMs: number;
  /** Extra time after the deadline before exiting anyway. */
  graceMs?: number;
  /** Runs as soon as quitting begins (windows stop hiding to tray, the tray shows stopping). */
  onQuitting?: () => void;
  /** Runs after the services stopped, right before exit (tray and windows destroyed). */
  beforeExit?: () => void;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Signals that quit like the menu does (SIGINT/SIGTERM from a terminal or a session logout). */
  signals?: NodeJS.Signals[];
  processRef?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export class QuitGuard {
  #quitting = false;
  #done = false;
  #finished: Promise<void> | undefined;

  constructor(private readonly options: QuitGuardOptions) {}

  get quitting(): boolean {
    return this.#quitting;
  }

  /** Resolves once the services stopped and app.exit ran (for tests and logs). */
  get finished(): Promise<void> | undefined {
    return this.#finished;
  }

  install(): void {
    app.on('before-quit', (event) => {
      if (this.#done) return;
      event.preventDefault();
      this.#begin();
    });
    // A tray app keeps running with no window; only Quit ends it.
    app.on('window-all-closed', () => undefined);
    const proc = this.options.processRef ?? process;
    for (const signal of this.options.signals ?? (['SIGINT', 'SIGTERM'] as NodeJS.Signals[]))
      proc.on(signal, () => app.quit());
  }

  #begin(): void {
    if (this.#quitting) return;
    this.#quitting = true;
    this.options.onQuitting?.();
    const { host, deadlineMs } = this.options;
    const log = this.options.logger;
    log?.info({ deadlineMs }, 'quit: stopping services');
    let timer: NodeJS.Timeout | undefined;
    const hardStop = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs + (this.options.graceMs ?? 2000));
    });
    this.#finished = Promise.race([host.stop(deadlineMs).then(() => 'stopped' as const), hardStop])
      .then(
        (result) => {
          if (result === 'timeout') log?.warn({}, 'quit: services did not stop in time; exiting anyway');
          else log?.info({}, 'quit: every service stopped');
        },
        (err: unknown) => log?.warn({ err: String(err) }, 'quit: stopping failed; exiting anyway'),
      )
      .then(() => {
        clearTimeout(timer);
        try {
          this.options.beforeExit?.();
        } finally {
          this.#done = true;
          app.exit(0);
        }
      });
  }
}

/** Takes the single-instance lock. A second launch hands its arguments over and exits; the first shows its window. */
export function acquireSingleInstance(onSecondInstance: (argv: string[]) => void): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', (_event, argv) => onSecondInstance(argv));
  return true;
}
