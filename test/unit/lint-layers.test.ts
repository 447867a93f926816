// Proves the layer rules bite: planted violations fail lint, allowed imports pass.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const load = (name: string) =>
  JSON.parse(readFileSync(join(root, 'test/fixtures/layering', name), 'utf8')) as Array<{ as: string; code: string; why?: string }>;

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
