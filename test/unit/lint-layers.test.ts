// Proves the lint rules bite: planted violations (layers, test code in the product, size, import cycles) fail lint,
// each naming its rule; allowed imports pass.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const load = (name: string) =>
  JSON.parse(readFileSync(join(root, 'test/fixtures/layering', name), 'utf8')) as Array<{
    as: string;
    code: string;
    why?: string;
  }>;

const eslint = new ESLint({ cwd: root });

describe('layering lint rules', () => {
  for (const c of load('cases.json')) {
    it(`rejects: ${c.why} (${c.as})`, async () => {
      const [result] = await eslint.lintText(c.code, { filePath: join(root, c.as) });
      const rules = result!.messages.map((m) => m.ruleId);
      expect(rules).toContain('no-restricted-imports');
      expect(result!.errorCount).toBeGreaterThan(0);
    });
  }
  for (const c of load('allowed.json')) {
    it(`allows imports in ${c.as}`, async () => {
      const [result] = await eslint.lintText(c.code, { filePath: join(root, c.as) });
      expect(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toEqual([]);
    });
  }
});

describe('size and cycle rules', () => {
  it('rejects a 400-line file in main/ (max-lines), naming the rule', async () => {
    const code = Array.from({ length: 400 }, (_, i) => `export const v${i} = ${i};`).join('\n') + '\n';
    const [result] = await eslint.lintText(code, { filePath: join(root, 'main/core/planted.ts') });
    const hit = result!.messages.find((m) => m.ruleId === 'max-lines');
    expect(hit?.message).toMatch(/too many lines \(400\)\. Maximum allowed is 350/);
  });

  it('rejects a function of 90 lines of code in renderer/ (max-lines-per-function)', async () => {
    const body = Array.from({ length: 90 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const [result] = await eslint.lintText(`export function big(): number {\n${body}\n  return v0 + v89;\n}\n`, {
      filePath: join(root, 'renderer/src/planted.ts'),
    });
    expect(result!.messages.map((m) => m.ruleId)).toContain('max-lines-per-function');
  });

  it('rejects an import cycle made only of type imports, naming both files (no-import-cycles)', () => {
    const dir = mkdtempSync(join(root, 'main/core/planted-cycle-'));
    try {
      writeFileSync(join(dir, 'a.ts'), "import type { B } from './b.ts';\nexport interface A {\n  b?: B;\n}\n");
      writeFileSync(join(dir, 'b.ts'), "import type { A } from './a.ts';\nexport interface B {\n  a?: A;\n}\n");
      const rel = relative(root, dir);
      const run = spawnSync(
        process.execPath,
        ['--experimental-strip-types', '--no-warnings', 'scripts/check-cycles.ts', `${rel}/*.ts`],
        { cwd: root, encoding: 'utf8' },
      );
      expect(run.status).toBe(1);
      // Either file may start the cycle's name.
      expect(run.stderr).toMatch(/Import cycle: (\S+\/[ab]\.ts) -> \S+\/[ab]\.ts -> \1 {2}no-import-cycles/);
      expect(run.stderr).toContain(`${rel}/a.ts`);
      expect(run.stderr).toContain(`${rel}/b.ts`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
