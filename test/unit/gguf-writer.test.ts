// The GGUF generator: header, metadata, tensor layout and quantization, checked by reading the files back.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeGguf } from '../../scripts/gguf/model.ts';
import { decodeRow, encodeRow, f16ToF32, f32ToF16, rowBytes, type TensorType } from '../../scripts/gguf/quant.ts';
import { readGguf, readRow } from '../../scripts/gguf/reader.ts';
import { buildVocab, isSuppressed } from '../../scripts/gguf/vocab.ts';

const dir = mkdtempSync(join(tmpdir(), 'gguf-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gen(type: TensorType, seed = 7, suppressEos = false): string {
  const out = join(dir, `tiny-${type}-${seed}-${suppressEos}.gguf`);
  writeGguf({ preset: 'tiny', type, seed, out, suppressEos });
  return out;
}

describe('f16', () => {
  it.each([
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [1e6, 0x7c00],
    [2 ** -24, 0x0001],
    [0.333251953125, 0x3555],
  ])('%f ↔ %s', (value, bits) => {
    expect(f32ToF16(value)).toBe(bits);
    if (bits !== 0x7c00) expect(f16ToF32(bits)).toBeCloseTo(value, 10);
  });
});

describe('block quantization', () => {
  const row = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) * (i < 32 ? 1 : 0.01));

  it.each(['f32', 'f16', 'q8_0', 'q4_0'] as const)('%s round-trips within its precision', (type) => {
    const buf = Buffer.alloc(rowBytes(type, row.length));
    expect(encodeRow(type, row, buf, 0)).toBe(buf.length);
    const back = decodeRow(type, buf, 0, row.length);
    for (let b = 0; b < 64; b += 32) {
      const amax = Math.max(...row.subarray(b, b + 32).map(Math.abs));
      const tol = {
        f32: 0,
        f16: amax / 1000,
        q8_0: (amax / 127) * 0.6 /* half a step plus the f16 rounding of the scale */,
        q4_0: (amax / 8) * 1.01 /* the side opposite the largest value stops at 7d */,
      }[type];
      for (let i = b; i < b + 32; i++) expect(Math.abs(back[i]! - row[i]!)).toBeLessThanOrEqual(tol);
    }
  });

  it('q4_0 follows ggml: block = f16 scale then 16 bytes, low nibbles first, value (q-8)*d', () => {
    const r = new Float32Array(32).fill(1);
    r[0] = -8; // largest magnitude → q = 0, d = 1
    r[16] = 7;
    const buf = Buffer.alloc(18);
    encodeRow('q4_0', r, buf, 0);
    expect(f16ToF32(buf.readUInt16LE(0))).toBe(1);
    expect(buf[2]).toBe(0x0 | (0xf << 4)); // element 0 (q 0) low, element 16 (q 15) high
    expect(buf[3]).toBe(0x9 | (0x9 << 4));
  });

  it('q8_0 block = f16 scale then 32 int8', () => {
    const r = Float32Array.from({ length: 32 }, (_, i) => i - 16);
    const buf = Buffer.alloc(34);
    encodeRow('q8_0', r, buf, 0);
    expect(f16ToF32(buf.readUInt16LE(0))).toBeCloseTo(16 / 127, 4);
    expect(buf.readInt8(2)).toBe(-127);
  });
});

describe('tiny preset', () => {
  it('writes a GGUF v3 llama file with ChatML metadata and a byte-fallback vocabulary', () => {
    const path = gen('f32');
    const g = readGguf(path);
    expect(g.version).toBe(3);
    expect(g.fileSize).toBe(statSync(path).size);
    expect(g.fileSize).toBeGreaterThan(450_000);
    expect(g.fileSize).toBeLessThan(600_000);
    const m = g.metadata;
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('general.alignment')).toBe(32);
    expect(m.get('llama.block_count')).toBe(2);
    expect(m.get('llama.embedding_length')).toBe(64);
    expect(m.get('llama.rope.dimension_count')).toBe(16);
    expect(m.get('tokenizer.ggml.model')).toBe('llama');
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    expect(tokens).toHaveLength(360);
    expect(tokens.slice(0, 5)).toEqual(['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>']);
    expect(tokens[5]).toBe('<0x00>');
    expect(tokens[260]).toBe('<0xFF>');
    expect(new Set(tokens).size).toBe(tokens.length);
    expect((m.get('tokenizer.ggml.token_type') as number[]).slice(0, 6)).toEqual([2, 3, 3, 3, 3, 6]);
    expect(m.get('tokenizer.chat_template')).toContain('<|im_start|>');
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(true);
  });

  it('lays tensors out aligned to 32 bytes, back to back up to the end of the file', () => {
    const path = gen('q8_0');
    const g = readGguf(path);
    expect(g.tensors).toHaveLength(3 + 2 * 9);
    expect(g.dataOffset % 32).toBe(0);
    for (const t of g.tensors) expect(t.relativeOffset % 32).toBe(0);
    expect(g.tensors.find((t) => t.name === 'blk.1.ffn_down.weight')).toMatchObject({ dims: [128, 64], type: 'q8_0' });
    expect(g.tensors.find((t) => t.name === 'output_norm.weight')).toMatchObject({ dims: [64], type: 'f32' });
    const last = g.tensors.at(-1)!;
    expect(last.offset + rowBytes(last.type, last.dims[0]!) * (last.dims[1] ?? 1)).toBe(g.fileSize);
  });

  it('holds residual dimension 0 constant and biases the output against unprintable tokens', () => {
    const path = gen('f32');
    const g = readGguf(path);
    const t = (name: string) => g.tensors.find((x) => x.name === name)!;
    const k = readRow(path, t('token_embd.weight'), 0)[0]!;
    for (const r of [5, 100, 359]) expect(readRow(path, t('token_embd.weight'), r)[0]).toBe(k);
    expect(readRow(path, t('blk.0.attn_output.weight'), 0).every((v) => v === 0)).toBe(true);
    expect(readRow(path, t('blk.1.ffn_down.weight'), 0).every((v) => v === 0)).toBe(true);
    const vocab = buildVocab(360);
    for (let id = 0; id < 360; id++) {
      const bias = readRow(path, t('output.weight'), id)[0];
      expect(bias, `token ${id}`).toBe(isSuppressed(id, vocab, false) ? -10 : 0);
    }
    expect(isSuppressed(2, vocab, false)).toBe(false);
    expect(isSuppressed(2, vocab, true)).toBe(true);
    expect(isSuppressed(5 + 0x0a, vocab, false)).toBe(false);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = readFileSync(gen('q4_0', 3));
    writeGguf({ preset: 'tiny', type: 'q4_0', seed: 3, out: join(dir, 'again.gguf') });
    expect(readFileSync(join(dir, 'again.gguf')).equals(a)).toBe(true);
    expect(readFileSync(gen('q4_0', 4)).equals(a)).toBe(false);
  });

  it.each([
    ['f16', 1],
    ['q8_0', 7],
    ['q4_0', 2],
  ] as const)('%s files declare file_type %d and shrink accordingly', (type, fileType) => {
    const g = readGguf(gen(type));
    expect(g.metadata.get('general.file_type')).toBe(fileType);
    expect(g.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.type).toBe(type);
    expect(g.fileSize).toBeLessThan(readGguf(gen('f32')).fileSize);
  });
});
