// The GGUF v3 container: header, typed metadata, tensor infos, aligned tensor data, written streaming.
// The header's encoding is main/core/gguf/gguf-header.ts (the app writes header-only files with it too).
import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeGgufHeader, type MetaValue } from '../../main/core/gguf/gguf-header.ts';
import { GGML_TYPE, rowBytes, encodeRow, type TensorType } from './quant.ts';

export { GGUF_MAGIC, GGUF_VERSION, VT, type MetaValue } from '../../main/core/gguf/gguf-header.ts';

export interface TensorSpec {
  name: string;
  /** ggml order: ne[0] is the row length (the contiguous dimension). */
  dims: number[];
  type: TensorType;
  /** Fills row `r` (ne[0] values) of the tensor. */
  fillRow: (r: number, row: Float32Array) => void;
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
  for (const t of tensors) {
    if (t.type !== 'f32' && t.type !== 'f16' && t.dims[0]! % 32 !== 0)
      throw new Error(`${t.name}: rows of ${t.dims[0]} are not a multiple of 32`);
  }
  const { bytes: headBytes, offsets } = encodeGgufHeader(
    metadata,
    tensors.map((t) => ({ name: t.name, dims: t.dims, ggmlType: GGML_TYPE[t.type], bytes: tensorBytes(t) })),
    alignment,
  );
  const fd = openSync(path, 'w');
  try {
    let written = writeAll(fd, headBytes);
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
      const end = headBytes.length + offsets[i]! + tensorBytes(t);
      const pad = i < tensors.length - 1 ? headBytes.length + offsets[i + 1]! - end : 0;
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
