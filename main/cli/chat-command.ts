// `agent-room chat <model-ref> "prompt" [--max-tokens N] [--system TEXT]`: streams one reply to the
// terminal (stdout), then a stats line on stderr: time to first token, tokens/s.
//
// The model is the one named: the backend that takes the reference answers directly. Routing rules and
// fallback chains belong to bots (router.chat); a person who names a model wants that model's answer.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { GenerationStats } from '../common/inference-types.ts';
import type { ChatMessage } from '../core/inference/types.ts';
import { InferenceError, isInferenceError } from '../core/inference/types.ts';
import { isOllamaRef } from '../core/inference/ollama/ollama-ref.ts';
import { describeError, flushStdio, interruptible, openInference, type CliInference } from './cli-inference.ts';

export interface ChatOptions {
  dataDir: string;
  maxTokens?: number;
  system?: string;
  /** By default SIGINT (Ctrl+C) stops the reply. */
  cancelSignal?: AbortSignal;
}

export interface ChatIo {
  /** The reply text, as it streams. */
  write: (text: string) => void;
  /** Stats and errors. */
  err: (line: string) => void;
}

const defaultIo: ChatIo = { write: (s) => void process.stdout.write(s), err: (s) => console.error(s) };

/**
 * Turns what a person typed into a model reference: prefixed references pass (a relative llama: path is
 * made absolute), hf: URIs and URLs go to the llama backend, a file path becomes llama:<absolute path>.
 * Undefined means "a name": it is looked up among the listed models.
 */
export function toModelRef(arg: string, cwd: string, exists: (p: string) => boolean = existsSync): string | undefined {
  if (arg.startsWith('llama:')) {
    const rest = arg.slice('llama:'.length);
    return /^(hf:|https?:\/\/)/i.test(rest) || isAbsolute(rest) ? arg : `llama:${resolve(cwd, rest)}`;
  }
  if (isOllamaRef(arg) || arg.startsWith('openai:')) return arg;
  if (/^(hf:|https?:\/\/)/i.test(arg)) return `llama:${arg}`;
  if (exists(resolve(cwd, arg)) || /\.gguf$/i.test(arg) || /[/\\]/.test(arg)) return `llama:${resolve(cwd, arg)}`;
  return undefined;
}

/** "time to first token 12 ms · 1520.3 tokens/s · 20 tokens in 0.04 s · llama on cpu, 1 thread". */
export function formatStats(stats: GenerationStats, where: string): string {
  const tps = Number.isFinite(stats.tokensPerSecond) ? stats.tokensPerSecond.toFixed(1) : '-';
  return `time to first token ${Math.round(stats.timeToFirstTokenMs)} ms · ${tps} tokens/s · ${stats.completionTokens} tokens in ${(stats.totalMs / 1000).toFixed(2)} s · ${where}`;
}

/** Exit codes: 0 answered, 1 failed (missing model, backend down…), 130 stopped with Ctrl+C. */
export async function runChat(
  modelArg: string,
  prompt: string,
  options: ChatOptions,
  io: ChatIo = defaultIo,
): Promise<number> {
  const abort = interruptible(options.cancelSignal);
  let inf: CliInference | undefined;
  let wrote = '';
  try {
    inf = await openInference({ dataDir: options.dataDir, probe: 'gpu-aware', warn: io.err });
    const ref = toModelRef(modelArg, process.cwd()) ?? (await findByName(inf, modelArg));
    const backend = inf.service.router.backendFor(ref);
    if (!backend) throw noBackend(ref);
    const messages: ChatMessage[] = [
      ...(options.system ? [{ role: 'system' as const, content: options.system }] : []),
      { role: 'user', content: prompt },
    ];
    let stats: GenerationStats | undefined;
    for await (const chunk of backend.chat({
      model: ref,
      messages,
      sampling: options.maxTokens ? { maxTokens: options.maxTokens } : {},
      signal: abort.signal,
      keepAliveSeconds: 0,
    })) {
      if (chunk.type === 'text') {
        io.write(chunk.text);
        wrote += chunk.text;
      } else if (chunk.type === 'done') stats = chunk.stats;
    }
    if (!wrote.endsWith('\n')) io.write('\n');
    if (stats) io.err(formatStats(stats, where(inf, backend.kind)));
    return 0;
  } catch (err) {
    if (wrote && !wrote.endsWith('\n')) io.write('\n');
    if (abort.signal.aborted || isInferenceError(err, 'Aborted')) {
      io.err('Stopped.');
      return 130;
    }
    io.err(describeError(err));
    return 1;
  } finally {
    abort.release();
    await inf?.close();
    await flushStdio();
  }
}

function where(inf: CliInference, kind: 'llama' | 'ollama' | 'openai' | 'agent'): string {
  if (kind !== 'llama') return kind;
  const status = inf.service.llama?.status();
  const gpu = status?.gpu === undefined || status.gpu === false ? 'cpu' : status.gpu;
  return `llama on ${gpu}, ${status?.threads ?? inf.plan()?.threads ?? '?'} thread(s)${status?.fallbackReason ? ` (${status.fallbackReason})` : ''}`;
}

function noBackend(ref: string): InferenceError {
  if (isOllamaRef(ref)) {
    return new InferenceError('BackendUnavailable', `No Ollama server is configured or running for ${ref}.`, {
      hint: 'Start Ollama (it listens on 127.0.0.1:11434), or add its URL in settings under endpoints.ollama.',
    });
  }
  return new InferenceError('ModelNotFound', `No backend takes the reference "${ref}".`, {
    hint: 'Use llama:<path to a .gguf>, a .gguf path, ollama:<tag> or openai:<endpoint id>/<model>; `agent-room models` lists what is available.',
  });
}

/** A bare name ("qwen2.5:0.5b", "tiny") matched against the listed models; the first source in list order wins. */
async function findByName(inf: CliInference, name: string): Promise<string> {
  const models = await inf.service.listModels(AbortSignal.timeout(15_000));
  const match = models.find((m) => m.name === name) ?? models.find((m) => m.name === `${name}:latest`);
  if (match) return match.ref;
  throw new InferenceError(
    'ModelNotFound',
    `No model called "${name}" here: it is not a file, not a model reference, and no listed model has that name.`,
    {
      hint: 'Run `agent-room models` to see the references, pass a path to a .gguf file, or download one with `agent-room models pull <hf:… | URL | ollama:tag>`.',
    },
  );
}
