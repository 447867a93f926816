// A pipeline from settings made ready to run: each stage's bot (a named bot, or one made for a stage's model so the
// router's privacy check and audit apply), its condition parsed, its JSON schema compiled, its prompt's references
// checked. Everything wrong with the settings is found here, before any stage runs, and told with where it is.
import { Ajv, type ValidateFunction } from 'ajv';
import type { PipelineConfig, StageConfig } from '../../common/settings-master.ts';
import type { BotConfig } from '../../common/settings-schema.ts';
import { compileCondition, ConditionError, type Condition } from './conditions.ts';
import { templateNames } from './templates.ts';

/** Answer length of a stage that names a model (a bot's stage takes the bot's). */
export const DEFAULT_STAGE_MAX_TOKENS = 1024;

export interface PlannedStage {
  config: StageConfig;
  bot: BotConfig;
  condition?: Condition;
  /** Checks a JSON answer against the stage's schema. */
  validate?: ValidateFunction;
}

export interface PipelinePlan {
  name: string;
  stages: PlannedStage[];
}

/** The pipeline's settings cannot run as written: every problem, each naming its stage. */
export class PipelineSettingsError extends Error {
  readonly problems: string[];
  constructor(pipeline: string, problems: string[]) {
    super(
      `Pipeline "${pipeline}" cannot run: ${problems.join('; ')}. Fix it in the settings (pipelines → "${pipeline}").`,
    );
    this.name = 'PipelineSettingsError';
    this.problems = problems;
  }
}

/** The bot a stage runs as: the named bot (its model replaced by the stage's, if both are given) or one for the model. */
function stageBot(
  pipeline: string,
  stage: StageConfig,
  botConfig: (id: string) => BotConfig | undefined,
): BotConfig | string {
  if (stage.bot !== undefined) {
    const bot = botConfig(stage.bot);
    if (!bot) return `no bot is called "${stage.bot}"`;
    return {
      ...bot,
      ...(stage.model ? { model: stage.model } : {}),
      ...(stage.maxTokens ? { maxTokens: stage.maxTokens } : {}),
    };
  }
  return {
    id: `pipeline.${pipeline}.${stage.name}`,
    displayName: stage.name,
    model: stage.model ?? '',
    systemPrompt: '',
    temperature: 0.7,
    maxTokens: stage.maxTokens ?? DEFAULT_STAGE_MAX_TOKENS,
    localOnly: false,
    keepAliveSeconds: 300,
    pinned: false,
    fallback: [],
  };
}

function planStage(
  pipeline: PipelineConfig,
  index: number,
  ajv: Ajv,
  botConfig: (id: string) => BotConfig | undefined,
  problems: string[],
): PlannedStage | undefined {
  const stage = pipeline.stages[index]!;
  const where = `stage "${stage.name}"`;
  const earlier = new Set(pipeline.stages.slice(0, index).map((s) => s.name));
  const before = problems.length;
  const bot = stageBot(pipeline.name, stage, botConfig);
  if (typeof bot === 'string') problems.push(`${where}: ${bot}`);
  for (const n of templateNames(stage.prompt))
    if (!earlier.has(n))
      problems.push(`${where}: its prompt refers to {{${n}}}, which is no earlier stage (use {{input}}, {{previous}})`);
  let condition: Condition | undefined;
  if (stage.condition !== undefined) {
    try {
      condition = compileCondition(stage.condition);
    } catch (err) {
      problems.push(`${where}: ${err instanceof ConditionError ? err.message : String(err)}`);
    }
  }
  let validate: ValidateFunction | undefined;
  if (stage.schema !== undefined) {
    try {
      validate = ajv.compile(stage.schema);
    } catch (err) {
      problems.push(`${where}: the schema is not a valid JSON schema: ${err instanceof Error ? err.message : err}`);
    }
  }
  if (problems.length > before || typeof bot === 'string') return undefined;
  return { config: stage, bot, ...(condition ? { condition } : {}), ...(validate ? { validate } : {}) };
}

/** Throws PipelineSettingsError naming every stage that cannot run. */
export function planPipeline(pipeline: PipelineConfig, botConfig: (id: string) => BotConfig | undefined): PipelinePlan {
  // Keywords Ajv does not know (a description's neighbours, node-llama-cpp's extras) are ignored, not refused.
  const ajv = new Ajv({ strict: false, allErrors: true });
  const problems: string[] = [];
  const stages = pipeline.stages.map((_s, i) => planStage(pipeline, i, ajv, botConfig, problems));
  if (problems.length > 0) throw new PipelineSettingsError(pipeline.name, problems);
  return { name: pipeline.name, stages: stages as PlannedStage[] };
}

/** The pipeline called `name`, or a message naming those there are. */
export function findPipeline(
  pipelines: readonly PipelineConfig[],
  name: string,
): { pipeline: PipelineConfig } | { error: string } {
  const pipeline = pipelines.find((p) => p.name === name.toLowerCase());
  if (pipeline) return { pipeline };
  return { error: `No pipeline is called "${name}". ${pipelineList(pipelines)}` };
}

/** "Pipelines: triage (3 stages: classify, answer, review), …" or how to add one. */
export function pipelineList(pipelines: readonly PipelineConfig[]): string {
  if (pipelines.length === 0) return 'No pipelines are set up yet: add one under "pipelines" in the settings.';
  const lines = pipelines.map(
    (p) => `- ${p.name}: ${p.stages.map((s) => s.name).join(' → ')}${p.description ? ` (${p.description})` : ''}`,
  );
  return ['Pipelines:', ...lines].join('\n');
}
