// Generated GGUF models for tests: written once per test process under the OS temp folder.
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGguf } from '../../scripts/gguf/model.ts';

const dir = join(tmpdir(), `agent-room-models-${process.pid}`);
const cache = new Map<string, string>();

export interface TinyModelOptions {
  seed?: number;
  /** Suppress </s> and <|im_end|> so every generation runs to maxTokens (the default: tests want long, predictable streams). */
  suppressEos?: boolean;
  /** The trained context length written to llama.context_length (make-gguf --context). Default: the preset's 2048. */
  context?: number;
}

/** Path of a tiny llama GGUF (2 layers, d 64, ~0.5 MB f32, ChatML); cached per process and options. */
export async function tinyModel(options: TinyModelOptions = {}): Promise<string> {
  const seed = options.seed ?? 1;
  const suppressEos = options.suppressEos ?? true;
  const key = `tiny-s${seed}${suppressEos ? '-noeos' : ''}${options.context ? `-ctx${options.context}` : ''}`;
  const cached = cache.get(key);
  if (cached) return cached;
  if (cache.size === 0) {
    mkdirSync(dir, { recursive: true });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const out = join(dir, `${key}.gguf`);
  writeGguf({
    preset: 'tiny',
    type: 'f32',
    seed,
    out,
    suppressEos,
    ...(options.context ? { context: options.context } : {}),
  });
  cache.set(key, out);
  return out;
}

export const modelsDir = dir;
