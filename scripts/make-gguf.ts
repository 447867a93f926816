// Generates a random-weight llama GGUF for tests and benchmarks:
//   npm run make-gguf -- --preset tiny|1b --out FILE [--seed N] [--type f32|f16|q8_0|q4_0] [--context N] [--suppress-eos]
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { PRESETS, writeGguf, type PresetName } from './gguf/model.ts';
import type { TensorType } from './gguf/quant.ts';

export { writeGguf, PRESETS } from './gguf/model.ts';
export type { WriteGgufOptions, WriteGgufResult, PresetName } from './gguf/model.ts';

const TYPES: TensorType[] = ['f32', 'f16', 'q8_0', 'q4_0'];

function main(): void {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'tiny' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      type: { type: 'string', default: 'f32' },
      context: { type: 'string' },
      'suppress-eos': { type: 'boolean', default: false },
    },
  });
  const preset = values.preset as PresetName;
  if (!(preset in PRESETS)) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
  if (!values.out) throw new Error('--out FILE is required');
  const type = values.type as TensorType;
  if (!TYPES.includes(type)) throw new Error(`--type must be one of ${TYPES.join(', ')}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');
  const context = values.context === undefined ? undefined : Number(values.context);
  if (context !== undefined && !(Number.isInteger(context) && context >= 16 && context <= 1_048_576)) {
    throw new Error(
      '--context must be a whole number of tokens between 16 and 1048576 (the trained context length, llama.context_length)',
    );
  }
  const started = Date.now();
  const result = writeGguf({
    preset,
    type,
    seed,
    out: resolve(values.out),
    suppressEos: values['suppress-eos'],
    ...(context !== undefined ? { context } : {}),
  });
  const mb = (result.bytes / 1e6).toFixed(2);
  console.log(
    `wrote ${result.path}: ${preset} ${type} seed ${seed}${context !== undefined ? `, context ${context}` : ''}, ${result.tensors} tensors, ${mb} MB in ${Date.now() - started} ms`,
  );
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('make-gguf.ts')) {
  try {
    main();
  } catch (err) {
    console.error(`make-gguf: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
