// `agent-room models [--json]`: every model a bot can use (Agent Room's files, GGUF files of Ollama, LM
// Studio, Jan and configured folders, Ollama's models, endpoints' models) with sizes and where each is from.
// `agent-room models pull <ref>`: downloads an hf: URI or URL into <data>/models, or pulls an Ollama tag,
// with a progress bar; Ctrl+C cancels and keeps what arrived, so the same command resumes.
import { existsSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { PullJob } from '../common/contract-types.ts';
import type { ModelInfo, ModelSource } from '../common/inference-types.ts';
import { parseDownloadRef } from '../core/inference/download/index.ts';
import { isOllamaRef } from '../core/inference/ollama/ollama-ref.ts';
import { describeError, flushStdio, openInference } from './cli-inference.ts';
import { formatBytes, ProgressBar } from './progress-bar.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

const SOURCE_LABEL: Record<ModelSource, string> = {
  file: 'Agent Room',
  hf: 'Hugging Face',
  folder: 'folder',
  'ollama-store': 'Ollama store',
  lmstudio: 'LM Studio',
  jan: 'Jan',
  ollama: 'Ollama',
  openai: 'endpoint',
  agent: 'agent',
};

/** Where a model is from, for the table: the source, and the server for models behind one. */
export function describeSource(m: ModelInfo): string {
  const label = SOURCE_LABEL[m.source] ?? m.source;
  return m.source === 'ollama' || m.source === 'openai' ? `${label} ${m.location}` : label;
}

/** A plain-text table, one model a line: name, size, where from, the reference to use. */
export function formatModelsTable(models: ModelInfo[]): string[] {
  const rows = [
    ['NAME', 'SIZE', 'FROM', 'REFERENCE'],
    ...models.map((m) => [
      m.name,
      m.sizeBytes === undefined ? '-' : formatBytes(m.sizeBytes),
      describeSource(m),
      m.ref,
    ]),
  ];
  const widths = [0, 1, 2].map((i) => Math.min(48, Math.max(...rows.map((r) => r[i]!.length))));
  return rows.map((r) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd(),
  );
}

/** Order for people: this machine's files first (ours, then other apps'), then servers. */
const SOURCE_ORDER: ModelSource[] = ['file', 'hf', 'folder', 'ollama-store', 'lmstudio', 'jan', 'ollama', 'openai'];

export async function runModels(options: { dataDir: string; json?: boolean }, io: CliIo = defaultIo): Promise<number> {
  let inf;
  try {
    inf = await openInference({ dataDir: options.dataDir, probe: 'none-llama', warn: io.err });
  } catch (err) {
    io.err(describeError(err));
    return 1;
  }
  try {
    const models = (await inf.service.listModels(AbortSignal.timeout(15_000))).sort(
      (a, b) => SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source) || a.name.localeCompare(b.name),
    );
    if (options.json) {
      io.out(JSON.stringify(models, null, 2));
      return 0;
    }
    if (models.length === 0) {
      const rec = inf.plan()?.recommended;
      io.out('No models found on this machine, in Ollama or at the configured endpoints.');
      if (rec)
        io.out(
          `Download one, e.g. ${rec.label}: agent-room models pull ${rec.llama}  (or with Ollama: agent-room models pull ollama:${rec.ollama})`,
        );
      return 0;
    }
    for (const line of formatModelsTable(models)) io.out(line);
    io.out(
      `\n${models.length} model(s). Use a reference with \`agent-room chat <reference> "…"\` or in a bot's settings.`,
    );
    return 0;
  } catch (err) {
    io.err(describeError(err));
    return 1;
  } finally {
    await inf.close();
    await flushStdio();
  }
}

export interface PullOptions {
  dataDir: string;
  /** Where the progress bar draws; stderr by default, so stdout carries only the result. */
  progressStream?: NodeJS.WriteStream;
  /** Tests and embedders pass their own; by default SIGINT (Ctrl+C) cancels. */
  cancelSignal?: AbortSignal;
}

/** Exit codes: 0 done, 1 failed, 130 cancelled (as a shell reports Ctrl+C). */
export async function runPull(ref: string, options: PullOptions, io: CliIo = defaultIo): Promise<number> {
  // Refuse a wrong reference before anything starts, with the hint the job's error string would lose.
  if (!isOllamaRef(ref)) {
    try {
      parseDownloadRef(ref);
    } catch (err) {
      io.err(describeError(err));
      return 1;
    }
  }
  const bar = new ProgressBar({ stream: options.progressStream ?? process.stderr });
  let inf;
  try {
    inf = await openInference({
      dataDir: options.dataDir,
      probe: 'none-llama',
      warn: io.err,
      onJob: (job: PullJob) => {
        if (job.progress && (job.state === 'running' || job.state === 'done')) bar.update(job.progress);
      },
    });
  } catch (err) {
    io.err(describeError(err));
    return 1;
  }
  const service = inf.service;
  let settle: (r: { job: PullJob; path: string | undefined }) => void = () => {};
  const finished = new Promise<{ job: PullJob; path: string | undefined }>((resolve) => (settle = resolve));
  const jobId = service.pull(ref, (job, path) => settle({ job, path }));
  let cancelling = false;
  let reported = false;
  const cancelledLine = () =>
    `Cancelled. ${keptNote(ref, inf.paths.models)} Run \`agent-room models pull ${ref}\` again to resume.`;
  // Another library's signal handler may end the process before the cancel settles: say what was kept anyway.
  const onExit = () => {
    if (cancelling && !reported) writeSync(2, `${cancelledLine()}\n`);
  };
  process.on('exit', onExit);
  const cancel = () => {
    // A second Ctrl+C while the cancel settles means "now".
    if (cancelling) process.exit(130);
    cancelling = true;
    bar.done();
    io.err('Cancelling…');
    service.cancel(jobId);
  };
  const external = options.cancelSignal;
  if (external) external.addEventListener('abort', cancel, { once: true });
  else process.on('SIGINT', cancel);
  try {
    const { job, path } = await finished;
    bar.done();
    if (job.state === 'done') {
      if (path) {
        io.out(`Downloaded ${basename(path)} to ${path}`);
        io.out(`Model reference: llama:${path}`);
      } else {
        io.out(`Pulled ${ref} into Ollama. Model reference: ${ref}`);
      }
      return 0;
    }
    if (job.state === 'cancelled') {
      reported = true;
      io.err(cancelledLine());
      return 130;
    }
    io.err(`Pull of ${ref} failed: ${job.error ?? 'unknown error'}`);
    return 1;
  } finally {
    process.off('exit', onExit);
    if (external) external.removeEventListener('abort', cancel);
    else process.off('SIGINT', cancel);
    await inf.close();
    await flushStdio();
  }
}

/** What a cancelled pull left behind, in words. */
function keptNote(ref: string, modelsDir: string): string {
  if (isOllamaRef(ref)) return 'Ollama keeps the layers it already has.';
  try {
    const { kind, uri } = parseDownloadRef(ref);
    if (kind === 'url') {
      const partial = join(modelsDir, `${basename(decodeURIComponent(new URL(uri).pathname))}.partial`);
      if (existsSync(partial)) return `${formatBytes(statSync(partial).size)} kept in ${partial}.`;
    }
  } catch {
    // the reference was checked before the pull began
  }
  return `What arrived is kept in ${modelsDir}.`;
}
