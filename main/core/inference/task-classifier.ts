// The classifier: a small model on this machine asked which of the named tasks a request is, answering JSON
// under a schema whose only values are those names (a grammar on node-llama-cpp, `format` on Ollama,
// `response_format` on an OpenAI-compatible server). A time cap, a wrong answer or a failure leaves the rules'
// decision standing: the classifier can only ever choose one of the tasks, or none.
import type { TaskConfig } from '../../common/settings-master.ts';
import type { InferenceBackend } from './types.ts';

export interface ClassifyInput {
  backend: InferenceBackend;
  model: string;
  tasks: readonly TaskConfig[];
  question: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  now?: () => number;
}

export interface ClassifyResult {
  /** One of the tasks' names; undefined for none, a timeout or a failure. */
  task: string | undefined;
  ms: number;
  /** Why no task: timed out, failed, answered none or something else. */
  error?: string;
  promptTokens?: number;
  completionTokens?: number;
}

/** The most of the request the classifier reads: enough to tell the task, little enough to stay quick. */
const MAX_QUESTION_CHARS = 2000;

export function classifierSchema(tasks: readonly TaskConfig[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: { task: { type: 'string', enum: [...tasks.map((t) => t.name), 'none'] } },
    required: ['task'],
    additionalProperties: false,
  };
}

export function classifierPrompt(tasks: readonly TaskConfig[]): string {
  const lines = tasks.map((t) => `- ${t.name}${t.description || t.reason ? `: ${t.description ?? t.reason}` : ''}`);
  return [
    'You sort requests into tasks. The tasks:',
    ...lines,
    'Answer only with JSON: {"task": "<name>"}, or {"task": "none"} when no task fits.',
  ].join('\n');
}

/** The task name in the classifier's answer, if it is one of the tasks. */
export function parseChoice(text: string, tasks: readonly TaskConfig[]): string | undefined {
  let value: unknown;
  try {
    value = (JSON.parse(text.trim()) as { task?: unknown }).task;
  } catch {
    return undefined;
  }
  return typeof value === 'string' && tasks.some((t) => t.name === value) ? value : undefined;
}

export async function classifyTask(input: ClassifyInput): Promise<ClassifyResult> {
  const now = input.now ?? (() => performance.now());
  const started = now();
  const cap = new AbortController();
  const timer = setTimeout(() => cap.abort(new Error('time cap')), input.timeoutMs);
  const signal = input.signal ? AbortSignal.any([input.signal, cap.signal]) : cap.signal;
  let text = '';
  let tokens: { promptTokens?: number; completionTokens?: number } = {};
  try {
    for await (const chunk of input.backend.chat({
      model: input.model,
      messages: [
        { role: 'system', content: classifierPrompt(input.tasks) },
        { role: 'user', content: input.question.slice(0, MAX_QUESTION_CHARS) },
      ],
      sampling: { temperature: 0, maxTokens: 64 },
      jsonSchema: classifierSchema(input.tasks),
      signal,
    })) {
      if (chunk.type === 'text') text += chunk.text;
      else if (chunk.type === 'done') {
        text = chunk.text || text;
        tokens = { promptTokens: chunk.stats.promptTokens, completionTokens: chunk.stats.completionTokens };
      }
    }
  } catch (err) {
    const ms = Math.round(now() - started);
    if (cap.signal.aborted && !input.signal?.aborted)
      return { task: undefined, ms, error: `timed out after ${input.timeoutMs} ms` };
    if (input.signal?.aborted) throw err;
    return { task: undefined, ms, error: `failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
  const ms = Math.round(now() - started);
  const task = parseChoice(text, input.tasks);
  if (task) return { task, ms, ...tokens };
  const said = text.trim().slice(0, 80);
  return { task: undefined, ms, error: /"none"/.test(said) ? 'no task fits' : `answered "${said}"`, ...tokens };
}
