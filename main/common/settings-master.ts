// The master agent's settings: named tasks (models in order, from the default to the most capable), the
// classifier that picks a task, pipelines of stages, and the cloud endpoints' prices and budgets. Cross-references
// (a bot's task, a rule's task, a stage's bot) are checked on the whole settings in checkMasterReferences.
import { z } from 'zod';

/** Task, pipeline and stage names: `code_review`, `extract-invoice`. */
export const taskName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'use lower-case letters, digits and _ . - (at most 64)');

const modelRef = z.string().min(1, 'a model reference is required');

export const taskSchema = z.object({
  name: taskName,
  /**
   * Models in order: the first answers by default; a request that needs an answer fast takes the first one already
   * loaded on this machine; a complex request takes the last (list them from the quickest to the most capable).
   */
  models: z.array(modelRef).min(1, 'a task needs at least one model'),
  /** Why these models, shown in `!why`, `agent-room route` and the audit trail. */
  reason: z.string().max(200).optional(),
  /** What the task is for; the classifier reads it to choose. */
  description: z.string().max(500).optional(),
});
export type TaskConfig = z.infer<typeof taskSchema>;

export const classifierSchema = z.object({
  /** A small model on this machine that picks a task for requests no rule decided; unset = rules only. */
  model: modelRef.optional(),
  /** Longer than this and the rules' decision stands. */
  timeoutMs: z.number().int().min(50).max(60_000).default(2000),
});

/** A JSON Schema object (type, properties, …), enforced by grammar or by the endpoint. */
export const jsonSchemaObject = z.record(z.string(), z.unknown());

export const stageSchema = z
  .object({
    name: taskName,
    /** The model that runs this stage … */
    model: modelRef.optional(),
    /** … or the bot whose model, system prompt and privacy it runs with. */
    bot: z.string().optional(),
    /** The stage's instruction: {{input}} is the request, {{previous}} the stage before's output, {{<stage>}} any earlier stage's. */
    prompt: z.string().min(1),
    /** When set, the stage answers JSON of this schema and later conditions can read its fields. */
    schema: jsonSchemaObject.optional(),
    /** A CEL expression on earlier outputs (e.g. `category == 'complex'`); false skips the stage. */
    condition: z.string().min(1).optional(),
    /** Most tokens in the stage's answer; default: the bot's, or 1024 for a stage with a model. */
    maxTokens: z.number().int().min(1).max(32768).optional(),
  })
  .refine((s) => s.model !== undefined || s.bot !== undefined, { message: 'a stage needs a model or a bot' });
export type StageConfig = z.infer<typeof stageSchema>;

export const pipelineSchema = z
  .object({
    name: taskName,
    description: z.string().max(500).optional(),
    stages: z.array(stageSchema).min(1, 'a pipeline needs at least one stage'),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.stages.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'name'], message: `two stages are called "${s.name}"` });
      seen.add(s.name);
    });
  });
export type PipelineConfig = z.infer<typeof pipelineSchema>;

/** Price per million tokens, in the budget's currency. */
export const priceSchema = z.object({
  input: z.number().min(0),
  output: z.number().min(0),
});

export const budgetSchema = z.object({
  /** Spend allowed per day (UTC) on this endpoint; unset = no daily limit. */
  daily: z.number().min(0).optional(),
  /** Spend allowed per calendar month (UTC); unset = no monthly limit. */
  monthly: z.number().min(0).optional(),
  currency: z.string().min(1).max(8).default('USD'),
});

/** The fields of an OpenAI-compatible endpoint that the budget reads. */
export const endpointCostFields = {
  /** Prices by model name (as after `openai:<endpoint>/`); `*` for every other model of the endpoint. */
  prices: z.record(z.string(), priceSchema).default({}),
  budget: budgetSchema.optional(),
};

interface MasterRefs {
  bots: ReadonlyArray<{ id: string; task?: string | undefined; pipeline?: string | undefined }>;
  tasks: ReadonlyArray<{ name: string }>;
  pipelines: ReadonlyArray<{ name: string; stages: ReadonlyArray<{ bot?: string | undefined }> }>;
  routing: { rules: ReadonlyArray<{ task?: string | undefined }> };
}

/** Issues for names that refer to nothing: a bot's or a rule's task, a bot's pipeline, a stage's bot, duplicates. */
export function checkMasterReferences(s: MasterRefs, ctx: z.RefinementCtx): void {
  const tasks = new Set(s.tasks.map((t) => t.name));
  const pipelines = new Set(s.pipelines.map((p) => p.name));
  const bots = new Set(s.bots.map((b) => b.id));
  const issue = (path: Array<string | number>, message: string): void =>
    ctx.addIssue({ code: 'custom', path, message });
  const dup = (names: string[], what: string, key: string): void => {
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) issue([key, i, 'name'], `two ${what} are called "${n}"`);
    });
  };
  dup(
    s.tasks.map((t) => t.name),
    'tasks',
    'tasks',
  );
  dup(
    s.pipelines.map((p) => p.name),
    'pipelines',
    'pipelines',
  );
  const known = (set: Set<string>) => [...set].join(', ') || 'none yet';
  s.bots.forEach((b, i) => {
    if (b.task !== undefined && !tasks.has(b.task))
      issue(['bots', i, 'task'], `no task is called "${b.task}" (tasks: ${known(tasks)})`);
    if (b.pipeline !== undefined && !pipelines.has(b.pipeline))
      issue(['bots', i, 'pipeline'], `no pipeline is called "${b.pipeline}" (pipelines: ${known(pipelines)})`);
  });
  s.routing.rules.forEach((r, i) => {
    if (r.task !== undefined && !tasks.has(r.task))
      issue(['routing', 'rules', i, 'task'], `no task is called "${r.task}" (tasks: ${known(tasks)})`);
  });
  s.pipelines.forEach((p, i) =>
    p.stages.forEach((st, j) => {
      if (st.bot !== undefined && !bots.has(st.bot))
        issue(['pipelines', i, 'stages', j, 'bot'], `no bot is called "${st.bot}" (bots: ${known(bots)})`);
    }),
  );
}
