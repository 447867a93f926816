// Imports an AIMatrix master agent config (`routing`, `resources`, `pipeline`, at the top or under `master_agent`)
// into Agent Room's tasks, pipelines and inference settings, reporting each key as the matrix-agent-room import does.
// AIMatrix's documentation writes a routing entry's model and reason as a comment (`- task: x  # → local/m, "why"`),
// so the YAML document's comments are read too.
import { isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import { pipelineSchema, taskSchema } from '../../common/settings-master.ts';
import type { PipelineConfig, StageConfig, TaskConfig } from '../../common/settings-master.ts';
import type { Settings } from '../../common/settings-schema.ts';
import { AimatrixModels } from './import-aimatrix-models.ts';
import { mapResources } from './import-aimatrix-resources.ts';
import { checked, isRecord, reportUnknownKeys, uniqueId } from './import-support.ts';
import type { ImportReport } from './import-support.ts';

export const AIMATRIX_KEYS = ['master_agent', 'routing', 'resources', 'pipeline'] as const;
const SECTION_KEYS = ['routing', 'resources', 'pipeline'];
const ROUTE_KEYS = ['task', 'name', 'model', 'models', 'reason', 'description'];
const STAGE_KEYS = ['stage', 'name', 'model', 'task', 'prompt', 'condition'];
const SOURCE = 'an AIMatrix';
/** The pipeline the file's `pipeline` becomes (a later import replaces it). */
export const IMPORTED_PIPELINE = 'imported';

interface Ctx {
  settings: Settings;
  report: ImportReport;
  models: AimatrixModels;
}

/**
 * Maps the AIMatrix sections of `root` into `settings`. `reportRootKeys`: report top-level keys that neither
 * format knows (false when the matrix-agent-room import of the same file already did).
 */
export function mapAimatrix(
  doc: Document,
  root: Record<string, unknown>,
  target: { settings: Settings; report: ImportReport },
  reportRootKeys: boolean,
): void {
  const ctx: Ctx = { ...target, models: new AimatrixModels(target.settings, target.report) };
  if (reportRootKeys) reportUnknownKeys(root, AIMATRIX_KEYS, '', ctx.report, SOURCE);
  const sources: Array<{ obj: Record<string, unknown>; path: string[] }> = [{ obj: root, path: [] }];
  const wrapper = root.master_agent;
  if (isRecord(wrapper)) {
    reportUnknownKeys(wrapper, SECTION_KEYS, 'master_agent', ctx.report, SOURCE);
    sources.push({ obj: wrapper, path: ['master_agent'] });
  } else if (wrapper !== undefined) {
    ctx.report.notMapped.push('master_agent: expected a mapping with routing, resources and pipeline; not imported.');
  }
  const label = (path: string[], key: string) => [...path, key].join('.');
  for (const { obj, path } of sources)
    if (obj.routing !== undefined)
      mapRouting(obj.routing, doc.getIn([...path, 'routing'], true), label(path, 'routing'), ctx);
  for (const { obj, path } of sources)
    if (obj.pipeline !== undefined) mapPipeline(obj.pipeline, label(path, 'pipeline'), ctx);
  for (const { obj, path } of sources) mapResources(obj.resources, label(path, 'resources'), ctx);
  ctx.models.finish();
}

/** A task name the schema takes: lower case, other characters as `_`. */
function toTaskName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
}

/** `→ local/codellama:34b, "Specialized for code"` in any comment on a routing entry: its model and reason. */
export function routeComment(node: unknown): { model: string; reason?: string } | undefined {
  const comments: string[] = [];
  const add = (n: unknown) => {
    if (n && typeof n === 'object' && 'comment' in n && typeof n.comment === 'string') comments.push(n.comment);
  };
  add(node);
  if (isMap(node))
    for (const pair of node.items) {
      add(pair.key);
      add(pair.value);
    }
  for (const text of comments) {
    const m = /^\s*(?:→|->)\s*([^\s,]+)\s*(?:,\s*(.*?))?\s*$/.exec(text);
    if (!m) continue;
    const reason = m[2]?.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
    return { model: m[1]!, ...(reason ? { reason } : {}) };
  }
  return undefined;
}

interface RouteEntry {
  at: string;
  name: unknown;
  body: Record<string, unknown>;
  node: unknown;
}

/** The list form (`- task: x`, with fields or a comment) and the keyed form (`x: {model, reason}` or `x: model`). */
function routeEntries(value: unknown, node: Node | undefined, label: string, report: ImportReport): RouteEntry[] {
  if (Array.isArray(value)) {
    return value.map((item, i) => {
      const at = `${label}[${i}]`;
      const itemNode = isSeq(node) ? node.items[i] : undefined;
      if (typeof item === 'string') return { at, name: item, body: {}, node: itemNode };
      return {
        at,
        name: isRecord(item) ? (item.task ?? item.name) : undefined,
        body: isRecord(item) ? item : {},
        node: itemNode,
      };
    });
  }
  if (isRecord(value)) {
    return Object.entries(value).map(([name, v]) => {
      const pair = isMap(node)
        ? node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === name)
        : undefined;
      const body = isRecord(v) ? v : v === null ? {} : { models: v };
      return { at: `${label}.${name}`, name, body, node: pair?.value ?? pair?.key };
    });
  }
  report.notMapped.push(`${label}: expected a list of tasks (- task: name) or a mapping of task names; not imported.`);
  return [];
}

function mapRouting(value: unknown, node: unknown, label: string, ctx: Ctx): void {
  for (const entry of routeEntries(value, node as Node | undefined, label, ctx.report)) mapRoute(entry, ctx);
}

function mapRoute({ at, name, body, node }: RouteEntry, ctx: Ctx): void {
  const { report, settings } = ctx;
  if (typeof name !== 'string' || toTaskName(name) === '') {
    report.notMapped.push(`${at}: has no task name ("task:"); not imported.`);
    return;
  }
  reportUnknownKeys(body, ROUTE_KEYS, at, report, SOURCE);
  const taskId = toTaskName(name);
  if (taskId !== name) report.warnings.push(`${at}: task "${name}" is called "${taskId}" (task names are lower case).`);
  const listed = body.models ?? body.model;
  const comment = listed === undefined ? routeComment(node) : undefined;
  const raw = listed ?? comment?.model;
  if (raw === undefined) {
    report.notMapped.push(
      `${at} (${name}): names no model (model: local/<name> or api/<name>, or a "# → model" comment); task not imported.`,
    );
    return;
  }
  const models = (Array.isArray(raw) ? raw : [raw])
    .map((m, i) => ctx.models.map(m, Array.isArray(raw) ? `${at}.models[${i}]` : `${at}.model`, 'left out of the task'))
    .filter((m): m is string => m !== undefined);
  if (models.length === 0) {
    report.notMapped.push(`${at} (${name}): no model Agent Room can use; task not imported.`);
    return;
  }
  const task: TaskConfig = { name: taskId, models };
  const reason = body.reason ?? comment?.reason;
  const s = taskSchema.shape;
  const keep = (v: unknown, key: 'reason' | 'description') =>
    v === undefined ? undefined : checked(s[key], v, `${at}.${key}`, report, `${key} left out`);
  const why = keep(reason, 'reason');
  const description = keep(body.description, 'description');
  if (why !== undefined) task.reason = why;
  if (description !== undefined) task.description = description;
  const existing = settings.tasks.findIndex((t) => t.name === taskId);
  if (existing >= 0) {
    settings.tasks[existing] = task;
    report.warnings.push(`${at}: replaced the existing task "${taskId}" in the current settings.`);
  } else settings.tasks.push(task);
  const from = comment ? ' (model and reason read from its "# →" comment)' : '';
  report.mapped.push(`${at} → task "${taskId}": ${models.join(', ')}${why ? ` — "${why}"` : ''}${from}.`);
}

/** The names a CEL condition reads: identifiers outside quotes that are not keywords, functions or fields after a dot. */
export function conditionNames(condition: string): string[] {
  const bare = condition.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '""');
  const names = [...bare.matchAll(/(?<![.\w])([A-Za-z_]\w*)(?![\w(]|\s+\()/g)].map((m) => m[1]!);
  return [...new Set(names.filter((n) => !['true', 'false', 'null', 'in'].includes(n)))];
}

function stagePrompt(task: string, first: boolean): string {
  const what = `Do this task: ${task.replace(/_/g, ' ')}.`;
  return first
    ? `${what}\n\n{{input}}`
    : `${what}\n\nThe request:\n{{input}}\n\nThe output of the stage before:\n{{previous}}`;
}

function mapStage(item: unknown, at: string, stages: StageConfig[], ctx: Ctx): void {
  const { report } = ctx;
  if (!isRecord(item)) {
    report.notMapped.push(`${at}: expected a mapping (stage, model, task); stage not imported.`);
    return;
  }
  reportUnknownKeys(item, STAGE_KEYS, at, report, SOURCE);
  const given = item.stage ?? item.name;
  const base = typeof given === 'string' && toTaskName(given) !== '' ? toTaskName(given) : `stage-${stages.length + 1}`;
  const name = uniqueId(base, (c) => stages.some((s) => s.name === c));
  const model = ctx.models.map(item.model, `${at}.model`, `stage "${name}" not imported`);
  if (model === undefined) return;
  let prompt: string;
  if (typeof item.prompt === 'string' && item.prompt.trim() !== '') prompt = item.prompt;
  else if (typeof item.task === 'string' && item.task.trim() !== '')
    prompt = stagePrompt(item.task, stages.length === 0);
  else {
    report.notMapped.push(`${at} (${name}): has no task or prompt, so nothing says what it does; stage not imported.`);
    return;
  }
  const stage: StageConfig = { name, model, prompt };
  if (typeof item.condition === 'string' && item.condition.trim() !== '') {
    stage.condition = item.condition;
    conditionWarning(item.condition, at, name, stages, report);
  } else if (item.condition !== undefined) {
    report.notMapped.push(
      `${at}.condition: ${JSON.stringify(item.condition)} is not an expression; the stage always runs.`,
    );
  }
  stages.push(stage);
  const source = item.prompt !== undefined ? 'its prompt' : `a prompt written from its task "${String(item.task)}"`;
  report.mapped.push(
    `${at} → stage "${name}": ${model}, ${source}${stage.condition ? `, when ${stage.condition}` : ''}.`,
  );
}

/** A condition reads the JSON fields of earlier stages with a schema: an imported stage has none, so say what to add. */
function conditionWarning(
  condition: string,
  at: string,
  name: string,
  before: StageConfig[],
  report: ImportReport,
): void {
  const fields = conditionNames(condition).filter((n) => !before.some((s) => s.name === n));
  const previous = before[before.length - 1];
  if (fields.length === 0 || !previous || previous.schema) return;
  const properties = Object.fromEntries(fields.map((f) => [f, { type: 'string' }]));
  const schema = JSON.stringify({ type: 'object', properties, required: fields });
  report.warnings.push(
    `${at}.condition "${condition}" is kept as is (CEL). It reads ${fields.join(', ')}, which a condition finds in the JSON answer of an earlier stage with a schema; no stage before "${name}" has one, so a run would stop at "${name}": ` +
      `give stage "${previous.name}" the schema ${schema} in Settings → Pipelines, and say in its prompt which values ${fields[0]} takes.`,
  );
}

function mapPipeline(value: unknown, label: string, ctx: Ctx): void {
  const { report, settings } = ctx;
  if (!Array.isArray(value)) {
    report.notMapped.push(`${label}: expected a list of stages (- stage: name, model: …, task: …); not imported.`);
    return;
  }
  const stages: StageConfig[] = [];
  value.forEach((item, i) => mapStage(item, `${label}[${i}]`, stages, ctx));
  if (stages.length === 0) {
    report.notMapped.push(`${label}: no stage could be imported; no pipeline made.`);
    return;
  }
  const parsed = pipelineSchema.safeParse({
    name: IMPORTED_PIPELINE,
    description: 'Imported from an AIMatrix config.',
    stages,
  });
  if (!parsed.success) {
    report.notMapped.push(`${label}: ${parsed.error.issues.map((i) => i.message).join('; ')}; no pipeline made.`);
    return;
  }
  const pipeline: PipelineConfig = parsed.data;
  const existing = settings.pipelines.findIndex((p) => p.name === pipeline.name);
  if (existing >= 0) {
    settings.pipelines[existing] = pipeline;
    report.warnings.push(`${label}: replaced the existing pipeline "${pipeline.name}" in the current settings.`);
  } else settings.pipelines.push(pipeline);
  report.mapped.push(
    `${label} → pipeline "${pipeline.name}" of ${stages.length} stage(s): ${stages.map((s) => s.name).join(' → ')}; run it with \`!run ${pipeline.name} <text>\`. Edit the prompts in Settings → Pipelines.`,
  );
}
