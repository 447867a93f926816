// A SentencePiece-style ("llama") byte-fallback vocabulary with ChatML control tokens, sized to a preset.
// Layout (known to load in node-llama-cpp 3.22): 0 <unk>, 1 <s>, 2 </s>, 3 <|im_start|>, 4 <|im_end|>,
// 5–260 the byte tokens, then "▁" and printable ASCII, then short pieces until the vocabulary is full.

export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const IM_START_ID = 3;
export const IM_END_ID = 4;
export const BYTE_BASE = 5;

export interface Vocab {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
}

const COMMON = [
  '▁the',
  '▁a',
  'in',
  'er',
  '▁and',
  '▁to',
  'on',
  'an',
  're',
  '▁of',
  '▁is',
  'at',
  'en',
  'es',
  '▁it',
  'or',
  'ing',
  '▁you',
  '▁that',
  'ed',
];

function* pieces(): Generator<string> {
  yield* COMMON;
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const a of letters) yield `▁${a}`;
  for (const a of letters) for (const b of letters) yield a + b;
  for (const a of letters) for (const b of letters) yield `▁${a}${b}`;
  for (const a of letters) for (const b of letters) for (const c of letters) yield a + b + c;
  for (const a of letters) for (const b of letters) for (const c of letters) yield `▁${a}${b}${c}`;
}

export function buildVocab(size: number): Vocab {
  const tokens = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
  const types: number[] = [
    TOKEN_TYPE.unknown,
    TOKEN_TYPE.control,
    TOKEN_TYPE.control,
    TOKEN_TYPE.control,
    TOKEN_TYPE.control,
  ];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.byte);
  }
  tokens.push('▁');
  types.push(TOKEN_TYPE.normal);
  for (let c = 33; c < 127; c++) {
    tokens.push(String.fromCharCode(c));
    types.push(TOKEN_TYPE.normal);
  }
  if (tokens.length > size) throw new Error(`a vocabulary needs at least ${tokens.length} tokens`);
  const seen = new Set(tokens);
  for (const p of pieces()) {
    if (tokens.length >= size) break;
    if (seen.has(p)) continue;
    seen.add(p);
    tokens.push(p);
    types.push(TOKEN_TYPE.normal);
  }
  if (tokens.length < size) throw new Error(`cannot build ${size} distinct tokens`);
  // SentencePiece merges the highest score first: earlier (more common) pieces win.
  const scores = new Float32Array(size);
  for (let i = BYTE_BASE + 256; i < size; i++) scores[i] = -(i - BYTE_BASE - 256);
  return { tokens, scores, types: Int32Array.from(types) };
}

/** True for tokens that random weights must never produce: control, unknown, and bytes other than "\n". */
export function isSuppressed(id: number, vocab: Vocab, suppressEos: boolean): boolean {
  if (id === EOS_ID || id === IM_END_ID) return suppressEos;
  const type = vocab.types[id];
  if (type === TOKEN_TYPE.control || type === TOKEN_TYPE.unknown) return true;
  if (type === TOKEN_TYPE.byte) return id - BYTE_BASE !== 0x0a;
  return false;
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
