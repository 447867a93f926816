// Settings → Tasks and Settings → Classifier: named tasks (their models in order, from the quickest to the most
// capable, why, and what for) and the small model that picks a task for requests no rule decided, with its time cap.
import { useEffect, useState } from 'react';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { useApi } from '../hooks/control.ts';
import {
  compact,
  Field,
  FieldIssues,
  kept,
  optionalNumber,
  optionalText,
  SaveRow,
  useSectionDraft,
  type Issues,
} from './settings-draft.tsx';

interface TaskDraft {
  /** The stored task, whose other fields are kept. */
  original?: Settings['tasks'][number];
  name: string;
  models: string[];
  reason: string;
  description: string;
}

/** Every model reference the app knows (for the model fields' suggestions); none when the list fails. */
export function useModelRefs(): string[] {
  const api = useApi();
  const [refs, setRefs] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    api.models.list().then(
      (list) => live && setRefs(list.map((m) => m.ref)),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api]);
  return refs;
}

/** The suggestions the model fields share: known models and the bots' models. */
export function ModelOptions({ id, refs }: { id: string; refs: readonly string[] }) {
  return (
    <datalist id={id}>
      {[...new Set(refs)].map((r) => (
        <option key={r} value={r} />
      ))}
    </datalist>
  );
}

const toDraft = (s: Settings): TaskDraft[] =>
  s.tasks.map((t) => ({
    original: t,
    name: t.name,
    models: [...t.models],
    reason: t.reason ?? '',
    description: t.description ?? '',
  }));

export function TasksCard({ settings, onSaved }: { settings: Settings; onSaved?: (s: Settings) => void }) {
  const section = useSectionDraft(
    settings,
    toDraft,
    (d) => ({
      tasks: d.map((t) =>
        compact({
          ...kept(t.original, ['reason', 'description']),
          name: t.name.trim(),
          models: t.models.map((m) => m.trim()),
          reason: optionalText(t.reason),
          description: optionalText(t.description),
        }),
      ),
    }),
    onSaved,
  );
  const { draft, edit, issues } = section;
  const refs = useModelRefs();
  const change = (i: number, patch: Partial<TaskDraft>) =>
    edit((d) => d.map((t, j) => (j === i ? { ...t, ...patch } : t)));
  return (
    <div className="card">
      <h2>Tasks</h2>
      <p className="muted">
        A task names the models that answer one kind of request (code review, e-mail, extraction): the first answers by
        default, a complex request takes the last, so list them from the quickest to the most capable. Bots and routing
        rules name a task; the classifier reads the descriptions.
      </p>
      <ModelOptions id="task-model-options" refs={[...refs, ...settings.bots.map((b) => b.model)]} />
      {draft.map((t, i) => (
        <TaskForm
          key={i}
          task={t}
          path={`tasks.${i}`}
          issues={issues}
          onChange={(patch) => change(i, patch)}
          onRemove={() => edit((d) => d.filter((_, j) => j !== i))}
        />
      ))}
      <button
        type="button"
        className="button"
        onClick={() => edit((d) => [...d, { name: '', models: [''], reason: '', description: '' }])}
      >
        Add a task
      </button>
      <SaveRow
        label="Save tasks"
        section={section}
        settings={settings}
        other={issues.outside('tasks', /^\d+\.(name|models|reason|description)(\.|$)/)}
      />
    </div>
  );
}

interface TaskFormProps {
  task: TaskDraft;
  path: string;
  issues: Issues;
  onChange: (patch: Partial<TaskDraft>) => void;
  onRemove: () => void;
}

function TaskForm({ task: t, path, issues, onChange, onRemove }: TaskFormProps) {
  const title = t.name || 'New task';
  return (
    <fieldset className="card">
      <legend>{title}</legend>
      <Field label="Name" messages={issues.at(`${path}.name`)} className="block">
        <input value={t.name} placeholder="code_review" onChange={(e) => onChange({ name: e.target.value })} />
      </Field>
      <ModelList
        models={t.models}
        path={`${path}.models`}
        issues={issues}
        listId="task-model-options"
        onChange={(models) => onChange({ models })}
      />
      <Field label="Reason (shown in !why and the audit)" messages={issues.at(`${path}.reason`)} className="block">
        <input value={t.reason} onChange={(e) => onChange({ reason: e.target.value })} />
      </Field>
      <Field
        label="Description (what the task is for; the classifier reads it)"
        messages={issues.at(`${path}.description`)}
        className="block"
      >
        <textarea rows={2} value={t.description} onChange={(e) => onChange({ description: e.target.value })} />
      </Field>
      <button type="button" className="button button-danger" onClick={onRemove}>
        Remove task {t.name}
      </button>
    </fieldset>
  );
}

/** Models in order: each a field with move up and remove; the list's own issues (none given) under it. */
function ModelList(props: {
  models: string[];
  path: string;
  issues: Issues;
  listId: string;
  onChange: (models: string[]) => void;
}) {
  const { models, path, issues, listId, onChange } = props;
  const set = (i: number, v: string) => onChange(models.map((m, j) => (j === i ? v : m)));
  const up = (i: number) => onChange(models.map((m, j) => (j === i - 1 ? models[i]! : j === i ? models[i - 1]! : m)));
  return (
    <div className="block">
      <span className="label">Models, in order (the first answers by default)</span>
      <ol className="model-order">
        {models.map((m, i) => (
          <li key={i} className="row">
            <input
              className="grow"
              aria-label={`Model ${i + 1}`}
              list={listId}
              value={m}
              placeholder="ollama:qwen2.5:7b"
              onChange={(e) => set(i, e.target.value)}
            />
            <button
              type="button"
              className="button"
              disabled={i === 0}
              onClick={() => up(i)}
              aria-label={`Move model ${i + 1} up`}
            >
              ↑
            </button>
            <button
              type="button"
              className="button"
              onClick={() => onChange(models.filter((_, j) => j !== i))}
              aria-label={`Remove model ${i + 1}`}
            >
              ✕
            </button>
            <FieldIssues messages={issues.under(`${path}.${i}`)} />
          </li>
        ))}
      </ol>
      <FieldIssues messages={issues.at(path)} />
      <button type="button" className="button" onClick={() => onChange([...models, ''])}>
        Add a model
      </button>
    </div>
  );
}

export function ClassifierCard({ settings, onSaved }: { settings: Settings; onSaved?: (s: Settings) => void }) {
  const section = useSectionDraft<{ model: string; timeoutMs: string }>(
    settings,
    (s) => ({ model: s.routing.classifier.model ?? '', timeoutMs: String(s.routing.classifier.timeoutMs) }),
    (d) => ({
      // null clears the key: no model means rules only; no time cap means the default.
      routing: { classifier: { model: optionalText(d.model) ?? null, timeoutMs: optionalNumber(d.timeoutMs) ?? null } },
    }),
    onSaved,
  );
  const { draft, edit, issues } = section;
  const refs = useModelRefs();
  return (
    <div className="card">
      <h2>Classifier</h2>
      <p className="muted">
        A small model on this computer picks a task for requests no routing rule decided. Leave the model empty to route
        by rules only.
      </p>
      <ModelOptions id="classifier-model-options" refs={refs} />
      <div className="grid">
        <Field label="Classifier model" messages={issues.at('routing.classifier.model')}>
          <input
            list="classifier-model-options"
            value={draft.model}
            placeholder="rules only"
            onChange={(e) => edit((d) => ({ ...d, model: e.target.value }))}
          />
        </Field>
        <Field label="Time cap (ms; longer and the rules decide)" messages={issues.at('routing.classifier.timeoutMs')}>
          <input
            type="number"
            min={50}
            max={60000}
            value={draft.timeoutMs}
            onChange={(e) => edit((d) => ({ ...d, timeoutMs: e.target.value }))}
          />
        </Field>
      </div>
      <SaveRow
        label="Save classifier"
        section={section}
        settings={settings}
        other={issues.outside('routing.classifier', /^(model|timeoutMs)$/)}
      />
    </div>
  );
}
