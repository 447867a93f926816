// What the router tells the audit trail about one request: one entry per model tried (answered, failed,
// aborted) or one refusal, each with why that model, where it runs, the sensitive kinds and tokens.
import type { AuditEntry, AuditOutcome, AuditSink } from '../audit/audit-types.ts';
import type { BotConfig } from '../../common/settings-schema.ts';
import type { ClassifyResult } from './task-classifier.ts';
import type { GenerationStats } from './types.ts';

export interface CallContext {
  roomId: string;
  eventId: string;
  /**
   * Who asked, when it is not a person in a room: `api:<key name>` for the OpenAI-compatible API. The audit's bot
   * column then reads `api:<key>` (a model asked by reference) or `api:<key>/<bot id>` (a bot's settings used).
   */
  caller?: string;
}

function auditBotId(bot: BotConfig, context: CallContext | undefined): string {
  const caller = context?.caller;
  if (!caller || caller === bot.id) return bot.id;
  return `${caller}/${bot.id}`;
}

interface CallBase {
  bot: BotConfig;
  context: CallContext | undefined;
  sensitive: string[];
  prompt: string;
  /** The task the request was given; null when none. */
  task: string | null;
}

/**
 * openai:<endpoint>/<model> and ollama@<endpoint>:<tag> → the endpoint; other Ollama models → "ollama" (the
 * first endpoint, or a failover); in-process models → "local".
 */
export function endpointOf(model: string, backend: string): string | null {
  if (backend === 'openai') return /^openai:([^/]+)\//.exec(model)?.[1] ?? null;
  if (backend === 'ollama') return /^ollama@([^:]+):/.exec(model)?.[1] ?? 'ollama';
  return backend === 'llama' ? 'local' : null;
}

/** The reason the decision log gives, and why a sensitive request stayed here. */
export function auditReason(
  reason: string,
  failedBefore: Array<{ model: string; error?: { code: string } }>,
  sensitive: string[],
): string {
  const after = failedBefore.length
    ? ` after ${failedBefore.map((a) => `${a.model} failed (${a.error?.code})`).join(', ')}`
    : '';
  const local = sensitive.length ? `; local only: the request holds sensitive data (${sensitive.join(', ')})` : '';
  return `${reason}${after}${local}`;
}

export interface AuditedAttempt {
  /** The `done` chunk came: the call answered; `cost` from the endpoint's prices, null without. */
  done(stats: GenerationStats, text: string, cost?: number | null): void;
  failed(code: string, aborted: boolean): void;
  /** The stream ended: an answer without a `done` chunk, or (from `finally`) a reader that stopped reading. */
  end(outcome: AuditOutcome): void;
}

export class CallAudit {
  constructor(
    private readonly sink: AuditSink | undefined,
    private readonly base: CallBase,
    private readonly now: () => number,
  ) {}

  #entry(model: string, backend: string, local: boolean, reason: string, at: number): AuditEntry {
    const { bot, context, sensitive, prompt, task } = this.base;
    return {
      at,
      roomId: context?.roomId ?? null,
      eventId: context?.eventId ?? null,
      botId: auditBotId(bot, context),
      task,
      model,
      backend,
      endpoint: endpointOf(model, backend),
      local,
      sensitive,
      promptTokens: null,
      completionTokens: null,
      durationMs: 0,
      cost: null,
      reason,
      outcome: 'ok',
      errorCode: null,
      prompt,
      reply: null,
    };
  }

  #record(entry: AuditEntry): void {
    try {
      this.sink?.record(entry);
    } catch {
      // The audit never stops a reply; the store logs its own failures.
    }
  }

  /** No model was tried: privacy or missing backends left none. */
  refused(model: string, reason: string, code: string): void {
    const at = this.now();
    this.#record({ ...this.#entry(model, 'none', false, reason, at), outcome: 'refused', errorCode: code });
  }

  attempt(model: string, backend: string, local: boolean, reason: string): AuditedAttempt {
    const at = this.now();
    const entry = this.#entry(model, backend, local, reason, at);
    let settled = false;
    const settle = (patch: Partial<AuditEntry>): void => {
      if (settled) return;
      settled = true;
      this.#record({ ...entry, durationMs: this.now() - at, ...patch });
    };
    return {
      done: (stats, text, cost) =>
        settle({
          outcome: 'ok',
          cost: cost ?? null,
          promptTokens: stats.promptTokens,
          completionTokens: stats.completionTokens,
          reply: text,
        }),
      failed: (code, aborted) => settle({ outcome: aborted ? 'aborted' : 'failed', errorCode: code }),
      end: (outcome) => settle({ outcome, ...(outcome === 'aborted' ? { errorCode: 'Aborted' } : {}) }),
    };
  }
}

/** The classifier's call, as a call of the bot whose request it sorted (no text kept: it read the request). */
export function auditClassifier(
  sink: AuditSink | undefined,
  bot: BotConfig,
  model: string,
  backend: string,
  r: ClassifyResult,
  now: () => number,
): void {
  const audit = new CallAudit(sink, { bot, context: undefined, sensitive: [], prompt: '', task: null }, now);
  const call = audit.attempt(
    model,
    backend,
    true,
    `classifier: ${r.task ? `chose ${r.task}` : (r.error ?? 'no task')}`,
  );
  if (r.promptTokens !== undefined)
    call.done(
      {
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens ?? 0,
        timeToFirstTokenMs: 0,
        tokensPerSecond: 0,
        totalMs: r.ms,
        backend,
        model,
      },
      '',
    );
  call.end(r.error?.startsWith('timed out') ? 'aborted' : 'ok');
}
