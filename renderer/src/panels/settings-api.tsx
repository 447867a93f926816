// Settings → API: the OpenAI-compatible API under /v1. Where it answers (the desktop app serves it once turned on
// here; serve always does), LAN access, its per-key limits, and its keys: made here or with `agent-room api-key`,
// a new key shown once, any key revoked at once.
import { useCallback, useEffect, useState } from 'react';
import type { ApiKeyCreated, ApiKeysView } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { errorText, useApi } from '../hooks/control.ts';

export function ApiCard({
  settings,
  desktop,
  onSaved,
}: {
  settings: Settings;
  desktop: boolean;
  onSaved?: (s: Settings) => void;
}) {
  const api = useApi();
  const [view, setView] = useState<ApiKeysView>();
  const [made, setMade] = useState<ApiKeyCreated>();
  const [error, setError] = useState<string>();
  const [listError, setListError] = useState<string>();
  const limits = settings.api;

  const refresh = useCallback(
    () =>
      api.apiKeys.list().then(
        (v) => {
          setView(v);
          setListError(undefined);
        },
        (err: unknown) => setListError(`The keys could not be read: ${errorText(err)}`),
      ),
    [api],
  );
  useEffect(() => void refresh(), [refresh, settings.api.enabled]);

  /** Runs the action, shows its error, and reads the keys again; true when it worked. */
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setError(undefined);
    let ok = true;
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
      ok = false;
    }
    await refresh();
    return ok;
  };
  const toggle = (patch: { enabled?: boolean; lanAccess?: boolean }) =>
    run(async () => {
      const next = await api.settings.update({ api: patch });
      onSaved?.(next);
    });

  return (
    <div className="card">
      <h2>API (OpenAI-compatible)</h2>
      <label className="check">
        <input
          type="checkbox"
          checked={desktop ? limits.enabled : true}
          disabled={!desktop}
          onChange={(e) => void toggle({ enabled: e.target.checked })}
        />
        Serve the API to programs on this computer
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={limits.lanAccess}
          onChange={(e) => void toggle({ lanAccess: e.target.checked })}
        />
        Also to devices on my network (LAN access)
      </label>
      <Where baseUrl={view?.baseUrl} limits={limits} desktop={desktop} />
      {listError && <p className="muted">{listError}</p>}
      <KeyList view={view} onRevoke={(n) => void run(() => api.apiKeys.revoke({ name: n }))} />
      <NewKey onCreate={(n) => run(async () => setMade(await api.apiKeys.create({ name: n })))} made={made} />
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function KeyList({ view, onRevoke }: { view: ApiKeysView | undefined; onRevoke: (name: string) => void }) {
  return (
    <ul className="plain-list" aria-label="API keys">
      {(view?.keys ?? []).map((k) => (
        <li key={k.name} className="row">
          <span>
            <strong>{k.name}</strong> <code>{k.prefix}…</code>{' '}
            <span className="muted">created {new Date(k.createdAt).toLocaleString()}</span>
          </span>
          <button type="button" className="button" onClick={() => onRevoke(k.name)} aria-label={`Revoke ${k.name}`}>
            Revoke
          </button>
        </li>
      ))}
      {view && view.keys.length === 0 && <li className="muted">No keys yet.</li>}
    </ul>
  );
}

/** A name, then the new key shown once. */
function NewKey({ onCreate, made }: { onCreate: (name: string) => Promise<boolean>; made: ApiKeyCreated | undefined }) {
  const [name, setName] = useState('');
  return (
    <>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void onCreate(name.trim()).then((ok) => ok && setName(''));
        }}
      >
        <label className="label" htmlFor="api-key-name">
          New key&apos;s name
        </label>
        <input id="api-key-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="laptop" />
        <button type="submit" className="button button-primary" disabled={name.trim() === ''}>
          Create key
        </button>
      </form>
      {made && (
        <div role="status">
          <p>Key &quot;{made.name}&quot;: copy it now, it will not be shown again.</p>
          <code className="copyable">{made.key}</code>
        </div>
      )}
    </>
  );
}

/** Where the API answers and what each key may do. */
function Where({
  baseUrl,
  limits,
  desktop,
}: {
  baseUrl: string | undefined;
  limits: Settings['api'];
  desktop: boolean;
}) {
  return (
    <p className="muted">
      {baseUrl ? (
        <>
          Base URL: <code className="copyable">{baseUrl}</code>
        </>
      ) : (
        'The API is off.'
      )}{' '}
      Each key may start {limits.requestsPerMinute} requests a minute, run {limits.maxConcurrent} at once and have{' '}
      {limits.maxQueued} waiting; the room&apos;s bots always go first.
      {!desktop && ' agent-room serve always serves the API; LAN access takes effect after a restart.'}
    </p>
  );
}
