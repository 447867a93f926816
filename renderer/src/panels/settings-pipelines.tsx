// Settings → Pipelines: named pipelines of stages, each run by a model or a bot with its prompt, an optional JSON schema
// for its answer (typed as JSON text; a parse error is shown at once and keeps the save back) and an optional condition.
import type { Settings } from '../../../main/common/settings-schema.ts';
import {
  compact,
  Field,
  FieldIssues,
  kept,
  optionalText,
  SaveRow,
  useSectionDraft,
  type Issues,
} from './settings-draft.tsx';
import { ModelOptions, useModelRefs } from './settings-tasks.tsx';

export interface StageDraft {
  /** The stored stage, whose other fields (its token limit, say) are kept. */
  original?: Settings['pipelines'][number]['stages'][number];
  name: string;
  runsWith: 'model' | 'bot';
  model: string;
  bot: string;
  prompt: string;
  schemaText: string;
  condition: string;
}
interface PipelineDraft {
  original?: Settings['pipelines'][number];
  name: string;
  description: string;
  stages: StageDraft[];
}

const newStage = (n: number): StageDraft => ({
  name: `stage-${n}`,
  runsWith: 'model',
  model: '',
  bot: '',
  prompt: n === 1 ? '{{input}}' : '{{previous}}',
  schemaText: '',
  condition: '',
});

/** Why the schema text is not a JSON object, or undefined when it is (or is empty: no schema). */
export function schemaError(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `Not valid JSON: ${(err as Error).message}.`;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? undefined
    : 'A JSON schema is an object ({"type": "object", …}).';
}

const toDraft = (s: Settings): PipelineDraft[] =>
  s.pipelines.map((p) => ({
    original: p,
    name: p.name,
    description: p.description ?? '',
    stages: p.stages.map((st) => ({
      original: st,
      name: st.name,
      runsWith: st.bot !== undefined && st.model === undefined ? 'bot' : 'model',
      model: st.model ?? '',
      bot: st.bot ?? '',
      prompt: st.prompt,
      schemaText: st.schema ? JSON.stringify(st.schema, null, 2) : '',
      condition: st.condition ?? '',
    })),
  }));

function toPatch(d: PipelineDraft[]) {
  for (const p of d)
    for (const st of p.stages) {
      const error = schemaError(st.schemaText);
      if (error)
        return {
          refused: `Not saved: the JSON schema of stage "${st.name}" in pipeline "${p.name}" is not usable (${error}) Fix it or empty the field; what you typed is kept.`,
        };
    }
  return {
    pipelines: d.map((p) =>
      compact({
        ...kept(p.original, ['description', 'stages']),
        name: p.name.trim(),
        description: optionalText(p.description),
        stages: p.stages.map((st) =>
          compact({
            ...kept(st.original, ['model', 'bot', 'schema', 'condition']),
            name: st.name.trim(),
            model: st.runsWith === 'model' ? optionalText(st.model) : undefined,
            bot: st.runsWith === 'bot' ? optionalText(st.bot) : undefined,
            prompt: st.prompt,
            schema: st.schemaText.trim() ? (JSON.parse(st.schemaText) as Record<string, unknown>) : undefined,
            condition: optionalText(st.condition),
          }),
        ),
      }),
    ),
  };
}

export function PipelinesCard({ settings, onSaved }: { settings: Settings; onSaved?: (s: Settings) => void }) {
  const section = useSectionDraft(settings, toDraft, toPatch, onSaved);
  const { draft, edit, issues } = section;
  const refs = useModelRefs();
  const change = (i: number, update: (p: PipelineDraft) => PipelineDraft) =>
    edit((d) => d.map((p, j) => (j === i ? update(p) : p)));
  return (
    <div className="card">
      <h2>Pipelines</h2>
      <p className="muted">
        A pipeline runs its stages in order on one request (<code>!run &lt;name&gt; &lt;text&gt;</code>). A stage with a
        JSON schema answers JSON; later conditions (CEL, e.g. <code>category == &apos;complex&apos;</code>) read its
        fields, and a false one skips the stage.
      </p>
      <ModelOptions id="stage-model-options" refs={[...refs, ...settings.bots.map((b) => b.model)]} />
      {draft.map((p, i) => (
        <PipelineForm
          key={i}
          pipeline={p}
          path={`pipelines.${i}`}
          bots={settings.bots}
          issues={issues}
          onChange={(update) => change(i, update)}
          onRemove={() => edit((d) => d.filter((_, j) => j !== i))}
        />
      ))}
      <button
        type="button"
        className="button"
        onClick={() => edit((d) => [...d, { name: '', description: '', stages: [newStage(1)] }])}
      >
        Add a pipeline
      </button>
      <SaveRow
        label="Save pipelines"
        section={section}
        settings={settings}
        other={issues.outside('pipelines', /^\d+\.(name|description|stages)(\.|$)/)}
      />
    </div>
  );
}

interface PipelineFormProps {
  pipeline: PipelineDraft;
  path: string;
  bots: Settings['bots'];
  issues: Issues;
  onChange: (update: (p: PipelineDraft) => PipelineDraft) => void;
  onRemove: () => void;
}

function PipelineForm({ pipeline: p, path, bots, issues, onChange, onRemove }: PipelineFormProps) {
  const setStage = (i: number, patch: Partial<StageDraft>) =>
    onChange((q) => ({ ...q, stages: q.stages.map((s, j) => (j === i ? { ...s, ...patch } : s)) }));
  const move = (i: number) =>
    onChange((q) => ({
      ...q,
      stages: q.stages.map((s, j) => (j === i - 1 ? q.stages[i]! : j === i ? q.stages[i - 1]! : s)),
    }));
  return (
    <fieldset className="card">
      <legend>{p.name || 'New pipeline'}</legend>
      <div className="grid">
        <Field label="Name" messages={issues.at(`${path}.name`)}>
          <input
            value={p.name}
            placeholder="extract-invoice"
            onChange={(e) => onChange((q) => ({ ...q, name: e.target.value }))}
          />
        </Field>
        <Field label="Description" messages={issues.at(`${path}.description`)}>
          <input value={p.description} onChange={(e) => onChange((q) => ({ ...q, description: e.target.value }))} />
        </Field>
      </div>
      <ol className="stages">
        {p.stages.map((st, i) => (
          <StageForm
            key={i}
            stage={st}
            index={i}
            path={`${path}.stages.${i}`}
            bots={bots}
            issues={issues}
            onChange={(patch) => setStage(i, patch)}
            onMoveUp={i > 0 ? () => move(i) : undefined}
            onRemove={() => onChange((q) => ({ ...q, stages: q.stages.filter((_, j) => j !== i) }))}
          />
        ))}
      </ol>
      <FieldIssues messages={issues.at(`${path}.stages`)} />
      <div className="row">
        <button
          type="button"
          className="button"
          onClick={() => onChange((q) => ({ ...q, stages: [...q.stages, newStage(q.stages.length + 1)] }))}
        >
          Add a stage
        </button>
        <button type="button" className="button button-danger" onClick={onRemove}>
          Remove pipeline {p.name}
        </button>
      </div>
    </fieldset>
  );
}

interface StageFormProps {
  stage: StageDraft;
  index: number;
  path: string;
  bots: Settings['bots'];
  issues: Issues;
  onChange: (patch: Partial<StageDraft>) => void;
  onMoveUp: (() => void) | undefined;
  onRemove: () => void;
}

function StageForm({ stage: st, index, path, bots, issues, onChange, onMoveUp, onRemove }: StageFormProps) {
  const n = index + 1;
  const parseError = schemaError(st.schemaText);
  return (
    <li className="stage" aria-label={`Stage ${n}: ${st.name}`}>
      <FieldIssues messages={issues.at(path)} />
      <div className="grid">
        <Field label="Stage name" messages={issues.at(`${path}.name`)}>
          <input value={st.name} onChange={(e) => onChange({ name: e.target.value })} />
        </Field>
        <StageRunner stage={st} index={index} path={path} bots={bots} issues={issues} onChange={onChange} />
      </div>
      <Field
        label={
          <>
            Prompt ({'{{input}}'} the request, {'{{previous}}'} the stage before&apos;s answer, {'{{<stage>}}'} an
            earlier stage&apos;s)
          </>
        }
        messages={issues.at(`${path}.prompt`)}
        className="block"
      >
        <textarea rows={3} value={st.prompt} onChange={(e) => onChange({ prompt: e.target.value })} />
      </Field>
      <Field
        label="JSON schema of the answer (optional)"
        messages={[...(parseError ? [parseError] : []), ...issues.under(`${path}.schema`)]}
        className="block"
      >
        <textarea
          rows={st.schemaText ? 4 : 1}
          className="code"
          spellCheck={false}
          value={st.schemaText}
          placeholder='{"type": "object", "properties": {"category": {"type": "string"}}}'
          onChange={(e) => onChange({ schemaText: e.target.value })}
        />
      </Field>
      <Field
        label="Condition (optional, CEL on earlier answers; false skips the stage)"
        messages={issues.at(`${path}.condition`)}
        className="block"
      >
        <input
          value={st.condition}
          placeholder="category == 'complex'"
          onChange={(e) => onChange({ condition: e.target.value })}
        />
      </Field>
      <div className="row">
        {onMoveUp && (
          <button type="button" className="button" onClick={onMoveUp}>
            Move stage {n} up
          </button>
        )}
        <button type="button" className="button" onClick={onRemove}>
          Remove stage {n}
        </button>
      </div>
    </li>
  );
}

/** Runs with a model (a field with suggestions) or a bot (its model, prompt and privacy). */
function StageRunner({
  stage: st,
  index,
  path,
  bots,
  issues,
  onChange,
}: Omit<StageFormProps, 'onMoveUp' | 'onRemove'>) {
  return (
    <div>
      <fieldset className="radio-row">
        <legend className="label">Runs with</legend>
        {(['model', 'bot'] as const).map((kind) => (
          <label key={kind} className="check">
            <input
              type="radio"
              name={`${path}-runs-with`}
              checked={st.runsWith === kind}
              onChange={() => onChange({ runsWith: kind })}
            />
            {kind === 'model' ? 'A model' : 'A bot'}
          </label>
        ))}
      </fieldset>
      {st.runsWith === 'model' ? (
        <Field label={<>Model of stage {index + 1}</>} messages={issues.at(`${path}.model`)}>
          <input
            list="stage-model-options"
            value={st.model}
            placeholder="ollama:qwen2.5:7b"
            onChange={(e) => onChange({ model: e.target.value })}
          />
        </Field>
      ) : (
        <Field label={<>Bot of stage {index + 1}</>} messages={issues.at(`${path}.bot`)}>
          <select value={st.bot} onChange={(e) => onChange({ bot: e.target.value })}>
            <option value="">Choose a bot</option>
            {st.bot && !bots.some((b) => b.id === st.bot) && <option value={st.bot}>{st.bot} (no such bot)</option>}
            {bots.map((b) => (
              <option key={b.id} value={b.id}>
                {b.displayName}
              </option>
            ))}
          </select>
        </Field>
      )}
    </div>
  );
}
