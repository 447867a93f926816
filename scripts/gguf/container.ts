// The GGUF v3 container: header, typed metadata, tensor infos, aligned tensor data, written streaming.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (all integers little-endian).
import { closeSync, openSync, writeSync } from 'node:fs';
import { GGML_TYPE, rowBytes, encodeRow, type TensorType } from './quant.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;

/** gguf_type ids of metadata values. */
export const VT = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type MetaValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; of: 'string'; value: string[] }
  | { type: 'array'; of: 'f32' | 'i32'; value: ArrayLike<number> };

export interface TensorSpec {
  name: string;
  /** ggml order: ne[0] is the row length (the contiguous dimension). */
  dims: number[];
  type: TensorType;
  /** Fills row `r` (ne[0] values) of the tensor. */
  fillRow: (r: number, row: Float32Array) => void;
}

/** A little growable buffer for the header part, which is small next to the tensor data. */
class ByteSink {
  #buf = Buffer.alloc(1 << 16);
  length = 0;
  #ensure(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.length + n));
    this.#buf.copy(next, 0, 0, this.length);
    this.#buf = next;
  }
  u32(v: number): void {
    this.#ensure(4);
    this.length = this.#buf.writeUInt32LE(v, this.length);
  }
  i32(v: number): void {
    this.#ensure(4);
    this.length = this.#buf.writeInt32LE(v, this.length);
  }
  u64(v: number): void {
    this.#ensure(8);
    this.length = this.#buf.writeBigUInt64LE(BigInt(v), this.length);
  }
  f32(v: number): void {
    this.#ensure(4);
    this.length = this.#buf.writeFloatLE(v, this.length);
  }
  u8(v: number): void {
    this.#ensure(1);
    this.length = this.#buf.writeUInt8(v, this.length);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.#ensure(bytes.length);
    bytes.copy(this.#buf, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.#ensure(n);
    this.#buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.#buf.subarray(0, this.length);
  }
}

function writeValue(sink: ByteSink, v: MetaValue): void {
  switch (v.type) {
    case 'u32':
      return sink.u32(v.value);
    case 'i32':
      return sink.i32(v.value);
    case 'f32':
      return sink.f32(v.value);
    case 'bool':
      return sink.u8(v.value ? 1 : 0);
    case 'string':
      return sink.str(v.value);
    case 'array':
      sink.u32(VT[v.of]);
      sink.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) {
        const item = v.value[i]!;
        if (v.of === 'string') sink.str(item as string);
        else if (v.of === 'f32') sink.f32(item as number);
        else sink.i32(item as number);
      }
  }
}

export function tensorBytes(t: Pick<TensorSpec, 'dims' | 'type'>): number {
  const [ne0, ...rest] = t.dims;
  return rowBytes(t.type, ne0!) * rest.reduce((a, b) => a * b, 1);
}

/** Writes a whole GGUF file; tensor data is produced row by row so memory stays bounded. Returns the file size. */
export function writeGgufFile(
  path: string,
  metadata: Array<[string, MetaValue]>,
  tensors: TensorSpec[],
  alignment = 32,
): number {
  const head = new ByteSink();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, value] of metadata) {
    head.str(key);
    head.u32(VT[value.type]);
    writeValue(head, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    if (t.type !== 'f32' && t.type !== 'f16' && t.dims[0]! % 32 !== 0)
      throw new Error(`${t.name}: rows of ${t.dims[0]} are not a multiple of 32`);
    offsets.push(offset);
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(GGML_TYPE[t.type]);
    head.u64(offset);
    offset += tensorBytes(t);
    offset += (alignment - (offset % alignment)) % alignment;
  }
  head.pad(alignment);
  const fd = openSync(path, 'w');
  try {
    let written = writeAll(fd, head.bytes());
    const chunk = Buffer.alloc(4 << 20);
    for (const [i, t] of tensors.entries()) {
      const ne0 = t.dims[0]!;
      const rows = t.dims.slice(1).reduce((a, b) => a * b, 1);
      const perRow = rowBytes(t.type, ne0);
      const row = new Float32Array(ne0);
      let used = 0;
      for (let r = 0; r < rows; r++) {
        if (used + perRow > chunk.length) {
          written += writeAll(fd, chunk.subarray(0, used));
          used = 0;
        }
        row.fill(0);
        t.fillRow(r, row);
        used = encodeRow(t.type, row, chunk, used);
      }
      written += writeAll(fd, chunk.subarray(0, used));
      const end = head.length + offsets[i]! + tensorBytes(t);
      const pad = i < tensors.length - 1 ? head.length + offsets[i + 1]! - end : 0;
      if (pad > 0) written += writeAll(fd, Buffer.alloc(pad));
    }
    return written;
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, buf: Buffer): number {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
  return buf.length;
}
