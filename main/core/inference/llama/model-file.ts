// Checks a GGUF path before node-llama-cpp sees it, and turns load failures into typed errors naming the file.
import { open, stat } from 'node:fs/promises';
import { InferenceError } from '../types.ts';

const GGUF_MAGIC = Buffer.from('GGUF', 'latin1');
/** Magic, version, tensor count and metadata count: the least a GGUF file holds. */
const MIN_HEADER = 24;

/** Resolves to the file size; throws ModelNotFound or InvalidModelFile. */
export async function checkModelFile(path: string): Promise<number> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InferenceError('InvalidModelFile', `${path} is not a file.`);
    size = st.size;
  } catch (err) {
    if (err instanceof InferenceError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InferenceError('ModelNotFound', `The model file ${path} does not exist.`, { cause: err });
    }
    throw new InferenceError('InvalidModelFile', `The model file ${path} cannot be read: ${(err as Error).message}`, {
      cause: err,
      hint: 'Check that the file is readable by this user.',
    });
  }
  const head = Buffer.alloc(8);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 8, 0);
  } finally {
    await fh.close();
  }
  if (size < MIN_HEADER || !head.subarray(0, 4).equals(GGUF_MAGIC)) {
    throw new InferenceError('InvalidModelFile', `${path} is not a GGUF model file (no GGUF header).`);
  }
  const version = head.readUInt32LE(4);
  if (version < 2 || version > 3) {
    throw new InferenceError(
      'InvalidModelFile',
      `${path} is GGUF version ${version}; only versions 2 and 3 are supported.`,
      {
        hint: 'Download a current GGUF conversion of this model.',
      },
    );
  }
  return size;
}

const MEMORY =
  /out of memory|insufficient ?memory|failed to allocate|cannot allocate|ENOMEM|not enough (v?ram|memory)|exceeds the available/i;

/** Maps an error thrown while loading a model or creating its context to an InferenceError. */
export function classifyLoadError(err: unknown, path: string): InferenceError {
  if (err instanceof InferenceError) return err;
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'InsufficientMemoryError' || MEMORY.test(message)) {
    return new InferenceError('OutOfMemory', `Not enough memory to load ${path}: ${message}`, { cause: err });
  }
  return new InferenceError(
    'InvalidModelFile',
    `The model file ${path} could not be loaded (damaged, truncated or unsupported): ${message}`,
    {
      cause: err,
    },
  );
}
