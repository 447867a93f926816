// Lint rule "workflows": GitHub cannot be reached from our machines, so the release workflow is never run before a
// tag is pushed. This checks every file under .github/workflows and each local action (.github/actions/*/action.yml)
// against GitHub's schemas with @action-validator/core (the library behind the action-validator CLI), then checks
// what a schema cannot see:
//   - `uses:` names a local action that exists, or owner/repo@ref pinned to a tag or commit (never a branch);
//   - `${{ steps.X }}` names an earlier step's id in the same job, `${{ needs.X }}` a job listed in `needs`,
//     `${{ matrix.X }}` a key of the job's matrix;
//   - a `run:` that names scripts/<file> or `npm run <script>` names a file or package.json script that exists.
//   node --experimental-strip-types scripts/lint-workflows.ts [repo root]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';

type ValidationError = { code: string; detail?: string; path?: string; title: string; states?: ValidationState[] };
type ValidationState = { errors: ValidationError[] };
interface Validator {
  validateAction(src: string): ValidationState;
  validateWorkflow(src: string): ValidationState;
}

export interface WorkflowProblem {
  file: string;
  where: string;
  message: string;
}

type Node = Record<string, unknown>;
const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The leaf errors of a result; of a oneOf's alternatives, the one that came closest (fewest errors). */
function leafErrors(errors: ValidationError[]): ValidationError[] {
  return errors.flatMap((e) => {
    if (!e.states?.length) return [e];
    const closest = e.states.map((s) => leafErrors(s.errors)).sort((a, b) => a.length - b.length)[0];
    return closest?.length ? closest : [e];
  });
}

/** Every string in a value, with its path, for the expression checks. */
function strings(value: unknown, path: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}/${i}`, out));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) strings(v, `${path}/${k}`, out);
  return out;
}

function expressions(text: string): string[] {
  return [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1] ?? '');
}

/** Keys a job's matrix defines: its axes and every key of its include entries. */
function matrixKeys(job: Node): Set<string> | undefined {
  const strategy = job.strategy;
  if (!isObject(strategy)) return undefined;
  const matrix = strategy.matrix;
  if (typeof matrix === 'string') return undefined; // fromJSON(…): not knowable here
  if (!isObject(matrix)) return undefined;
  const keys = new Set(Object.keys(matrix).filter((k) => k !== 'include' && k !== 'exclude'));
  for (const entry of Array.isArray(matrix.include) ? matrix.include : []) {
    if (isObject(entry)) for (const k of Object.keys(entry)) keys.add(k);
  }
  return keys;
}

interface Context {
  root: string;
  file: string;
  scripts: Set<string>;
  problems: WorkflowProblem[];
}

function checkUses(ctx: Context, uses: string, where: string): void {
  if (uses.startsWith('./')) {
    const dir = join(ctx.root, uses);
    if (!existsSync(join(dir, 'action.yml')) && !existsSync(join(dir, 'action.yaml')))
      ctx.problems.push({ file: ctx.file, where, message: `local action ${uses} has no action.yml` });
    return;
  }
  if (uses.startsWith('docker://')) return;
  const ref = /^[\w.-]+\/[\w./-]+@([\w.-]+)$/.exec(uses)?.[1];
  if (!ref)
    ctx.problems.push({ file: ctx.file, where, message: `uses: ${uses} must be owner/repo@ref with a tag or commit` });
  else if (['main', 'master', 'HEAD', 'latest', 'develop', 'trunk'].includes(ref))
    ctx.problems.push({
      file: ctx.file,
      where,
      message: `uses: ${uses} follows a branch: pin a release tag or commit`,
    });
}

function checkRun(ctx: Context, run: string, where: string): void {
  for (const m of run.matchAll(/(?:^|[\s"'=(])(scripts\/[\w./-]+\.(?:ts|js|mjs|sh|json))(?![\w.])/g)) {
    const file = m[1] ?? '';
    if (!existsSync(join(ctx.root, file)))
      ctx.problems.push({ file: ctx.file, where, message: `run names ${file}, which does not exist` });
  }
  for (const m of run.matchAll(/\bnpm run ([\w:.-]+)/g)) {
    const name = m[1] ?? '';
    if (!ctx.scripts.has(name))
      ctx.problems.push({ file: ctx.file, where, message: `npm run ${name}: package.json has no such script` });
  }
}

/** The steps of a job or a composite action: uses, run, and the expressions they read. */
function checkSteps(ctx: Context, steps: unknown[], where: string, job: Node | undefined, needs: string[]): void {
  const seenIds: string[] = [];
  const matrix = job ? matrixKeys(job) : undefined;
  const checkExpressions = (value: unknown, at: string) => {
    for (const [path, text] of strings(value, at)) {
      for (const expr of expressions(text)) {
        for (const m of expr.matchAll(/\bsteps\.([\w-]+)/g))
          if (!seenIds.includes(m[1] ?? ''))
            ctx.problems.push({ file: ctx.file, where: path, message: `steps.${m[1]} is not an earlier step's id` });
        for (const m of expr.matchAll(/\bneeds\.([\w-]+)/g))
          if (job && !needs.includes(m[1] ?? ''))
            ctx.problems.push({ file: ctx.file, where: path, message: `needs.${m[1]} is not in this job's needs` });
        for (const m of expr.matchAll(/\bmatrix\.([\w-]+)/g))
          if (job && (!matrix || !matrix.has(m[1] ?? '')))
            ctx.problems.push({
              file: ctx.file,
              where: path,
              message: `matrix.${m[1]} is not a key of this job's matrix`,
            });
      }
    }
  };
  if (job) {
    // Job outputs read the job's steps, whichever comes last; the job's other keys are evaluated before any step.
    const { steps: _steps, outputs, ...rest } = job;
    checkExpressions(rest, where);
    seenIds.push(...steps.flatMap((s) => (isObject(s) && typeof s.id === 'string' ? [s.id] : [])));
    checkExpressions(outputs, `${where}/outputs`);
    seenIds.length = 0;
  }
  steps.forEach((step, i) => {
    if (!isObject(step)) return;
    const at = `${where}/steps/${i}${typeof step.name === 'string' ? ` (${step.name})` : ''}`;
    checkExpressions(step, at);
    if (typeof step.uses === 'string') checkUses(ctx, step.uses, at);
    if (typeof step.run === 'string') checkRun(ctx, step.run, at);
    if (typeof step.id === 'string') seenIds.push(step.id);
  });
}

function lintFile(ctx: Context, validator: Validator, kind: 'workflow' | 'action'): void {
  const text = readFileSync(join(ctx.root, ctx.file), 'utf8');
  const result = kind === 'workflow' ? validator.validateWorkflow(text) : validator.validateAction(text);
  for (const e of leafErrors(result.errors))
    ctx.problems.push({
      file: ctx.file,
      where: e.path ?? '/',
      message: `${e.title}${e.detail ? `: ${e.detail}` : ''}`,
    });
  if (result.errors.length > 0) return;
  const doc = parseYaml(text) as Node;
  if (kind === 'action') {
    const runs = isObject(doc.runs) ? doc.runs : {};
    if (Array.isArray(runs.steps)) checkSteps(ctx, runs.steps, '/runs', undefined, []);
    return;
  }
  const jobs = isObject(doc.jobs) ? doc.jobs : {};
  for (const [id, job] of Object.entries(jobs)) {
    if (!isObject(job)) continue;
    const needs = typeof job.needs === 'string' ? [job.needs] : Array.isArray(job.needs) ? job.needs.map(String) : [];
    if (typeof job.uses === 'string') checkUses(ctx, job.uses, `/jobs/${id}`);
    checkSteps(ctx, Array.isArray(job.steps) ? job.steps : [], `/jobs/${id}`, job, needs);
  }
}

/** The workflow and local action files under root/.github, relative to root. */
export function workflowFiles(root: string): Array<{ file: string; kind: 'workflow' | 'action' }> {
  const files: Array<{ file: string; kind: 'workflow' | 'action' }> = [];
  const workflows = join(root, '.github', 'workflows');
  if (existsSync(workflows))
    for (const f of readdirSync(workflows).sort())
      if (/\.ya?ml$/.test(f)) files.push({ file: relative(root, join(workflows, f)), kind: 'workflow' });
  const actions = join(root, '.github', 'actions');
  if (existsSync(actions))
    for (const d of readdirSync(actions).sort())
      for (const name of ['action.yml', 'action.yaml'])
        if (existsSync(join(actions, d, name)))
          files.push({ file: relative(root, join(actions, d, name)), kind: 'action' });
  return files;
}

export function lintWorkflows(root: string): { files: string[]; problems: WorkflowProblem[] } {
  const validator = createRequire(import.meta.url)('@action-validator/core') as Validator;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const scripts = new Set(Object.keys(pkg.scripts ?? {}));
  const problems: WorkflowProblem[] = [];
  const files = workflowFiles(root);
  for (const { file, kind } of files) lintFile({ root, file, scripts, problems }, validator, kind);
  return { files: files.map((f) => f.file), problems };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(process.argv[2] ?? '.');
  const { files, problems } = lintWorkflows(root);
  for (const p of problems) console.error(`error  ${p.file} ${p.where}: ${p.message}  workflows`);
  if (files.length === 0) console.error('error  no workflow under .github/workflows  workflows');
  if (problems.length > 0 || files.length === 0) {
    console.error(`\n${problems.length} problem(s) in the workflows.`);
    process.exit(1);
  }
  console.log(`workflows: ${files.length} files valid (${files.join(', ')})`);
}
