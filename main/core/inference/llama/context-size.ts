// How big a loaded model's context is, and what its chat template costs. The size comes from the model (its
// trained context) and the memory plan (the bytes the budget leaves once the weights are in), priced with
// node-llama-cpp's own estimate of a context; node-llama-cpp then checks it against free RAM/VRAM itself.
import type { ChatHistoryItem, ChatWrapper, LlamaContextOptions, LlamaModel } from 'node-llama-cpp';
import type { ContextWindow } from '../types.ts';

export interface ContextSizing {
  /** A fixed size per sequence (tests, benchmarks): used as it is. */
  fixed?: number;
  /** Most tokens per sequence the plan allows (the trained context caps it further). */
  maxTokens: number;
  /** Fewest tokens per sequence worth running; the trained context when that is smaller. */
  minTokens: number;
  sequences: number;
  /** Bytes the memory budget leaves for this model's context; Infinity when there is no budget. */
  roomBytes: number;
}

/** llama.cpp pads context sizes to multiples of 256; searching on that grid wastes no estimate. */
const STEP = 256;

/** What node-llama-cpp's createContext gets: `{min, max}` so that it can still shrink to what is free. */
export async function contextSizeOption(
  model: LlamaModel,
  s: ContextSizing,
): Promise<LlamaContextOptions['contextSize']> {
  if (s.fixed !== undefined && s.fixed > 0) return s.fixed;
  const max = Math.max(1, Math.min(model.trainContextSize, s.maxTokens));
  const min = Math.min(s.minTokens, max);
  return { min, max: await largestFitting(model, min, max, s) };
}

/** The largest size on the 256 grid from min to max whose context fits roomBytes (binary search; min if none does). */
async function largestFitting(model: LlamaModel, min: number, max: number, s: ContextSizing): Promise<number> {
  if (!Number.isFinite(s.roomBytes) || (await contextBytes(model, max, s.sequences)) <= s.roomBytes) return max;
  let lo = Math.ceil(min / STEP);
  let hi = Math.floor(max / STEP);
  let best = min;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const size = Math.max(min, mid * STEP);
    if ((await contextBytes(model, size, s.sequences)) <= s.roomBytes) {
      best = size;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

async function contextBytes(model: LlamaModel, contextSize: number, sequences: number): Promise<number> {
  const r = await model.fileInsights.estimateContextResourceRequirementsV2({
    contextSize,
    modelGpuLayers: model.gpuLayers,
    sequences,
  });
  return r.cpuRam + r.gpuVram;
}

/**
 * Tokens the model's chat template adds, measured once per model by rendering tiny histories with the
 * resolved chat wrapper: once per request (BOS, the answer's opening) and around each message. The largest
 * role (system, user or the model's own turn) sets the per-message figure, plus one for merges at the edges.
 */
export function measureTemplate(model: LlamaModel, wrapper: ChatWrapper): Omit<ContextWindow, 'contextTokens'> {
  const count = (chatHistory: ChatHistoryItem[]) =>
    wrapper.generateContextState({ chatHistory }).contextText.tokenize(model.tokenizer).length;
  const x = model.tokenize('x').length;
  const y = model.tokenize('y').length;
  const user: ChatHistoryItem = { type: 'user', text: 'x' };
  const one = count([user]);
  const perUser = count([user, user]) - one - x;
  const perModel = count([user, { type: 'model', response: ['y'] }, user]) - count([user, user]) - y;
  const perSystem = count([{ type: 'system', text: 'x' }, user]) - one - x;
  const perMessageTokens = Math.max(perUser, perModel, perSystem, 0) + 1;
  return { templateTokens: Math.max(0, one - x - perUser) + 2, perMessageTokens };
}
