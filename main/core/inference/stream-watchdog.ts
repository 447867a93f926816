// An idle limit for a backend's stream: a longer wait for the first token (the model may be loading and reading
// the prompt), then a shorter one between tokens. When it runs out the watchdog aborts its signal, which the
// backend hands to its HTTP request, so a stalled connection is closed instead of holding the reply (and the
// bot's queue behind it) until the server gives up.
import { InferenceError } from './types.ts';

export interface IdleLimits {
  /** Until the first token. */
  firstTokenMs: number;
  /** Between tokens once they flow. */
  idleMs: number;
}

export interface StallContext {
  /** Who stalled, for the message: `Ollama at http://…`, `endpoint "cloud" (https://…)`. */
  where: string;
  /** Where the limits are set, for the hint: `endpoints.ollama[home]`. */
  settingsPath: string;
  /** Setting names of the two limits. */
  firstTokenSetting: string;
  idleSetting: string;
}

/** A stream got no token within its limit: the request was aborted. Code Timeout; the router tries the fallback if nothing was sent yet. */
export class StreamStalledError extends InferenceError {
  readonly phase: 'first-token' | 'idle';
  readonly limitMs: number;
  constructor(phase: 'first-token' | 'idle', limitMs: number, receivedChars: number, ctx: StallContext) {
    const seconds = Math.round(limitMs / 100) / 10;
    super(
      'Timeout',
      phase === 'first-token'
        ? `${ctx.where} did not start answering within ${seconds} s (loading the model and reading the prompt); the request was stopped.`
        : `${ctx.where} sent nothing for ${seconds} s after ${receivedChars} characters; the request was stopped and the reply is incomplete.`,
      {
        hint:
          phase === 'first-token'
            ? `The server may be overloaded or the model too big for it: try again or choose a smaller model; if it is only slow to load, raise ${ctx.firstTokenSetting} in ${ctx.settingsPath}.`
            : `The server stalled: try again; if it keeps happening, restart it, or raise ${ctx.idleSetting} in ${ctx.settingsPath} if the model is only slow.`,
      },
    );
    this.phase = phase;
    this.limitMs = limitMs;
  }
}

export class StreamWatchdog {
  readonly #controller = new AbortController();
  readonly #limits: IdleLimits;
  readonly #ctx: StallContext;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #phase: 'first-token' | 'idle' = 'first-token';
  #chars = 0;
  #error: StreamStalledError | undefined;

  /** Starts the first-token limit at once. */
  constructor(limits: IdleLimits, ctx: StallContext) {
    this.#limits = limits;
    this.#ctx = ctx;
    this.#timer = setTimeout(() => this.#expire(), limits.firstTokenMs);
  }

  /** Aborted when a limit runs out; its reason is the StreamStalledError. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The error once a limit ran out. */
  get error(): StreamStalledError | undefined {
    return this.#error;
  }

  /** A token (or any text) arrived: the idle limit starts over. */
  tick(chars: number): void {
    if (this.#error) return;
    this.#chars += chars;
    if (this.#phase === 'first-token') {
      this.#phase = 'idle';
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#expire(), this.#limits.idleMs);
    } else this.#timer?.refresh(); // cheaper than a new timer per token
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #expire(): void {
    this.#timer = undefined;
    const limit = this.#phase === 'first-token' ? this.#limits.firstTokenMs : this.#limits.idleMs;
    this.#error = new StreamStalledError(this.#phase, limit, this.#chars, this.#ctx);
    this.#controller.abort(this.#error);
  }
}
