// Reads a GGUF file's header, metadata and tensor infos back (for tests and for checking generated files).
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { GGUF_MAGIC, VT } from './container.ts';
import { decodeRow, rowBytes, type TensorType } from './quant.ts';

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: TensorType;
  /** Absolute offset of the tensor data in the file. */
  offset: number;
  relativeOffset: number;
}

export interface GgufContents {
  version: number;
  metadata: Map<string, unknown>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  fileSize: number;
}

const TYPE_BY_ID: Record<number, TensorType> = { 0: 'f32', 1: 'f16', 2: 'q4_0', 8: 'q8_0' };

class Cursor {
  pos = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  u8 = () => this.buf.readUInt8(this.pos++);
  u32 = () => ((this.pos += 4), this.buf.readUInt32LE(this.pos - 4));
  i32 = () => ((this.pos += 4), this.buf.readInt32LE(this.pos - 4));
  f32 = () => ((this.pos += 4), this.buf.readFloatLE(this.pos - 4));
  u64 = () => ((this.pos += 8), Number(this.buf.readBigUInt64LE(this.pos - 8)));
  str = () => {
    const n = this.u64();
    this.pos += n;
    return this.buf.toString('utf8', this.pos - n, this.pos);
  };
  value(type: number): unknown {
    switch (type) {
      case VT.u8:
        return this.u8();
      case VT.u32:
        return this.u32();
      case VT.i32:
        return this.i32();
      case VT.f32:
        return this.f32();
      case VT.bool:
        return this.u8() !== 0;
      case VT.string:
        return this.str();
      case VT.u64:
        return this.u64();
      case VT.array: {
        const of = this.u32();
        const n = this.u64();
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(of));
        return out;
      }
      default:
        throw new Error(`unsupported metadata type ${type}`);
    }
  }
}

export function readGguf(path: string, headerBytes = 8 << 20): GgufContents {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(headerBytes, fileSize));
    readSync(fd, buf, 0, buf.length, 0);
    const c = new Cursor(buf);
    if (c.u32() !== GGUF_MAGIC) throw new Error(`${path}: not a GGUF file`);
    const version = c.u32();
    const tensorCount = c.u64();
    const kvCount = c.u64();
    const metadata = new Map<string, unknown>();
    for (let i = 0; i < kvCount; i++) {
      const key = c.str();
      metadata.set(key, c.value(c.u32()));
    }
    const infos: Array<Omit<GgufTensorInfo, 'offset'>> = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = c.str();
      const nd = c.u32();
      const dims = Array.from({ length: nd }, () => c.u64());
      const type = TYPE_BY_ID[c.u32()];
      if (!type) throw new Error(`${name}: unsupported tensor type`);
      infos.push({ name, dims, type, relativeOffset: c.u64() });
    }
    const alignment = (metadata.get('general.alignment') as number | undefined) ?? 32;
    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    const tensors = infos.map((t) => ({ ...t, offset: dataOffset + t.relativeOffset }));
    return { version, metadata, tensors, dataOffset, fileSize };
  } finally {
    closeSync(fd);
  }
}

/** Decodes row `r` of a tensor from the file. */
export function readRow(path: string, tensor: GgufTensorInfo, r: number): Float32Array {
  const bytes = rowBytes(tensor.type, tensor.dims[0]!);
  const buf = Buffer.alloc(bytes);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, bytes, tensor.offset + r * bytes);
  } finally {
    closeSync(fd);
  }
  return decodeRow(tensor.type, buf, 0, tensor.dims[0]!);
}
