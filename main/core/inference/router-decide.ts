// The router's decision for one request, without running it: the sensitive kinds in everything sent, the
// request's signals, its task (an explicit `!task`, the bot's task, a rule, then the classifier when one is
// set), and the ordered models with those left out and why. `agent-room route` prints exactly this.
import type { TaskConfig } from '../../common/settings-master.ts';
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import type { Logger } from '../logging/logger.ts';
import { requestSignals, type RequestSignals } from './request-signals.ts';
import { matchRule, planRoute, type PlannedTask, type RoutePlan } from './router-rules.ts';
import { classifyTask, type ClassifyResult } from './task-classifier.ts';
import { planTask } from './task-select.ts';
import { InferenceError, type ChatMessage, type InferenceBackend } from './types.ts';

export type TaskSource = 'explicit' | 'bot' | 'rule' | 'classifier';

export interface TaskChoice {
  name: string;
  source: TaskSource;
  /** How it was chosen: "`!task` in the request", "the bot's task", "rule #2 (…)", "the classifier (…)". */
  reason: string;
}

export interface DecideInput {
  bot: BotConfig;
  messages: ChatMessage[];
  /** The request as the person wrote it; the last user message when absent. */
  question?: string | undefined;
  command?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Ask the classifier when nothing else chose a task (off for a dry run and prompt budgets). */
  classify: boolean;
}

export interface Decision {
  question: string;
  signals: RequestSignals;
  sensitive: string[];
  task: TaskChoice | undefined;
  /** The classifier's answer, when it was asked. */
  classifier?: ClassifyResult & { model: string };
  plan: RoutePlan;
  /** The request cannot be routed as asked (an unknown `!task`). */
  error?: InferenceError;
}

export interface DeciderDeps {
  getSettings: () => Settings;
  backendFor: (model: string) => InferenceBackend | undefined;
  sensitiveKinds: (texts: string[]) => string[];
  overBudget: (model: string) => string | undefined;
  logger?: Logger | undefined;
  /** Records the classifier's call in the audit trail. */
  onClassified?: (model: string, backend: InferenceBackend, result: ClassifyResult) => void;
}

export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return messages[i]?.content ?? '';
  return '';
}

function unknownTask(name: string, tasks: readonly TaskConfig[]): InferenceError {
  const known = tasks.map((t) => t.name).join(', ');
  return new InferenceError('ModelNotFound', `No task is called "${name}".`, {
    hint: known ? `Use one of the tasks: ${known}.` : 'No tasks are set up yet: add them in the settings (tasks).',
  });
}

async function classifierChoice(
  deps: DeciderDeps,
  input: DecideInput,
  question: string,
): Promise<{ choice?: TaskChoice; result?: ClassifyResult & { model: string } }> {
  const settings = deps.getSettings();
  const model = settings.routing.classifier.model;
  if (!input.classify || !model || settings.tasks.length === 0) return {};
  const backend = deps.backendFor(model);
  if (!backend || !backend.isLocal(model)) {
    deps.logger?.warn({ model }, 'classifier skipped: it must be a model on this machine (it reads every request)');
    return {};
  }
  const result = await classifyTask({
    backend,
    model,
    tasks: settings.tasks,
    question,
    timeoutMs: settings.routing.classifier.timeoutMs,
    signal: input.signal,
  });
  deps.onClassified?.(model, backend, result);
  if (!result.task) {
    deps.logger?.info({ model, ms: result.ms, why: result.error }, 'classifier chose no task; the rules decide');
    return { result: { ...result, model } };
  }
  const reason = `the classifier (${model}, ${result.ms} ms)`;
  return { choice: { name: result.task, source: 'classifier', reason }, result: { ...result, model } };
}

export async function decideRoute(deps: DeciderDeps, input: DecideInput): Promise<Decision> {
  const settings = deps.getSettings();
  const { bot } = input;
  // Every message goes to the model, so every one is checked: the system prompt, the context, the question.
  const sensitive = deps.sensitiveKinds(input.messages.map((m) => m.content));
  const question = input.question ?? lastUserText(input.messages);
  const signals = requestSignals(question);
  const images = input.messages.reduce((n, m) => n + (m.images?.length ?? 0), 0);
  const command = input.command ?? signals.command;
  const byName = (name: string) => settings.tasks.find((t) => t.name === name);
  let task: TaskChoice | undefined;
  let classifier: Decision['classifier'];
  let error: InferenceError | undefined;
  if (signals.explicitTask && signals.explicitTask !== 'none') {
    if (byName(signals.explicitTask))
      task = { name: signals.explicitTask, source: 'explicit', reason: '`!task` in the request' };
    else error = unknownTask(signals.explicitTask, settings.tasks);
  } else if (bot.task && byName(bot.task)) task = { name: bot.task, source: 'bot', reason: "the bot's task" };
  if (!task && !error) {
    const scan = matchRule(settings.routing.rules, { botId: bot.id, command, prompt: question, signals, images });
    if (scan.match?.rule.task && byName(scan.match.rule.task))
      task = { name: scan.match.rule.task, source: 'rule', reason: scan.match.reason };
    else if (!scan.match) {
      const c = await classifierChoice(deps, input, question);
      task = c.choice;
      classifier = c.result;
    }
  }
  const config = task ? byName(task.name) : undefined;
  const planned: PlannedTask | undefined =
    task && config
      ? planTask(
          config,
          signals,
          {
            isLocal: (m) => deps.backendFor(m)?.isLocal(m) ?? false,
            isLoaded: (m) => deps.backendFor(m)?.isLoaded?.(m) ?? false,
          },
          task.reason,
        )
      : undefined;
  const plan = planRoute({
    images,
    sensitive,
    botId: bot.id,
    command,
    prompt: question,
    signals,
    rules: settings.routing.rules,
    botModel: bot.model,
    fallback: bot.fallback,
    localOnly: bot.localOnly,
    isLocal: (m) => deps.backendFor(m)?.isLocal(m) ?? false,
    hasBackend: (m) => deps.backendFor(m) !== undefined,
    overBudget: deps.overBudget,
    ...(planned ? { task: planned } : {}),
  });
  return {
    question,
    signals,
    sensitive,
    task,
    plan,
    ...(classifier ? { classifier } : {}),
    ...(error ? { error } : {}),
  };
}

/** Logs what the decision left out and why, and that a request stays here because of what it holds. */
export function logDecision(logger: Logger | undefined, botId: string, d: Decision): void {
  if (d.sensitive.length > 0)
    logger?.info({ bot: botId, kinds: d.sensitive }, 'sensitive request: only models on this machine');
  for (const r of d.plan.invalidRules)
    logger?.warn(
      { rule: r.index + 1, err: r.error },
      'routing rule skipped: its pattern is not a valid regular expression',
    );
  for (const s of d.plan.skipped)
    logger?.info({ bot: botId, model: s.model, reason: s.reason }, 'route candidate skipped');
}

/** The messages with `!task <name>` taken out of the last user message: the model gets the request itself. */
export function withoutTaskCommand(messages: readonly ChatMessage[]): ChatMessage[] {
  const last = messages.findLastIndex((m) => m.role === 'user');
  return messages.map((m, i) =>
    i === last ? { ...m, content: m.content.replace(/(^|\s)!task\s+[a-z0-9][a-z0-9_.-]*\s*/i, '$1') } : m,
  );
}
