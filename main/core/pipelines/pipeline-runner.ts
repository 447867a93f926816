// Runs a planned pipeline: stage after stage, each skipped when its condition says so, its prompt filled from the
// request and the earlier outputs, its answer streamed through callbacks (the room posts it, the CLI prints it) and,
// with a schema, parsed and checked. The first stage that fails ends the run with an error naming it; the answer is
// the output of the last stage that ran. It only talks to the world through `chat`, which the router provides.
import type { BotConfig } from '../../common/settings-schema.ts';
import { renderSystemPrompt } from '../bots/context.ts';
import type { ChatChunk, ChatMessage, SamplingOptions } from '../inference/types.ts';
import { conditionContext, type StageOutput } from './conditions.ts';
import type { PipelinePlan, PlannedStage } from './pipeline-plan.ts';
import { renderTemplate } from './templates.ts';

/** One stage's request to inference: what the router's chat takes (and the runner's BotInference.chat). */
export interface StageRequest {
  bot: BotConfig;
  messages: ChatMessage[];
  sampling: SamplingOptions;
  signal: AbortSignal;
  jsonSchema?: Record<string, unknown>;
  context?: { roomId: string; eventId: string };
  /** Told which model answered, once it starts. */
  onDecision?: (decision: { model: string }) => void;
}

export type StageChat = (request: StageRequest) => AsyncIterable<ChatChunk>;

export interface StageResult {
  name: string;
  /** The model that answered (or would have: the stage's model when it was skipped). */
  model: string;
  skipped: boolean;
  /** Why it was skipped. */
  reason?: string;
  output: string;
  /** The parsed answer of a stage with a schema. */
  json?: unknown;
  durationMs: number;
}

export interface PipelineResult {
  pipeline: string;
  input: string;
  stages: StageResult[];
  /** The output of the last stage that ran. */
  answer: string;
}

export interface PipelineEvents {
  stageStart?(stage: { name: string; index: number; model: string }): void;
  stageText?(stage: string, delta: string): void;
  /** Every stage ends here, run or skipped, before the next starts. */
  stageEnd?(result: StageResult): void | Promise<void>;
}

export interface RunPipelineOptions {
  plan: PipelinePlan;
  input: string;
  chat: StageChat;
  signal?: AbortSignal;
  /** The room and the request's event, for the audit trail. */
  context?: { roomId: string; eventId: string };
  events?: PipelineEvents;
  now?: () => number;
}

/** A stage failed: the run ended there. */
export class PipelineStageError extends Error {
  readonly stage: string;
  readonly hint: string | undefined;
  /** The stages that ended before it. */
  readonly results: StageResult[];
  constructor(stage: string, what: string, results: StageResult[], options: { cause?: unknown; hint?: string } = {}) {
    super(`Stage "${stage}" failed: ${what}`, { cause: options.cause });
    this.name = 'PipelineStageError';
    this.stage = stage;
    this.hint = options.hint;
    this.results = results;
  }
}

function stageMessages(stage: PlannedStage, prompt: string): ChatMessage[] {
  const system = renderSystemPrompt(stage.bot.systemPrompt, stage.bot.displayName).trim();
  return [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: prompt }];
}

/** The stage's answer, parsed and checked when it has a schema; throws a message saying what is wrong. */
function parseAnswer(stage: PlannedStage, text: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `its answer is not JSON (${err instanceof Error ? err.message : String(err)}): ${JSON.stringify(text.slice(0, 200))}`,
      { cause: err },
    );
  }
  if (stage.validate && !stage.validate(json)) {
    const errors = (stage.validate.errors ?? []).map((e) => `${e.instancePath || 'the answer'} ${e.message ?? ''}`);
    throw new Error(`its answer does not fit the schema: ${errors.join('; ')}`);
  }
  return json;
}

const errorHint = (err: unknown): string | undefined => {
  const hint = (err as { hint?: unknown } | undefined)?.hint;
  return typeof hint === 'string' ? hint : undefined;
};

/** Runs one stage; its result without its duration (the caller times it). */
async function runStage(
  o: RunPipelineOptions,
  stage: PlannedStage,
  index: number,
  outputs: StageOutput[],
  signal: AbortSignal,
): Promise<Omit<StageResult, 'durationMs'>> {
  const name = stage.config.name;
  let model = stage.bot.model;
  o.events?.stageStart?.({ name, index, model });
  let text = '';
  let final: string | undefined;
  for await (const chunk of o.chat({
    bot: stage.bot,
    messages: stageMessages(stage, renderTemplate(stage.config.prompt, o.input, outputs)),
    sampling: { temperature: stage.bot.temperature, maxTokens: stage.bot.maxTokens },
    signal,
    ...(stage.config.schema ? { jsonSchema: stage.config.schema } : {}),
    ...(o.context ? { context: o.context } : {}),
    onDecision: (d) => (model = d.model),
  })) {
    if (chunk.type === 'text') {
      text += chunk.text;
      o.events?.stageText?.(name, chunk.text);
    } else if (chunk.type === 'done') final = chunk.text;
  }
  const output = (final ?? text).trim();
  const json = stage.config.schema ? parseAnswer(stage, output) : undefined;
  return { name, model, skipped: false, output, ...(json !== undefined ? { json } : {}) };
}

/** Runs every stage in order; throws PipelineStageError at the first that fails, or the stop's reason when stopped. */
export async function runPipeline(o: RunPipelineOptions): Promise<PipelineResult> {
  const signal = o.signal ?? new AbortController().signal;
  const now = o.now ?? Date.now;
  const results: StageResult[] = [];
  const outputs: StageOutput[] = [];
  for (const [index, stage] of o.plan.stages.entries()) {
    const { name, condition } = stage.config;
    if (signal.aborted) throw signal.reason;
    const t0 = now();
    let result: StageResult;
    try {
      result =
        stage.condition && !stage.condition(conditionContext(o.input, outputs))
          ? { name, model: stage.bot.model, skipped: true, reason: `${condition} is false`, output: '', durationMs: 0 }
          : { ...(await runStage(o, stage, index, outputs, signal)), durationMs: Math.round(now() - t0) };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const hint = errorHint(err);
      throw new PipelineStageError(name, err instanceof Error ? err.message : String(err), [...results], {
        cause: err,
        ...(hint ? { hint } : {}),
      });
    }
    results.push(result);
    if (!result.skipped)
      outputs.push({ name, text: result.output, ...('json' in result ? { json: result.json } : {}) });
    await o.events?.stageEnd?.(result);
  }
  return { pipeline: o.plan.name, input: o.input, stages: results, answer: outputs.at(-1)?.text ?? '' };
}
