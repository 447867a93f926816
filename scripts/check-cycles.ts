// Lint rule "no-import-cycles": no file in main/ or renderer/ reaches itself through its imports, type-only imports
// included (a cycle of types still ties two files together). dpdm reads the imports; this names each cycle.
//   node --experimental-strip-types scripts/check-cycles.ts [glob ...]
import { parseCircular, parseDependencyTree } from 'dpdm';

const globs =
  process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['main/**/*.ts', 'renderer/**/*.ts', 'renderer/**/*.tsx'];
const tree = await parseDependencyTree(globs, {
  context: process.cwd(),
  extensions: ['.ts', '.tsx', '.js', '.json'],
  js: ['.ts', '.tsx', '.js'],
  include: /./,
  exclude: /node_modules/,
  tsconfig: undefined,
  transform: false, // false keeps `import type`: a type-only edge counts
  skipDynamicImports: false,
  onProgress: () => undefined,
});
const cycles = parseCircular(tree, false);
if (cycles.length > 0) {
  for (const cycle of cycles)
    console.error(`error  Import cycle: ${[...cycle, cycle[0]].join(' -> ')}  no-import-cycles`);
  console.error(
    `\n${cycles.length} import cycle(s): move the shared type or function to a file both can import, or pass a narrow interface instead.`,
  );
  process.exit(1);
}
console.log(
  `no-import-cycles: ${Object.keys(tree).filter((f) => !f.includes('node_modules')).length} files, no cycles`,
);
