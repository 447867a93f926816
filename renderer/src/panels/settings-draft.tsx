// What the settings cards that edit a section share: the draft the person types into (kept as typed until a save
// succeeds, so a refused save loses nothing), the save through settings.update, and the server's issues shown next to
// the fields they name, the rest under the card.
import { cloneElement, useEffect, useId, useState, type ReactElement, type ReactNode } from 'react';
import type { ControlIssue, SettingsPatch } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { errorText, useApi } from '../hooks/control.ts';

/** The issues of a refused settings.update (a ControlError or its payload), else none. */
export function issuesOf(err: unknown): ControlIssue[] {
  if (err && typeof err === 'object' && 'issues' in err && Array.isArray(err.issues))
    return err.issues as ControlIssue[];
  return [];
}

/** Issues by settings path ("tasks.0.models.1"). */
export class Issues {
  constructor(readonly all: readonly ControlIssue[] = []) {}
  /** At `path` exactly. */
  at(path: string): string[] {
    return this.all.filter((i) => i.path === path).map((i) => i.message);
  }
  /** At `path` or anywhere inside it. */
  under(path: string): string[] {
    return this.all.filter((i) => i.path === path || i.path.startsWith(`${path}.`)).map((i) => i.message);
  }
  /** Those that no field of the card shows: outside `section`, or on the section itself. */
  outside(section: string, shown: RegExp): ControlIssue[] {
    return this.all.filter((i) => !i.path.startsWith(`${section}.`) || !shown.test(i.path.slice(section.length + 1)));
  }
}

export interface SectionDraft<D> {
  draft: D;
  /** Changes the draft (marks it changed: settings events no longer replace it). */
  edit: (update: (d: D) => D) => void;
  dirty: boolean;
  busy: boolean;
  issues: Issues;
  message?: { text: string; error: boolean };
  save: () => Promise<void>;
  /** Back to the stored settings. */
  reset: () => void;
}

/**
 * A draft of one section made from the stored settings by `fromSettings`; `toPatch` turns it into the patch, or
 * into a message when the draft itself is not sendable (JSON that does not parse). A settings event replaces the draft
 * only while it is unchanged.
 */
export function useSectionDraft<D>(
  settings: Settings,
  fromSettings: (s: Settings) => D,
  toPatch: (d: D) => SettingsPatch | { refused: string },
  onSaved?: (s: Settings) => void,
): SectionDraft<D> {
  const api = useApi();
  // The newest stored settings: the prop, or what a save answered (before the settings event brings it as the prop).
  const [base, setBase] = useState(settings);
  useEffect(() => setBase(settings), [settings]);
  const [draft, setDraft] = useState<D>(() => fromSettings(settings));
  const [dirty, setDirty] = useState(false);
  const [busy, setBusy] = useState(false);
  const [issues, setIssues] = useState(new Issues());
  const [message, setMessage] = useState<{ text: string; error: boolean }>();
  useEffect(() => {
    if (!dirty) setDraft(fromSettings(base));
    // Not on fromSettings: the caller's pure mapping is a new function each render and must not reset the draft.
  }, [base, dirty]);

  const edit = (update: (d: D) => D) => {
    setDraft(update);
    setDirty(true);
    setMessage(undefined);
  };
  const save = async () => {
    const patch = toPatch(draft);
    if ('refused' in patch) {
      setMessage({ text: patch.refused, error: true });
      return;
    }
    setBusy(true);
    try {
      const stored = await api.settings.update(patch);
      setBase(stored);
      setIssues(new Issues());
      setDirty(false);
      setMessage({ text: 'Saved.', error: false });
      onSaved?.(stored);
    } catch (err) {
      const list = issuesOf(err);
      setIssues(new Issues(list));
      const where = list.length ? ` ${list.length === 1 ? 'The problem is' : 'The problems are'} marked below.` : '';
      setMessage({ text: `Not saved: ${errorText(err)}${where} What you typed is kept.`, error: true });
    } finally {
      setBusy(false);
    }
  };
  const reset = () => {
    setDraft(fromSettings(base));
    setDirty(false);
    setIssues(new Issues());
    setMessage(undefined);
  };
  return { draft, edit, dirty, busy, issues, ...(message ? { message } : {}), save, reset };
}

/**
 * A labelled field with the server's messages for it under the label (not in it: they describe the field, they do not
 * name it), tied to the input by aria-describedby and marking it invalid.
 */
export function Field({
  label,
  messages,
  className,
  children,
}: {
  label: ReactNode;
  messages: readonly string[];
  className?: string;
  children: ReactElement<Record<string, unknown>>;
}) {
  const id = useId();
  const bad = messages.length > 0;
  return (
    <div className={className}>
      <label>
        <span className="label">{label}</span>
        {cloneElement(children, bad ? { 'aria-describedby': id, 'aria-invalid': true } : {})}
      </label>
      <FieldIssues id={id} messages={messages} />
    </div>
  );
}

/** The messages for one field, tied to it by id (aria-describedby). */
export function FieldIssues({ id, messages }: { id?: string; messages: readonly string[] }) {
  if (messages.length === 0) return null;
  return (
    <span id={id} className="error-text field-issue small">
      {messages.join(' ')}
    </span>
  );
}

/** "bots.1.task" → "Bot "writer", task"; other paths as they are. */
export function issuePlace(path: string, settings: Settings): string {
  const bot = /^bots\.(\d+)\.?(.*)$/.exec(path);
  if (bot) return `Bot "${settings.bots[Number(bot[1])]?.id ?? bot[1]}"${bot[2] ? `, ${bot[2]}` : ''}`;
  const rule = /^routing\.rules\.(\d+)\.?(.*)$/.exec(path);
  if (rule) return `Routing rule ${Number(rule[1]) + 1}${rule[2] ? `, ${rule[2]}` : ''}`;
  return path || 'Settings';
}

/** Save and undo, what happened, and the issues no field shows. */
export function SaveRow({
  label,
  section,
  other,
  settings,
}: {
  label: string;
  section: Pick<SectionDraft<unknown>, 'busy' | 'dirty' | 'message' | 'save' | 'reset'>;
  other: readonly ControlIssue[];
  settings: Settings;
}) {
  return (
    <>
      {other.length > 0 && (
        <ul className="plain-list error-text small">
          {other.map((i) => (
            <li key={`${i.path}:${i.message}`}>
              {issuePlace(i.path, settings)}: {i.message}
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        <button
          type="button"
          className="button button-primary"
          disabled={section.busy || !section.dirty}
          onClick={() => void section.save()}
        >
          {label}
        </button>
        {section.dirty && (
          <button type="button" className="button" onClick={section.reset}>
            Undo changes
          </button>
        )}
        {section.message && (
          <span
            className={section.message.error ? 'error-text' : 'ok-text'}
            role={section.message.error ? 'alert' : 'status'}
          >
            {section.message.text}
          </span>
        )}
      </div>
    </>
  );
}

/** Text fields left empty are not sent; numbers typed as text become numbers (what is not one is sent as typed). */
export function optionalText(text: string): string | undefined {
  const t = text.trim();
  return t === '' ? undefined : t;
}

export function optionalNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  // Not a number: sent as typed, so that the server's issue names the field (the type is the patch's, not the value's).
  return Number.isFinite(n) ? n : (t as unknown as number);
}

/** The object without its undefined values (a JSON transport would drop them anyway, IPC would not). */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The stored item's fields less those the card edits: fields it does not show (added to the schema later, or set in
 * settings.json) go back unchanged; an edited optional field left empty is then really gone.
 */
export function kept<T extends object>(original: T | undefined, edited: readonly string[]): Record<string, unknown> {
  if (!original) return {};
  return Object.fromEntries(Object.entries(original).filter(([k]) => !edited.includes(k)));
}
