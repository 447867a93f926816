// Builds main (serve CLI and Electron main), preload and renderer into dist/.
// esbuild bundles the Node side (fast, one config for serve and Electron); Vite builds the React renderer.
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...p) => join(root, ...p);
const quiet = process.argv.includes('--quiet');

rmSync(at('dist'), { recursive: true, force: true });

const node = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: quiet ? 'warning' : 'info',
};

await esbuild({ ...node, entryPoints: [at('main/serve.ts')], outfile: at('dist/main/serve.js') });
if (existsSync(at('main/electron/main.ts'))) {
  await esbuild({
    ...node,
    entryPoints: [at('main/electron/main.ts')],
    outfile: at('dist/main/electron/main.js'),
    external: ['electron'],
  });
}
if (existsSync(at('main/preload/preload.ts'))) {
  // Sandboxed preloads must be CommonJS.
  await esbuild({
    ...node,
    format: 'cjs',
    packages: undefined,
    entryPoints: [at('main/preload/preload.ts')],
    outfile: at('dist/preload/preload.cjs'),
    external: ['electron'],
  });
}
if (existsSync(at('renderer/index.html'))) {
  const { build: viteBuild } = await import('vite');
  await viteBuild({ configFile: at('renderer.vite.config.ts'), logLevel: quiet ? 'warn' : 'info' });
}
