#!/usr/bin/env node
// Launcher for the built CLI (npm run build makes dist/main/serve.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main', 'serve.js');
if (!existsSync(entry)) {
  console.error(
    'Agent Room is not built yet: run `npm run build` first (or `npm ci && npm run build` on a fresh clone).',
  );
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv);
