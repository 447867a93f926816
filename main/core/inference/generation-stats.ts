// The stats a finished reply reports (GenerationStats), built in one place for the HTTP backends (Ollama,
// OpenAI-compatible): time to first token and total from the backend's clock, tokens per second over the time
// spent generating.
import type { GenerationStats } from './types.ts';

export interface GenerationTimes {
  backend: string;
  /** The model reference as requested (e.g. "ollama:qwen2.5:7b"). */
  model: string;
  /** On the backend's clock (ms): the request, the first text chunk (undefined when none came), the end. */
  startedAt: number;
  firstTokenAt: number | undefined;
  endedAt: number;
  promptTokens: number;
  completionTokens: number;
  /**
   * Seconds spent generating the completion, when the server measures it (Ollama's eval_duration); otherwise
   * from the first text chunk to the end.
   */
  generationSeconds?: number;
}

export function generationStats(t: GenerationTimes): GenerationStats {
  const first = t.firstTokenAt ?? t.endedAt;
  const seconds = t.generationSeconds ?? (t.endedAt - first) / 1000;
  return {
    promptTokens: t.promptTokens,
    completionTokens: t.completionTokens,
    timeToFirstTokenMs: first - t.startedAt,
    tokensPerSecond: seconds > 0 ? t.completionTokens / seconds : 0,
    totalMs: t.endedAt - t.startedAt,
    backend: t.backend,
    model: t.model,
  };
}
