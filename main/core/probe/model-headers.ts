// Header-only GGUF files for the model candidates: the metadata snapshot (model-candidates.ts) and the tensor table
// its quantization gives, with no weights. node-llama-cpp reads one like a real model file (readGgufFileInfo) and
// estimates the memory of the real model from it (GgufInsights): the tensor table holds every size the estimate uses.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeGgufHeader, type GgufTensorEntry, type MetaValue } from '../gguf/gguf-header.ts';
import type { CandidateFile, CandidateMetadata, CandidateModel, CandidateQuant } from './model-candidates.ts';

/** The ggml types the candidates' quantizations use: id, values per block, bytes per block (ggml.c's type traits). */
const TYPES = {
  f32: { id: 0, block: 1, bytes: 4 },
  q5_0: { id: 6, block: 32, bytes: 22 },
  q8_0: { id: 8, block: 32, bytes: 34 },
  q4_K: { id: 12, block: 256, bytes: 144 },
  q6_K: { id: 14, block: 256, bytes: 210 },
} as const;
type TypeName = keyof typeof TYPES;

/** llama_ftype of each quantization (general.file_type). */
const FILE_TYPE: Record<CandidateQuant, number> = { Q8_0: 7, Q6_K: 18, Q4_K_M: 15 };

/** llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between get more bits. */
const useMoreBits = (i: number, n: number) => i < n / 8 || i >= (7 * n) / 8 || (i - Math.floor(n / 8)) % 3 === 2;

/**
 * The type llama.cpp's quantizer (llama_tensor_get_type) gives a weight matrix: Q4_K_M keeps the output matrix in
 * Q6_K and gives Q6_K to attn_v and ffn_down of the layers use_more_bits picks; rows that K-quants cannot split into
 * 256-value blocks fall back to q5_0 / q8_0.
 */
function matrixType(quant: CandidateQuant, role: 'output' | 'more' | 'plain', rowLength: number): TypeName {
  let type: TypeName =
    quant === 'Q8_0' ? 'q8_0' : quant === 'Q6_K' || role === 'output' || role === 'more' ? 'q6_K' : 'q4_K';
  if (rowLength % 256 !== 0) type = type === 'q4_K' ? 'q5_0' : type === 'q6_K' ? 'q8_0' : type;
  return type;
}

function entry(name: string, dims: number[], type: TypeName): GgufTensorEntry {
  const t = TYPES[type];
  const values = dims.reduce((a, b) => a * b, 1);
  return { name, dims, ggmlType: t.id, bytes: (values / t.block) * t.bytes };
}

/** The tensors of one layer, in the names and shapes llama.cpp loads for these architectures. */
function layerTensors(m: CandidateMetadata, quant: CandidateQuant, i: number): GgufTensorEntry[] {
  const embd = m.embeddingLength;
  const q = m.headCount * m.headDim;
  const kv = m.headCountKv * m.headDim;
  const more = useMoreBits(i, m.blockCount) ? 'more' : 'plain';
  const matrix = (name: string, rows: number, cols: number, role: 'more' | 'plain' = 'plain') =>
    entry(`blk.${i}.${name}.weight`, [rows, cols], matrixType(quant, role, rows));
  const norm = (name: string, size = embd) => entry(`blk.${i}.${name}.weight`, [size], 'f32');
  const out = [
    norm('attn_norm'),
    matrix('attn_q', embd, q),
    matrix('attn_k', embd, kv),
    matrix('attn_v', embd, kv, more),
    matrix('attn_output', q, embd),
    norm('ffn_norm'),
    matrix('ffn_gate', embd, m.feedForwardLength),
    matrix('ffn_up', embd, m.feedForwardLength),
    matrix('ffn_down', m.feedForwardLength, embd, more),
  ];
  if (m.architecture === 'qwen3') out.push(norm('attn_q_norm', m.headDim), norm('attn_k_norm', m.headDim));
  if (m.architecture === 'gemma2') out.push(norm('post_attention_norm'), norm('post_ffw_norm'));
  if (m.qkvBias) {
    out.push(entry(`blk.${i}.attn_q.bias`, [q], 'f32'), entry(`blk.${i}.attn_k.bias`, [kv], 'f32'));
    out.push(entry(`blk.${i}.attn_v.bias`, [kv], 'f32'));
  }
  return out;
}

export function candidateTensors(m: CandidateMetadata, quant: CandidateQuant): GgufTensorEntry[] {
  const embd = m.embeddingLength;
  const tensors = [
    // A tied embedding is also the output matrix, so it gets the output's type.
    entry('token_embd.weight', [embd, m.vocabSize], matrixType(quant, m.tiedEmbeddings ? 'output' : 'plain', embd)),
  ];
  for (let i = 0; i < m.blockCount; i++) tensors.push(...layerTensors(m, quant, i));
  tensors.push(entry('output_norm.weight', [embd], 'f32'));
  if (!m.tiedEmbeddings) tensors.push(entry('output.weight', [embd, m.vocabSize], matrixType(quant, 'output', embd)));
  return tensors;
}

export function candidateMetadata(model: CandidateModel, file: CandidateFile): Array<[string, MetaValue]> {
  const m = model.metadata;
  const a = m.architecture;
  const u32 = (value: number): MetaValue => ({ type: 'u32', value });
  const meta: Array<[string, MetaValue]> = [
    ['general.architecture', { type: 'string', value: a }],
    ['general.name', { type: 'string', value: `${model.label} ${file.quant}` }],
    ['general.file_type', u32(FILE_TYPE[file.quant])],
    [`${a}.context_length`, u32(m.contextLength)],
    [`${a}.embedding_length`, u32(m.embeddingLength)],
    [`${a}.block_count`, u32(m.blockCount)],
    [`${a}.feed_forward_length`, u32(m.feedForwardLength)],
    [`${a}.attention.head_count`, u32(m.headCount)],
    [`${a}.attention.head_count_kv`, u32(m.headCountKv)],
    [`${a}.attention.key_length`, u32(m.headDim)],
    [`${a}.attention.value_length`, u32(m.headDim)],
    // The logits buffer is vocabulary-sized; real files carry the token list, a header-only one only its length.
    [`${a}.vocab_size`, u32(m.vocabSize)],
  ];
  if (m.slidingWindow) meta.push([`${a}.attention.sliding_window`, u32(m.slidingWindow)]);
  return meta;
}

/** The header-only GGUF of one candidate file, as bytes. */
export function candidateHeader(model: CandidateModel, file: CandidateFile): Buffer {
  return encodeGgufHeader(candidateMetadata(model, file), candidateTensors(model.metadata, file.quant)).bytes;
}

/** Writes the header-only GGUF into `dir` (atomically: two processes may probe at once) and returns its path. */
export async function writeCandidateHeader(dir: string, model: CandidateModel, file: CandidateFile): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${model.id}-${file.quant}.gguf`);
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, candidateHeader(model, file));
  await rename(tmp, path);
  return path;
}
