// A llama-architecture model with deterministic random weights whose output is biased to printable text.
// The bias trick: residual dimension 0 is held constant (embedding column 0 = K, and rows 0 of attn_output
// and ffn_down are zero), so column 0 of the output matrix acts as a per-token bias on the logits.
import { writeGgufFile, type MetaValue, type TensorSpec } from './container.ts';
import { FILE_TYPE, type TensorType } from './quant.ts';
import { BOS_ID, CHATML_TEMPLATE, EOS_ID, UNK_ID, buildVocab, isSuppressed } from './vocab.ts';

export interface Preset {
  layers: number;
  embd: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  context: number;
}

export const PRESETS = {
  tiny: { layers: 2, embd: 64, ffn: 128, heads: 4, kvHeads: 4, vocab: 360, context: 2048 },
  '1b': { layers: 16, embd: 2048, ffn: 8192, heads: 32, kvHeads: 8, vocab: 32000, context: 4096 },
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

export interface WriteGgufOptions {
  preset: PresetName | Preset;
  /** Type of the 2-D weight matrices; norms always stay f32. Default f32. */
  type?: TensorType;
  seed?: number;
  out: string;
  /** Also suppress </s> and <|im_end|>, so generation always runs to the token limit (throughput runs). */
  suppressEos?: boolean;
  name?: string;
  /** Overrides the preset's trained context length (llama.context_length), e.g. to test context sizing. */
  context?: number;
}

export interface WriteGgufResult {
  path: string;
  bytes: number;
  tensors: number;
}

/** sfc32: a small, fast PRNG with a good spread; one stream per tensor so order never matters. */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function streamFor(seed: number, name: string): () => number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const next = sfc32(seed, h, h ^ 0x9e3779b9, 0x85ebca6b);
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Uniform values with the given standard deviation. */
function uniformRows(
  seed: number,
  name: string,
  std: number,
  zeroRow0 = false,
): (r: number, row: Float32Array) => void {
  const next = streamFor(seed, name);
  const a = std * Math.sqrt(3);
  return (r, row) => {
    for (let i = 0; i < row.length; i++) row[i] = (next() * 2 - 1) * a;
    if (zeroRow0 && r === 0) row.fill(0);
  };
}

export function buildModel(options: WriteGgufOptions): { metadata: Array<[string, MetaValue]>; tensors: TensorSpec[] } {
  const base: Preset = typeof options.preset === 'string' ? PRESETS[options.preset] : options.preset;
  const p: Preset = options.context === undefined ? base : { ...base, context: options.context };
  const type = options.type ?? 'f32';
  const seed = (options.seed ?? 1) >>> 0;
  const vocab = buildVocab(p.vocab);
  const headDim = p.embd / p.heads;
  const kvDim = headDim * p.kvHeads;
  const name =
    options.name ?? `agent-room-${typeof options.preset === 'string' ? options.preset : 'custom'}-${type}-s${seed}`;
  const metadata: Array<[string, MetaValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: name }],
    ['general.file_type', { type: 'u32', value: FILE_TYPE[type] }],
    ['general.quantization_version', { type: 'u32', value: 2 }],
    ['general.alignment', { type: 'u32', value: 32 }],
    ['llama.context_length', { type: 'u32', value: p.context }],
    ['llama.embedding_length', { type: 'u32', value: p.embd }],
    ['llama.block_count', { type: 'u32', value: p.layers }],
    ['llama.feed_forward_length', { type: 'u32', value: p.ffn }],
    ['llama.attention.head_count', { type: 'u32', value: p.heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: p.kvHeads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.rope.dimension_count', { type: 'u32', value: headDim }],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['llama.vocab_size', { type: 'u32', value: p.vocab }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'array', of: 'string', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'array', of: 'f32', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'array', of: 'i32', value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: UNK_ID }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: BOS_ID }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: EOS_ID }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: CHATML_TEMPLATE }],
  ];

  // K dominates the residual so that, after RMS norm, dimension 0 is large and positive for every token.
  const K = 4 * Math.sqrt(p.embd);
  const suppress = -10;
  const ones = (_r: number, row: Float32Array) => row.fill(1);
  const embd = uniformRows(seed, 'token_embd', 1);
  const outRand = uniformRows(seed, 'output', 3 / Math.sqrt(p.embd));
  const tensors: TensorSpec[] = [
    {
      name: 'token_embd.weight',
      dims: [p.embd, p.vocab],
      type,
      fillRow: (r, row) => {
        embd(r, row);
        row[0] = K;
      },
    },
    { name: 'output_norm.weight', dims: [p.embd], type: 'f32', fillRow: ones },
    {
      name: 'output.weight',
      dims: [p.embd, p.vocab],
      type,
      fillRow: (r, row) => {
        outRand(r, row);
        row[0] = isSuppressed(r, vocab, options.suppressEos ?? false) ? suppress : 0;
      },
    },
  ];
  for (let l = 0; l < p.layers; l++) {
    const b = `blk.${l}`;
    const m = (n: string, dims: number[], std: number, zeroRow0 = false): TensorSpec => ({
      name: `${b}.${n}.weight`,
      dims,
      type,
      fillRow: uniformRows(seed, `${b}.${n}`, std, zeroRow0),
    });
    tensors.push(
      { name: `${b}.attn_norm.weight`, dims: [p.embd], type: 'f32', fillRow: ones },
      m('attn_q', [p.embd, p.embd], 1 / Math.sqrt(p.embd)),
      m('attn_k', [p.embd, kvDim], 1 / Math.sqrt(p.embd)),
      m('attn_v', [p.embd, kvDim], 1 / Math.sqrt(p.embd)),
      m('attn_output', [p.embd, p.embd], 1 / Math.sqrt(p.embd), true),
      { name: `${b}.ffn_norm.weight`, dims: [p.embd], type: 'f32', fillRow: ones },
      m('ffn_gate', [p.embd, p.ffn], 1 / Math.sqrt(p.embd)),
      m('ffn_up', [p.embd, p.ffn], 1 / Math.sqrt(p.embd)),
      m('ffn_down', [p.ffn, p.embd], 1 / Math.sqrt(p.ffn), true),
    );
  }
  return { metadata, tensors };
}

/** Generates a GGUF file (streaming: memory stays small even for the 1b preset). */
export function writeGguf(options: WriteGgufOptions): WriteGgufResult {
  const { metadata, tensors } = buildModel(options);
  const bytes = writeGgufFile(options.out, metadata, tensors);
  return { path: options.out, bytes, tensors: tensors.length };
}
