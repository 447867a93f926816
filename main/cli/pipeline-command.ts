// `agent-room pipeline run <name> "<text>" [--json]`: runs a pipeline's stages with the real models (inference only,
// as `agent-room chat`, each call through the router and recorded in the audit database as serve's are), printing each stage's name and output as it streams, or with --json one object at the end.
// `agent-room pipeline list [--json]`: the pipelines in the settings. Both exit 1 with a message saying what to do when
// the pipeline is unknown, its settings are wrong or a stage fails; Ctrl+C stops a run (exit 130).
import type { PipelineConfig } from '../common/settings-master.ts';
import { isInferenceError } from '../core/inference/types.ts';
import { dataPaths } from '../core/paths.ts';
import { findPipeline, pipelineList, planPipeline } from '../core/pipelines/pipeline-plan.ts';
import { PipelineStageError, runPipeline, type StageResult } from '../core/pipelines/pipeline-runner.ts';
import { ConfSettingsStore } from '../core/settings/settings-store.ts';
import { createLogger } from '../core/logging/logger.ts';
import { describeError, flushStdio, interruptible, openInference, type CliInference } from './cli-inference.ts';

export interface PipelineIo {
  /** Stage output as it streams (and the JSON object). */
  write: (text: string) => void;
  /** Warnings, the closing summary and errors. */
  err: (line: string) => void;
}

const defaultIo: PipelineIo = { write: (s) => void process.stdout.write(s), err: (s) => console.error(s) };

export interface PipelineRunOptions {
  dataDir: string;
  json?: boolean;
  /** By default SIGINT (Ctrl+C) stops the run. */
  cancelSignal?: AbortSignal;
}

/** A stage's result as --json prints it. */
function stageJson(r: StageResult): Record<string, unknown> {
  return {
    name: r.name,
    model: r.model,
    skipped: r.skipped,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    output: r.output,
    ...(r.json !== undefined ? { json: r.json } : {}),
    durationMs: r.durationMs,
  };
}

/** Prints each stage as it runs: a heading line, the streamed output, a skipped stage as one line. */
function streamingPrinter(io: PipelineIo): { events: Parameters<typeof runPipeline>[0]['events']; ended: () => void } {
  let open = false;
  let last = '\n';
  const write = (s: string) => {
    if (s) last = s;
    io.write(s);
  };
  const close = () => {
    if (open && !last.endsWith('\n')) write('\n');
    open = false;
  };
  return {
    events: {
      stageStart: (s) => {
        close();
        write(`── ${s.name} (${s.model})\n`);
        open = true;
      },
      stageText: (_name, delta) => write(delta),
      stageEnd: (r) => {
        if (r.skipped) write(`── ${r.name} skipped: ${r.reason ?? 'its condition is false'}\n`);
        else close();
      },
    },
    ended: close,
  };
}

async function runStages(
  inf: CliInference,
  pipeline: PipelineConfig,
  input: string,
  options: PipelineRunOptions,
  io: PipelineIo,
  signal: AbortSignal,
): Promise<number> {
  const settings = inf.settings();
  const plan = planPipeline(pipeline, (id) => settings.bots.find((b) => b.id === id));
  const printer = options.json ? undefined : streamingPrinter(io);
  const started = Date.now();
  try {
    const result = await runPipeline({
      plan,
      input,
      chat: (r) => inf.service.router.chat(r),
      signal,
      ...(printer?.events ? { events: printer.events } : {}),
    });
    printer?.ended();
    if (options.json) io.write(`${JSON.stringify({ ...result, stages: result.stages.map(stageJson) }, null, 2)}\n`);
    const ran = result.stages.filter((s) => !s.skipped).length;
    if (!options.json)
      io.err(
        `${result.stages.length} stages, ${ran} ran, ${result.stages.length - ran} skipped, in ${((Date.now() - started) / 1000).toFixed(2)} s`,
      );
    return 0;
  } catch (err) {
    printer?.ended();
    if (options.json && err instanceof PipelineStageError && !signal.aborted)
      io.write(
        `${JSON.stringify({ pipeline: pipeline.name, input, stages: err.results.map(stageJson), error: { stage: err.stage, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } }, null, 2)}\n`,
      );
    throw err;
  }
}

/** Exit codes: 0 answered, 1 failed (unknown pipeline, settings, a stage), 130 stopped with Ctrl+C. */
export async function runPipelineCli(
  name: string,
  input: string,
  options: PipelineRunOptions,
  io: PipelineIo = defaultIo,
): Promise<number> {
  const abort = interruptible(options.cancelSignal);
  let inf: CliInference | undefined;
  try {
    inf = await openInference({ dataDir: options.dataDir, probe: 'gpu-aware', warn: io.err, audit: true });
    const found = findPipeline(inf.settings().pipelines, name);
    if ('error' in found) {
      io.err(found.error);
      return 1;
    }
    return await runStages(inf, found.pipeline, input, options, io, abort.signal);
  } catch (err) {
    if (abort.signal.aborted || isInferenceError(err, 'Aborted')) {
      io.err('Stopped.');
      return 130;
    }
    io.err(err instanceof PipelineStageError ? `${err.message}${err.hint ? `\n${err.hint}` : ''}` : describeError(err));
    return 1;
  } finally {
    abort.release();
    await inf?.close();
    await flushStdio();
  }
}

/** The pipelines for people: each with its stages in order, what runs each, and when. */
export function formatPipelines(pipelines: readonly PipelineConfig[]): string[] {
  if (pipelines.length === 0) return [pipelineList(pipelines)];
  return pipelines.flatMap((p) => [
    `${p.name}${p.description ? ` — ${p.description}` : ''}`,
    ...p.stages.map((s, i) => {
      const runs = s.bot ? `bot ${s.bot}${s.model ? ` on ${s.model}` : ''}` : s.model;
      return `  ${i + 1}. ${s.name}: ${runs}${s.schema ? ', answers JSON' : ''}${s.condition ? `, only when ${s.condition}` : ''}`;
    }),
  ]);
}

/** `agent-room pipeline list`: reads the settings only (no inference starts). */
export function listPipelinesCli(dataDir: string, flags: { json?: boolean }, io: PipelineIo = defaultIo): number {
  const paths = dataPaths(dataDir);
  const logger = createLogger({ logDir: paths.logs, name: 'cli' });
  const store = new ConfSettingsStore({ dataDir: paths.root, logger });
  for (const issue of store.issues)
    io.err(`Settings: ${issue.path}: ${issue.message} (using the default for this key)`);
  const pipelines = store.get().pipelines;
  io.write(flags.json ? `${JSON.stringify(pipelines, null, 2)}\n` : `${formatPipelines(pipelines).join('\n')}\n`);
  logger.flush();
  return 0;
}
