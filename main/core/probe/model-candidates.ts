// The small instruct models a first run can recommend, most capable first, with the GGUF metadata that
// node-llama-cpp's memory estimate needs (model-headers.ts writes a header-only GGUF from it). Nothing can be
// downloaded while recommending, so this snapshot stands in for the real files' headers.
//
// Where they come from: node-llama-cpp 3.22.1's own recommended models (dist/cli/recommendedModels.js), the ones of
// 0.5B–8B whose architecture llama.cpp estimates with plain attention layers, with their `hf:` URIs and quantizations
// as listed there. Not taken: Qwen 3.5 (0.8B/4B/9B) and Gemma 4 (E2B/E4B), newer entries of that list whose hybrid
// recurrent (Gated DeltaNet) or per-layer-embedding architectures need metadata that only their real headers hold:
// add them from a `readGgufFileInfo("hf:…")` on a machine with network. Qwen2.5 0.5B is not in node-llama-cpp's
// list; it stays as the floor for machines with about 2 GB of memory, where nothing in that list fits.
//
// The metadata are the published configs (config.json / the GGUF's `<arch>.*` keys); `bytes` are the published
// file sizes, which the estimate built from the metadata is checked against (test/unit/model-recommend.test.ts).

export type CandidateArchitecture = 'llama' | 'qwen2' | 'qwen3' | 'gemma2';
export type CandidateQuant = 'Q8_0' | 'Q6_K' | 'Q4_K_M';

export interface CandidateMetadata {
  architecture: CandidateArchitecture;
  /** The context the model was trained on (`<arch>.context_length`). */
  contextLength: number;
  embeddingLength: number;
  blockCount: number;
  feedForwardLength: number;
  headCount: number;
  headCountKv: number;
  /** Per-head size of keys and values (`attention.key_length`, `value_length`). */
  headDim: number;
  vocabSize: number;
  /** The output matrix is the token embedding (no separate output.weight). */
  tiedEmbeddings: boolean;
  /** Sliding-window attention size (Gemma 2 alternates sliding and global layers). */
  slidingWindow?: number;
  /** Biases on the attention's q, k and v projections (Qwen2). */
  qkvBias?: boolean;
}

export interface CandidateFile {
  quant: CandidateQuant;
  /** The published file size. */
  bytes: number;
}

export interface CandidateModel {
  id: string;
  label: string;
  /** Hugging Face repository; the download reference is `hf:<repo>:<quant>`. */
  repo: string;
  /** The same model as an Ollama tag. */
  ollama: string;
  /** The entry of node-llama-cpp's recommended models it comes from, or why it is here. */
  source: string;
  metadata: CandidateMetadata;
  /** Quantizations, best quality first (node-llama-cpp's order). */
  files: CandidateFile[];
}

const NLC = 'node-llama-cpp 3.22.1 recommended models';
const GB = 1e9;

const qwen3 = (embeddingLength: number, blockCount: number, feedForwardLength: number, headCount: number) => ({
  architecture: 'qwen3' as const,
  contextLength: 40_960,
  embeddingLength,
  blockCount,
  feedForwardLength,
  headCount,
  headCountKv: 8,
  headDim: 128,
  vocabSize: 151_936,
});

const llama3 = (embeddingLength: number, blockCount: number, feedForwardLength: number, headCount: number) => ({
  architecture: 'llama' as const,
  contextLength: 131_072,
  embeddingLength,
  blockCount,
  feedForwardLength,
  headCount,
  headCountKv: 8,
  headDim: 128,
  vocabSize: 128_256,
});

export const MODEL_CANDIDATES: readonly CandidateModel[] = [
  {
    id: 'qwen3-8b',
    label: 'Qwen 3 8B',
    repo: 'Qwen/Qwen3-8B-GGUF',
    ollama: 'qwen3:8b',
    source: `${NLC}: "Qwen 3 8B"`,
    metadata: { ...qwen3(4096, 36, 12_288, 32), tiedEmbeddings: false },
    files: [
      { quant: 'Q8_0', bytes: 8.71 * GB },
      { quant: 'Q6_K', bytes: 6.73 * GB },
      { quant: 'Q4_K_M', bytes: 5.03 * GB },
    ],
  },
  {
    id: 'llama3.1-8b',
    label: 'Llama 3.1 8B Instruct',
    repo: 'mradermacher/Meta-Llama-3.1-8B-Instruct-GGUF',
    ollama: 'llama3.1:8b',
    source: `${NLC}: "Llama 3.1 8B"`,
    metadata: { ...llama3(4096, 32, 14_336, 32), tiedEmbeddings: false },
    files: [
      { quant: 'Q8_0', bytes: 8.54 * GB },
      { quant: 'Q6_K', bytes: 6.6 * GB },
      { quant: 'Q4_K_M', bytes: 4.92 * GB },
    ],
  },
  {
    id: 'qwen3-4b',
    label: 'Qwen 3 4B',
    repo: 'Qwen/Qwen3-4B-GGUF',
    ollama: 'qwen3:4b',
    source: `${NLC}: "Qwen 3 4B"`,
    metadata: { ...qwen3(2560, 36, 9728, 32), tiedEmbeddings: true },
    files: [
      { quant: 'Q8_0', bytes: 4.28 * GB },
      { quant: 'Q6_K', bytes: 3.31 * GB },
      { quant: 'Q4_K_M', bytes: 2.5 * GB },
    ],
  },
  {
    id: 'llama3.2-3b',
    label: 'Llama 3.2 3B Instruct',
    repo: 'mradermacher/Llama-3.2-3B-Instruct-GGUF',
    ollama: 'llama3.2:3b',
    source: `${NLC}: "Llama 3.2 3B"`,
    metadata: { ...llama3(3072, 28, 8192, 24), tiedEmbeddings: true },
    files: [
      { quant: 'Q8_0', bytes: 3.42 * GB },
      { quant: 'Q6_K', bytes: 2.64 * GB },
      { quant: 'Q4_K_M', bytes: 2.02 * GB },
    ],
  },
  {
    id: 'gemma2-2b',
    label: 'Gemma 2 2B',
    repo: 'bartowski/gemma-2-2b-it-GGUF',
    ollama: 'gemma2:2b',
    source: `${NLC}: "Gemma 2 2B"`,
    metadata: {
      architecture: 'gemma2',
      contextLength: 8192,
      embeddingLength: 2304,
      blockCount: 26,
      feedForwardLength: 9216,
      headCount: 8,
      headCountKv: 4,
      headDim: 256,
      vocabSize: 256_000,
      tiedEmbeddings: true,
      slidingWindow: 4096,
    },
    files: [
      { quant: 'Q6_K', bytes: 2.15 * GB },
      { quant: 'Q4_K_M', bytes: 1.71 * GB },
    ],
  },
  {
    id: 'qwen3-0.6b',
    label: 'Qwen 3 0.6B',
    repo: 'Qwen/Qwen3-0.6B-GGUF',
    ollama: 'qwen3:0.6b',
    source: `${NLC}: "Qwen 3 0.6B" (published in Q8_0 only)`,
    metadata: { ...qwen3(1024, 28, 3072, 16), tiedEmbeddings: true },
    files: [{ quant: 'Q8_0', bytes: 0.639 * GB }],
  },
  {
    id: 'qwen2.5-0.5b',
    label: 'Qwen2.5 0.5B Instruct',
    repo: 'bartowski/Qwen2.5-0.5B-Instruct-GGUF',
    ollama: 'qwen2.5:0.5b',
    source: 'not in node-llama-cpp’s list: the floor for machines with about 2 GB of memory',
    metadata: {
      architecture: 'qwen2',
      contextLength: 32_768,
      embeddingLength: 896,
      blockCount: 24,
      feedForwardLength: 4864,
      headCount: 14,
      headCountKv: 2,
      headDim: 64,
      vocabSize: 151_936,
      tiedEmbeddings: true,
      qkvBias: true,
    },
    files: [{ quant: 'Q4_K_M', bytes: 0.4 * GB }],
  },
];

/** The download reference of one of a candidate's files. */
export const candidateUri = (model: CandidateModel, quant: CandidateQuant): string => `hf:${model.repo}:${quant}`;
