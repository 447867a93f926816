// Proves the workflow lint bites (scripts/lint-workflows.ts, part of `npm run lint`): the committed workflows pass,
// and each planted mistake (one GitHub's schema rejects, and the ones a schema cannot see) fails, naming the place.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lintWorkflows } from '../../scripts/lint-workflows.ts';

const root = join(import.meta.dirname, '..', '..');
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A repository with one workflow (`jobs` is the YAML under `jobs:`), a package.json and scripts/ok.ts. */
function repo(jobs: string): string {
  dir = mkdtempSync(join(tmpdir(), 'lint-workflows-'));
  mkdirSync(join(dir, '.github', 'workflows'), { recursive: true });
  mkdirSync(join(dir, 'scripts'));
  writeFileSync(join(dir, 'scripts', 'ok.ts'), '');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { build: 'x' } }));
  writeFileSync(join(dir, '.github', 'workflows', 'w.yml'), `name: w\non: push\njobs:\n${jobs}`);
  return dir;
}

const job = (steps: string, extra = '') =>
  `  a:\n    runs-on: ubuntu-latest\n${extra}    steps:\n      - uses: actions/checkout@v4\n${steps}`;

describe('workflow lint', () => {
  it('passes the committed workflows and the install action', () => {
    const { files, problems } = lintWorkflows(root);
    expect(problems).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining(['.github/workflows/release.yml', '.github/actions/install/action.yml']),
    );
  });

  it('passes a correct workflow', () => {
    const steps =
      '      - id: one\n        run: node scripts/ok.ts && npm run build\n      - run: echo ${{ steps.one.outputs.x }} ${{ matrix.os }}\n';
    const { problems } = lintWorkflows(repo(job(steps, '    strategy:\n      matrix:\n        os: [a, b]\n')));
    expect(problems).toEqual([]);
  });

  it.each([
    ['a key GitHub does not know', '      - run: echo hi\n        bogus: 1\n', /Additional property 'bogus'/],
    ['an action that follows a branch', '      - uses: actions/setup-node@main\n', /follows a branch/],
    ['an action without a ref', '      - uses: actions/setup-node\n', /must be owner\/repo@ref/],
    ['a local action that does not exist', '      - uses: ./.github/actions/nope\n', /has no action\.yml/],
    ['a step id that is not there', '      - run: echo ${{ steps.nope.outputs.x }}\n', /steps\.nope is not an earlier/],
    [
      'a step id used before its step',
      '      - run: echo ${{ steps.later.outputs.x }}\n      - id: later\n        run: echo\n',
      /steps\.later/,
    ],
    ['a matrix key the job lacks', '      - run: echo ${{ matrix.os }}\n', /matrix\.os is not a key/],
    [
      'a needs the job does not list',
      '      - run: echo ${{ needs.b.outputs.x }}\n',
      /needs\.b is not in this job's needs/,
    ],
    [
      'a script that does not exist',
      '      - run: node scripts/missing.ts\n',
      /scripts\/missing\.ts, which does not exist/,
    ],
    [
      'an npm script that does not exist',
      '      - run: npm run nope -- --x\n',
      /npm run nope: package\.json has no such script/,
    ],
  ])('rejects %s', (_what, steps, message) => {
    const { problems } = lintWorkflows(repo(job(steps)));
    expect(problems.map((p) => p.message).join('\n')).toMatch(message);
    expect(problems.every((p) => p.file === '.github/workflows/w.yml' && p.where.startsWith('/jobs/a'))).toBe(true);
  });

  it('rejects a job that needs a job that does not exist (GitHub would refuse the file)', () => {
    const { problems } = lintWorkflows(repo(job('      - run: echo\n', '    needs: ghost\n')));
    expect(problems.map((p) => p.message).join('\n')).toMatch(/unresolved job ghost/i);
  });

  it('is part of npm run lint, and the CLI exits 1 naming the file and the rule', () => {
    const pkg = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    expect(pkg.lint).toContain('npm run lint:workflows');
    expect(pkg['lint:workflows']).toContain('scripts/lint-workflows.ts');
    const bad = repo(job('      - uses: actions/setup-node@master\n'));
    const run = spawnSync(
      process.execPath,
      ['--experimental-strip-types', '--no-warnings', 'scripts/lint-workflows.ts', bad],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /\.github\/workflows\/w\.yml \/jobs\/a\/steps\/1: uses: actions\/setup-node@master follows a branch.*workflows/,
    );
  });
});
