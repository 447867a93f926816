// The inference router: picks a model for a bot's request (its task's models, routing rules, then the bot's model
// and fallback chain: router-decide.ts), keeps local-only bots on this machine, falls back on failures before any
// text, passes cloud endpoints whose budget is spent, and logs and audits every call with its reason. A request
// holding sensitive data (sensitivity.ts) goes only to local models, whatever the bot's or the task's model.
// It also says how much prompt a bot's next request can carry, and keeps the selector's figures per task.
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import type { AuditSink } from '../audit/audit-types.ts';
import type { Logger } from '../logging/logger.ts';
import { DEFAULT_CONTEXT_WINDOW, promptBudget, type PromptBudget } from './prompt-budget.ts';
import { budgetNotice, SpendLedger, type EndpointSpend } from './budget.ts';
import { auditClassifier, auditReason, CallAudit, type CallContext } from './router-audit.ts';
import type { RouteAttempt, RouteDecision } from './router-decision.ts';
import {
  decideRoute,
  logDecision,
  withoutTaskCommand,
  type DeciderDeps,
  type DecideInput,
  type Decision,
} from './router-decide.ts';
import { allFailed, nothingToTry } from './router-refusals.ts';
import type { Candidate } from './router-rules.ts';
import { TaskStats } from './router-stats.ts';
import { visionDecision, type VisionDeps } from './router-vision.ts';
import { findSensitive } from './sensitivity.ts';
import type { TaskFigures } from '../../common/inference-types.ts';
import {
  hasImages,
  InferenceError,
  isInferenceError,
  type ChatChunk,
  type ChatMessage,
  type ChatRequest,
  type ContextWindow,
  type InferenceBackend,
  type ModelInfo,
  type SamplingOptions,
  type ToolSpec,
} from './types.ts';

export interface RouteRequest {
  bot: BotConfig;
  messages: ChatMessage[];
  /** Overrides the bot's temperature and maxTokens. */
  sampling?: SamplingOptions;
  signal?: AbortSignal;
  /** The `!command` the person used, if any (read from the request when absent). */
  command?: string;
  /** The request as the person wrote it, for the task and the rules; the last user message when absent. */
  question?: string;
  /** The answer must be JSON of this schema (see ChatRequest.jsonSchema). */
  jsonSchema?: Record<string, unknown>;
  /** Tools the model may call (see ChatRequest.tools). */
  tools?: ToolSpec[];
  /** The room and the event the request answers, for the audit trail. */
  context?: CallContext;
  /** Called once, when a model started answering (its first chunk), before that chunk is yielded. */
  onDecision?: (decision: RouteDecision) => void;
  /** 'low' for API requests: they wait behind the bots' replies for a local model's sequence. */
  priority?: ChatRequest['priority'];
}

export type { RouteAttempt, RouteDecision } from './router-decision.ts';

export interface InferenceRouterOptions {
  backends: InferenceBackend[];
  getSettings: () => Settings;
  logger?: Logger;
  /** Where every call is recorded (the audit store). */
  audit?: AuditSink;
  /** What an endpoint's calls cost since a time (the audit store's sum), for the budget after a restart. */
  spentSince?: (endpoint: string, since: number) => number;
  /** How many decisions recentDecisions() keeps. */
  keepDecisions?: number;
  now?: () => number;
}

export class InferenceRouter {
  readonly #backends: InferenceBackend[];
  readonly #getSettings: () => Settings;
  readonly #logger: Logger | undefined;
  readonly #keep: number;
  readonly #now: () => number;
  readonly #decisions: RouteDecision[] = [];
  readonly #audit: AuditSink | undefined;
  readonly #stats = new TaskStats();
  /** Cloud spend per endpoint, today and this month. */
  readonly ledger: SpendLedger;

  constructor(options: InferenceRouterOptions) {
    this.#backends = options.backends;
    this.#getSettings = options.getSettings;
    this.#logger = options.logger;
    this.#audit = options.audit;
    this.#keep = options.keepDecisions ?? 50;
    this.#now = options.now ?? (() => Date.now());
    this.ledger = new SpendLedger({
      getEndpoints: () => this.#getSettings().endpoints.openai,
      now: this.#now,
      ...(options.spentSince ? { spentSince: options.spentSince } : {}),
    });
  }

  /** The backend that takes a reference, if any. */
  backendFor(model: string): InferenceBackend | undefined {
    return this.#backends.find((b) => b.handles(model));
  }

  /** The latest decisions, newest last, for status pages. */
  recentDecisions(): RouteDecision[] {
    return [...this.#decisions];
  }

  /** The decision for a request without running it; the classifier is asked only when `classify` is true. */
  async decide(input: Omit<DecideInput, 'classify'> & { classify?: boolean }): Promise<Decision> {
    return decideRoute(this.#deps(input.bot), { ...input, classify: input.classify ?? false });
  }

  /** What the decisions read of the router: settings, backends, budgets, privacy; the bot's classifier calls audited. */
  #deps(bot: BotConfig): DeciderDeps & VisionDeps {
    return {
      getSettings: this.#getSettings,
      backendFor: (m) => this.backendFor(m),
      sensitiveKinds: (texts) => this.#sensitiveKinds(texts),
      overBudget: (m) => this.ledger.overBudget(m),
      logger: this.#logger,
      onClassified: (model, backend, r) => auditClassifier(this.#audit, bot, model, backend.kind, r, this.#now),
    };
  }

  /** Whether the bot's request with images finds a model that sees them (router-vision.ts), or what to say. */
  async imageSupport(
    bot: BotConfig,
    signal?: AbortSignal,
  ): Promise<{ ok: true; model: string } | { ok: false; notice: string }> {
    const d = await this.decide({ bot, messages: [] });
    const v = await visionDecision(this.#deps(bot), bot, d, signal);
    const first = v.plan.candidates[0];
    return first ? { ok: true, model: first.model } : { ok: false, notice: (v.error ?? d.error)?.message ?? '' };
  }

  /** The selector's figures per task since the start. */
  taskFigures(): TaskFigures[] {
    return this.#stats.figures();
  }

  /** Today's and this month's cloud spend per endpoint with prices or a budget. */
  spend(): EndpointSpend[] {
    return this.ledger.summary();
  }

  /** The latest decision for a room (what `!why` explains). */
  lastDecision(roomId: string): RouteDecision | undefined {
    return this.#decisions.findLast((d) => d.roomId === roomId);
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
    const { plan } = await this.decide({
      bot,
      messages: [{ role: 'user', content: prompt }],
      question: prompt,
      command: options.command,
    });
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

  /** Streams the bot's reply. Throws InferenceError: PolicyRefused when privacy or budgets leave nothing to try. */
  async *chat(request: RouteRequest): AsyncIterable<ChatChunk> {
    const { bot } = request;
    const started = this.#now();
    const d = await this.decide({ ...request, classify: true });
    // Images go only to models that see them; none can: the refusal names one that can.
    if (hasImages(request.messages)) Object.assign(d, await visionDecision(this.#deps(bot), bot, d, request.signal));
    const { plan, sensitive } = d;
    const task = d.task?.name;
    logDecision(this.#logger, bot.id, d);
    const audit = new CallAudit(
      this.#audit,
      { bot, context: request.context, sensitive, prompt: d.question, task: task ?? null },
      this.#now,
    );
    if (d.error || plan.candidates.length === 0) {
      const e = d.error ?? nothingToTry(bot, plan.skipped, sensitive, this.#logger);
      audit.refused(
        plan.skipped[0]?.model ?? bot.model,
        d.error?.message ?? plan.skipped.map((x) => x.reason).join('; '),
        e.code,
      );
      this.#stats.unanswered(task);
      throw e;
    }

    const attempts: RouteAttempt[] = [];
    const sampling: SamplingOptions = { temperature: bot.temperature, maxTokens: bot.maxTokens, ...request.sampling };
    for (const c of plan.candidates) {
      const backend = this.backendFor(c.model) as InferenceBackend;
      const local = backend.isLocal(c.model);
      let began = false;
      const call = audit.attempt(c.model, backend.kind, local, auditReason(c.reason, attempts, sensitive));
      try {
        for await (const chunk of backend.chat({
          model: c.model,
          messages: d.task?.source === 'explicit' ? withoutTaskCommand(request.messages) : request.messages,
          sampling,
          signal: request.signal,
          keepAliveSeconds: bot.keepAliveSeconds,
          ...(request.jsonSchema ? { jsonSchema: request.jsonSchema } : {}),
          ...(request.priority ? { priority: request.priority } : {}),
          ...(request.tools?.length ? { tools: request.tools } : {}),
        })) {
          if (!began) {
            began = true;
            this.#record(request, d, c, backend, attempts);
          }
          if (chunk.type === 'done') {
            const cost = this.ledger.costOf(c.model, chunk.stats.promptTokens, chunk.stats.completionTokens);
            if (cost !== null) this.ledger.add(c.model, cost);
            call.done(chunk.stats, chunk.text, cost);
            this.#stats.answered(task, c.model, local, this.#now() - started);
          }
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
        if (began || e.code === 'Aborted' || request.signal?.aborted) throw e;
        attempts.push({ model: c.model, reason: c.reason, error: { code: e.code, message: e.message } });
        this.#logger?.warn(
          { bot: bot.id, model: c.model, code: e.code, err: e.message },
          'model failed before answering; trying the next in the chain',
        );
      } finally {
        call.end('aborted');
      }
    }
    this.#stats.unanswered(task);
    throw allFailed(bot, attempts, plan.skipped, sensitive);
  }

  #record(request: RouteRequest, d: Decision, c: Candidate, backend: InferenceBackend, attempts: RouteAttempt[]): void {
    const after = attempts.length
      ? ` after ${attempts.map((a) => `${a.model} failed (${a.error?.code})`).join(', ')}`
      : '';
    const spent = d.plan.skipped.find((x) => x.reason.startsWith('budget:'));
    const notice = spent && this.ledger.takeNotice(spent.model) ? budgetNotice(spent.reason, c.model) : undefined;
    const decision: RouteDecision = {
      botId: request.bot.id,
      model: c.model,
      backend: backend.kind,
      reason: `${c.reason}${after}`,
      attempts: [...attempts, { model: c.model, reason: c.reason }],
      skipped: d.plan.skipped,
      at: this.#now(),
      sensitive: d.sensitive,
      local: backend.isLocal(c.model),
      ...(d.task ? { task: d.task } : {}),
      ...(request.context ? { roomId: request.context.roomId, eventId: request.context.eventId } : {}),
      ...(notice ? { notice } : {}),
    };
    this.#decisions.push(decision);
    if (this.#decisions.length > this.#keep) this.#decisions.shift();
    this.#logger?.info(
      {
        bot: decision.botId,
        model: decision.model,
        backend: decision.backend,
        task: d.task?.name,
        reason: decision.reason,
      },
      'route decision',
    );
    try {
      request.onDecision?.(decision);
    } catch (err) {
      this.#logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'onDecision listener failed');
    }
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
