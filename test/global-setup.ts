// Builds dist/ once when it is missing, so CLI tests run the real bundled program.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  if (!existsSync(join(root, 'dist', 'main', 'serve.js'))) {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.js'), '--quiet'], { cwd: root, stdio: 'inherit' });
  }
}
