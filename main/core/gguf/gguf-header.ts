// The header of a GGUF v3 file: magic, typed metadata and the tensor table, padded to the data's alignment.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (all integers little-endian). The test-model
// generator (scripts/gguf) writes its files with it, and the model recommendation writes header-only files from
// metadata snapshots so node-llama-cpp's own reader and memory estimate can take them (probe/model-headers.ts).

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

/** One row of the tensor table: where the tensor's data starts follows from the sizes of those before it. */
export interface GgufTensorEntry {
  name: string;
  /** ggml order: dims[0] is the row length (the contiguous dimension). */
  dims: number[];
  /** The ggml_type id (0 f32, 1 f16, 8 q8_0, 12 q4_K, 14 q6_K, …). */
  ggmlType: number;
  /** Bytes of the tensor's data. */
  bytes: number;
}

export interface GgufHeader {
  /** The header, padded to the alignment: the tensor data starts right after it. */
  bytes: Buffer;
  /** Each tensor's offset from the start of the data section. */
  offsets: number[];
  /** Bytes of the data section, padding between tensors included. */
  dataBytes: number;
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

/** Encodes the header of a GGUF file holding `tensors` (in this order), each aligned in the data section. */
export function encodeGgufHeader(
  metadata: Array<[string, MetaValue]>,
  tensors: GgufTensorEntry[],
  alignment = 32,
): GgufHeader {
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
    offsets.push(offset);
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.ggmlType);
    head.u64(offset);
    offset += t.bytes;
    offset += (alignment - (offset % alignment)) % alignment;
  }
  head.pad(alignment);
  return { bytes: head.bytes(), offsets, dataBytes: offset };
}
