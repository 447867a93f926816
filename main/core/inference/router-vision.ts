// Requests with images: only models that can see get them (Ollama's /api/show capabilities, an OpenAI-compatible
// endpoint's `vision` list; node-llama-cpp takes no images yet). When none of the bot's models can, the vision task's
// models answer if the bot allows it, under the same privacy (a local-only bot or a sensitive request: only models on
// this machine) and budgets; otherwise the refusal is one line naming a configured model that can see.
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import type { Candidate, RoutePlan } from './router-rules.ts';
import { InferenceError, type InferenceBackend } from './types.ts';

export interface VisionDeps {
  getSettings: () => Settings;
  backendFor: (model: string) => InferenceBackend | undefined;
  overBudget: (model: string) => string | undefined;
}

export interface VisionDecision {
  plan: RoutePlan;
  /** Set when no model can take the images: the one line to say. */
  error?: InferenceError;
}

export async function seesImages(deps: VisionDeps, model: string, signal?: AbortSignal): Promise<boolean> {
  return (await deps.backendFor(model)?.canSeeImages?.(model, signal)) ?? false;
}

async function seeing(deps: VisionDeps, models: readonly Candidate[], signal?: AbortSignal): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const c of models) if (await seesImages(deps, c.model, signal)) out.push(c);
  return out;
}

/** Every model the settings name (bots, their fallbacks, tasks, endpoints' vision lists), each once, in that order. */
function configuredModels(s: Settings): Array<{ model: string; bot?: string }> {
  const out: Array<{ model: string; bot?: string }> = [];
  const add = (model: string, bot?: string) => {
    if (!out.some((m) => m.model === model)) out.push({ model, ...(bot ? { bot } : {}) });
  };
  for (const b of s.bots) add(b.model, b.displayName);
  for (const b of s.bots) for (const f of b.fallback) add(f);
  for (const t of s.tasks) for (const m of t.models) add(m);
  for (const ep of s.endpoints.openai) for (const v of ep.vision ?? []) if (v !== '*') add(`openai:${ep.id}/${v}`);
  return out;
}

/** "ask Pixel (ollama:llava:latest), whose model can", or what to set up when no configured model can see. */
async function suggestion(deps: VisionDeps, signal?: AbortSignal): Promise<string> {
  for (const m of configuredModels(deps.getSettings())) {
    if (!(await seesImages(deps, m.model, signal))) continue;
    return m.bot
      ? `ask ${m.bot} (${m.model}), whose model can`
      : `${m.model} can: give it to a bot or to the vision task`;
  }
  return (
    'no configured model can: add one that sees images (an Ollama vision model such as llava, or an ' +
    "OpenAI-compatible endpoint's model listed under its `vision` setting)"
  );
}

/** The plan for a request with images: its candidates that can see, else the vision task's, else the refusal. */
export async function visionDecision(
  deps: VisionDeps,
  bot: BotConfig,
  d: { plan: RoutePlan; sensitive: readonly string[] },
  signal?: AbortSignal,
): Promise<VisionDecision> {
  const own = await seeing(deps, d.plan.candidates, signal);
  if (own.length > 0) return { plan: { ...d.plan, candidates: own } };
  const settings = deps.getSettings();
  const taskName = settings.attachments.visionTask;
  const task = bot.visionFallback === false ? undefined : settings.tasks.find((t) => t.name === taskName);
  const keepLocal = bot.localOnly || d.sensitive.length > 0;
  const fromTask = (task?.models ?? [])
    .filter((m) => deps.backendFor(m) !== undefined && deps.overBudget(m) === undefined)
    .filter((m) => !keepLocal || deps.backendFor(m)?.isLocal(m))
    .map((model) => ({ model, reason: `the task "${taskName}" (${bot.model} cannot see images)` }));
  const viaTask = await seeing(deps, fromTask, signal);
  if (viaTask.length > 0) return { plan: { ...d.plan, candidates: viaTask } };
  const what = `${bot.displayName}'s model (${bot.model}) cannot see images`;
  return {
    plan: { ...d.plan, candidates: [] },
    error: new InferenceError('ModelNotFound', `${what}; ${await suggestion(deps, signal)}.`, { hint: '' }),
  };
}
