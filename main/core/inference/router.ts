// The inference router: picks a model for a bot's request (routing rules, then the bot's model and
// fallback chain), keeps local-only bots on this machine, falls back on failures before any text,
// and logs every decision with its reason. A request holding sensitive data (sensitivity.ts) goes only to
// local models, whatever the bot's model. It also says how much prompt a bot's next request can carry.
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import type { AuditSink } from '../audit/audit-types.ts';
import type { Logger } from '../logging/logger.ts';
import { DEFAULT_CONTEXT_WINDOW, promptBudget, type PromptBudget } from './prompt-budget.ts';
import { auditReason, CallAudit, type CallContext } from './router-audit.ts';
import { planRoute, type Candidate, type RoutePlan } from './router-rules.ts';
import { describeKind, findSensitive } from './sensitivity.ts';
import {
  InferenceError,
  isInferenceError,
  type ChatChunk,
  type ChatMessage,
  type ContextWindow,
  type InferenceBackend,
  type ModelInfo,
  type SamplingOptions,
} from './types.ts';

export interface RouteRequest {
  bot: BotConfig;
  messages: ChatMessage[];
  /** Overrides the bot's temperature and maxTokens. */
  sampling?: SamplingOptions;
  signal?: AbortSignal;
  /** The `!command` the person used, if any. */
  command?: string;
  /** The answer must be JSON of this schema (see ChatRequest.jsonSchema). */
  jsonSchema?: Record<string, unknown>;
  /** The room and the event the request answers, for the audit trail. */
  context?: CallContext;
  /** Called once, when a model started answering (its first chunk), before that chunk is yielded. */
  onDecision?: (decision: RouteDecision) => void;
}

export interface RouteAttempt {
  model: string;
  reason: string;
  /** Absent for the model that answered. */
  error?: { code: string; message: string };
}

export interface RouteDecision {
  botId: string;
  /** The model that answered. */
  model: string;
  backend: InferenceBackend['kind'];
  /** Why this model: the rule, the bot's model, or which fallback after which failures. */
  reason: string;
  attempts: RouteAttempt[];
  skipped: Candidate[];
  at: number;
}

export interface InferenceRouterOptions {
  backends: InferenceBackend[];
  getSettings: () => Settings;
  logger?: Logger;
  /** Where every call is recorded (the audit store). */
  audit?: AuditSink;
  /** How many decisions recentDecisions() keeps. */
  keepDecisions?: number;
  now?: () => number;
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return messages[i]?.content ?? '';
  return '';
}

/** "a card number and an API key (openai)": the kinds found, never the values. */
function describeKinds(kinds: readonly string[]): string {
  const d = kinds.map(describeKind);
  return d.length > 1 ? `${d.slice(0, -1).join(', ')} and ${d.at(-1)}` : (d[0] ?? 'sensitive data');
}

export class InferenceRouter {
  readonly #backends: InferenceBackend[];
  readonly #getSettings: () => Settings;
  readonly #logger: Logger | undefined;
  readonly #keep: number;
  readonly #now: () => number;
  readonly #decisions: RouteDecision[] = [];
  readonly #audit: AuditSink | undefined;

  constructor(options: InferenceRouterOptions) {
    this.#backends = options.backends;
    this.#getSettings = options.getSettings;
    this.#logger = options.logger;
    this.#audit = options.audit;
    this.#keep = options.keepDecisions ?? 50;
    this.#now = options.now ?? (() => Date.now());
  }

  /** The backend that takes a reference, if any. */
  backendFor(model: string): InferenceBackend | undefined {
    return this.#backends.find((b) => b.handles(model));
  }

  /** The latest decisions, newest last, for status pages. */
  recentDecisions(): RouteDecision[] {
    return [...this.#decisions];
  }

  #plan(bot: BotConfig, prompt: string, command: string | undefined, sensitive: string[] = []): RoutePlan {
    return planRoute({
      sensitive,
      botId: bot.id,
      command,
      prompt,
      rules: this.#getSettings().routing.rules,
      botModel: bot.model,
      fallback: bot.fallback,
      localOnly: bot.localOnly,
      isLocal: (m) => this.backendFor(m)?.isLocal(m) ?? false,
      hasBackend: (m) => this.backendFor(m) !== undefined,
    });
  }

  /** The kinds of sensitive data in the texts (the settings' patterns included); none when the check is off. */
  #sensitiveKinds(texts: string[]): string[] {
    const { privacy } = this.#getSettings();
    return privacy.enabled ? findSensitive(texts, privacy.sensitivePatterns).map((f) => f.kind) : [];
  }

  /** The context a request to the model gets, as its backend knows it; a default where it cannot say. */
  async contextWindow(model: string, signal?: AbortSignal): Promise<ContextWindow> {
    const backend = this.backendFor(model);
    return backend?.contextWindow ? backend.contextWindow(model, signal) : DEFAULT_CONTEXT_WINDOW;
  }

  /** Tokens a request to the model can hold (prompt and answer together). */
  async contextTokens(model: string, signal?: AbortSignal): Promise<number> {
    return (await this.contextWindow(model, signal)).contextTokens;
  }

  /**
   * The prompt budget of the bot's next request, measured on the first model of its route whose backend answers
   * (a llama model is loaded to learn its context, as the request would anyway). Never throws: with no answer
   * at all it budgets for a default context.
   */
  async promptBudget(
    bot: BotConfig,
    options: { prompt?: string; command?: string; signal?: AbortSignal } = {},
  ): Promise<PromptBudget> {
    const prompt = options.prompt ?? '';
    const plan = this.#plan(bot, prompt, options.command, this.#sensitiveKinds([prompt]));
    for (const c of plan.candidates) {
      try {
        return promptBudget(c.model, await this.contextWindow(c.model, options.signal), bot.maxTokens);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        this.#logger?.info(
          { bot: bot.id, model: c.model, err: err instanceof Error ? err.message : String(err) },
          'context size unknown; trying the next model of the route',
        );
      }
    }
    return promptBudget(plan.candidates[0]?.model ?? bot.model, DEFAULT_CONTEXT_WINDOW, bot.maxTokens);
  }

  /** Streams the bot's reply. Throws InferenceError: PolicyRefused when privacy leaves nothing to try. */
  async *chat(request: RouteRequest): AsyncIterable<ChatChunk> {
    const { bot } = request;
    // Every message goes to the model, so every one is checked: the system prompt, the context, the question.
    const sensitive = this.#sensitiveKinds(request.messages.map((m) => m.content));
    if (sensitive.length > 0)
      this.#logger?.info({ bot: bot.id, kinds: sensitive }, 'sensitive request: only models on this machine');
    const prompt = lastUserText(request.messages);
    const plan = this.#plan(bot, prompt, request.command, sensitive);
    const audit = new CallAudit(this.#audit, { bot, context: request.context, sensitive, prompt }, this.#now);
    for (const r of plan.invalidRules)
      this.#logger?.warn(
        { rule: r.index + 1, err: r.error },
        'routing rule skipped: its pattern is not a valid regular expression',
      );
    for (const s of plan.skipped)
      this.#logger?.info({ bot: bot.id, model: s.model, reason: s.reason }, 'route candidate skipped');
    if (plan.candidates.length === 0) {
      const e = this.#nothingToTry(bot, plan.skipped, sensitive);
      audit.refused(plan.skipped[0]?.model ?? bot.model, plan.skipped.map((s) => s.reason).join('; '), e.code);
      throw e;
    }

    const attempts: RouteAttempt[] = [];
    const sampling: SamplingOptions = { temperature: bot.temperature, maxTokens: bot.maxTokens, ...request.sampling };
    for (const c of plan.candidates) {
      const backend = this.backendFor(c.model) as InferenceBackend;
      let started = false;
      const why = auditReason(c.reason, attempts, sensitive);
      const call = audit.attempt(c.model, backend.kind, backend.isLocal(c.model), why);
      try {
        for await (const chunk of backend.chat({
          model: c.model,
          messages: request.messages,
          sampling,
          signal: request.signal,
          keepAliveSeconds: bot.keepAliveSeconds,
          ...(request.jsonSchema ? { jsonSchema: request.jsonSchema } : {}),
        })) {
          if (!started) {
            started = true;
            this.#decide(request, c, backend, attempts, plan.skipped);
          }
          if (chunk.type === 'done') call.done(chunk.stats, chunk.text);
          yield chunk;
        }
        call.end('ok');
        return;
      } catch (err) {
        const e = isInferenceError(err)
          ? err
          : new InferenceError(
              'BadResponse',
              `${c.model} failed: ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
        call.failed(e.code, e.code === 'Aborted' || Boolean(request.signal?.aborted));
        // Once text went out, another model's text would be mixed into the same reply: stop.
        if (started || e.code === 'Aborted' || request.signal?.aborted) throw e;
        attempts.push({ model: c.model, reason: c.reason, error: { code: e.code, message: e.message } });
        this.#logger?.warn(
          { bot: bot.id, model: c.model, code: e.code, err: e.message },
          'model failed before answering; trying the next in the chain',
        );
      } finally {
        call.end('aborted');
      }
    }
    const last = attempts[attempts.length - 1];
    const summary = attempts.map((a) => `${a.model} (${a.error?.code}: ${a.error?.message})`).join('; ');
    const why = bot.localOnly ? 'the bot is local-only' : `the request holds ${describeKinds(sensitive)}`;
    const privacy = plan.skipped.some((s) => s.reason.startsWith('refused'))
      ? ` Models outside this machine were not tried because ${why}.`
      : '';
    throw new InferenceError(
      (last?.error?.code as InferenceError['code'] | undefined) ?? 'BackendUnavailable',
      `Bot "${bot.id}": every model failed: ${summary}.${privacy}`,
    );
  }

  #decide(
    request: RouteRequest,
    c: Candidate,
    backend: InferenceBackend,
    attempts: RouteAttempt[],
    skipped: Candidate[],
  ): void {
    const after = attempts.length
      ? ` after ${attempts.map((a) => `${a.model} failed (${a.error?.code})`).join(', ')}`
      : '';
    const decision: RouteDecision = {
      botId: request.bot.id,
      model: c.model,
      backend: backend.kind,
      reason: `${c.reason}${after}`,
      attempts: [...attempts, { model: c.model, reason: c.reason }],
      skipped,
      at: this.#now(),
    };
    this.#decisions.push(decision);
    if (this.#decisions.length > this.#keep) this.#decisions.shift();
    this.#logger?.info(
      { bot: decision.botId, model: decision.model, backend: decision.backend, reason: decision.reason },
      'route decision',
    );
    try {
      request.onDecision?.(decision);
    } catch (err) {
      this.#logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'onDecision listener failed');
    }
  }

  #nothingToTry(bot: BotConfig, skipped: Candidate[], sensitive: string[]): InferenceError {
    const refused = skipped.filter((s) => s.reason.startsWith('refused'));
    if (!bot.localOnly && sensitive.length > 0 && refused.length > 0) {
      this.#logger?.warn({ bot: bot.id, kinds: sensitive }, 'sensitive request refused: no model on this machine');
      return new InferenceError(
        'PolicyRefused',
        `Bot "${bot.id}" did not send this request: it holds ${describeKinds(sensitive)}, which stays on this machine, and none of the bot's models does (${refused.map((s) => s.model).join(', ')} would leave it).`,
        {
          hint: "Add a local model to the bot's fallback chain (a llama:… GGUF file, or an ollama:… model served on this machine) to answer such requests, or remove the sensitive data.",
        },
      );
    }
    if (bot.localOnly && refused.length > 0) {
      return new InferenceError(
        'PolicyRefused',
        `Bot "${bot.id}" is local-only, and none of its models stays on this machine: ${refused.map((s) => s.model).join(', ')} would leave it.`,
        {
          hint: 'Add a local model (llama:… or an Ollama on localhost) to the bot or its fallback chain, or turn off local-only for this bot.',
        },
      );
    }
    return new InferenceError(
      'ModelNotFound',
      `Bot "${bot.id}": no backend takes any of its models (${skipped.map((s) => s.model).join(', ')}).`,
      {
        hint: 'Check the model references in the bot settings (llama:…, ollama:…, openai:<endpoint>/<model>).',
      },
    );
  }

  /** Models of every backend; a backend that fails is logged and left out. */
  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const results = await Promise.allSettled(this.#backends.map((b) => b.listModels(signal)));
    const out: ModelInfo[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') out.push(...r.value);
      else
        this.#logger?.warn(
          { backend: this.#backends[i]?.kind, err: r.reason instanceof Error ? r.reason.message : String(r.reason) },
          'backend did not list its models',
        );
    });
    return out;
  }

  /** Tokens as the model's backend counts them; about four characters a token when no backend takes it. */
  async countTokens(model: string, text: string): Promise<number> {
    const b = this.backendFor(model);
    return b ? b.countTokens(model, text) : Math.ceil(text.length / 4);
  }
}
