// Tensor encodings of ggml that the generator writes: f32, f16, and the q8_0 / q4_0 block formats.
// Layouts follow ggml-quants.c: blocks of 32 values along a row, an f16 scale first.

export type TensorType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

/** ggml_type ids as stored in a GGUF tensor info. */
export const GGML_TYPE: Record<TensorType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 };

/** llama_ftype ids for general.file_type ("mostly" the given type). */
export const FILE_TYPE: Record<TensorType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };

export const QK = 32;

/** Bytes one row of `n` values takes in the given type. */
export function rowBytes(type: TensorType, n: number): number {
  switch (type) {
    case 'f32':
      return n * 4;
    case 'f16':
      return n * 2;
    case 'q8_0':
      return (n / QK) * 34;
    case 'q4_0':
      return (n / QK) * 18;
  }
}

const f32Box = new Float32Array(1);
const u32Box = new Uint32Array(f32Box.buffer);

/** IEEE half-precision bits of a number, rounded to nearest even (as the F16C instruction does). */
export function f32ToF16(value: number): number {
  f32Box[0] = value;
  const x = u32Box[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes one row into `out` at `offset`; returns the offset after it. */
export function encodeRow(type: TensorType, row: Float32Array, out: Buffer, offset: number): number {
  const n = row.length;
  switch (type) {
    case 'f32':
      for (let i = 0; i < n; i++) out.writeFloatLE(row[i]!, offset + i * 4);
      return offset + n * 4;
    case 'f16':
      for (let i = 0; i < n; i++) out.writeUInt16LE(f32ToF16(row[i]!), offset + i * 2);
      return offset + n * 2;
    case 'q8_0':
      for (let b = 0; b < n; b += QK) offset = encodeQ8Block(row, b, out, offset);
      return offset;
    case 'q4_0':
      for (let b = 0; b < n; b += QK) offset = encodeQ4Block(row, b, out, offset);
      return offset;
  }
}

// quantize_row_q8_0_ref: d = amax / 127, q = round(x / d).
function encodeQ8Block(row: Float32Array, start: number, out: Buffer, offset: number): number {
  let amax = 0;
  for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(row[start + j]!));
  const d = amax / 127;
  const id = d ? 1 / d : 0;
  out.writeUInt16LE(f32ToF16(d), offset);
  for (let j = 0; j < QK; j++) out.writeInt8(roundHalfAway(row[start + j]! * id), offset + 2 + j);
  return offset + 34;
}

// quantize_row_q4_0_ref: the value of largest magnitude maps to -8; q = min(15, (int)(x/d + 8.5)).
// Byte j holds element j in its low nibble and element j+16 in its high nibble.
function encodeQ4Block(row: Float32Array, start: number, out: Buffer, offset: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = row[start + j]!;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = max / -8;
  const id = d ? 1 / d : 0;
  out.writeUInt16LE(f32ToF16(d), offset);
  for (let j = 0; j < QK / 2; j++) {
    const lo = Math.min(15, Math.trunc(row[start + j]! * id + 8.5));
    const hi = Math.min(15, Math.trunc(row[start + j + QK / 2]! * id + 8.5));
    out[offset + 2 + j] = lo | (hi << 4);
  }
  return offset + 18;
}

function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** Decodes `n` values of a row (for tests and the reader). */
export function decodeRow(type: TensorType, buf: Buffer, offset: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let b = 0; b < n; b += type === 'f32' || type === 'f16' ? n : QK) {
    if (type === 'f32') for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(offset + i * 4);
    else if (type === 'f16') for (let i = 0; i < n; i++) out[i] = f16ToF32(buf.readUInt16LE(offset + i * 2));
    else if (type === 'q8_0') {
      const at = offset + (b / QK) * 34;
      const d = f16ToF32(buf.readUInt16LE(at));
      for (let j = 0; j < QK; j++) out[b + j] = buf.readInt8(at + 2 + j) * d;
    } else {
      const at = offset + (b / QK) * 18;
      const d = f16ToF32(buf.readUInt16LE(at));
      for (let j = 0; j < QK / 2; j++) {
        const byte = buf[at + 2 + j]!;
        out[b + j] = ((byte & 0x0f) - 8) * d;
        out[b + j + QK / 2] = ((byte >> 4) - 8) * d;
      }
    }
  }
  return out;
}
