// The desktop app's own update, in the window: the download's progress, then "Restart now" once it is verified (it
// also installs on quit), or where to get a version this install cannot take in place. Nothing in the other states.
import { useEffect, useState } from 'react';
import type { AppUpdateState } from '../../../main/common/contract.ts';
import { errorText, useApi } from '../hooks/control.ts';

/** The update state: fetched once, then kept current by app.update events (serve answers "off"). */
export function useAppUpdate(): AppUpdateState | undefined {
  const api = useApi();
  const [state, setState] = useState<AppUpdateState>();
  useEffect(() => {
    let live = true;
    api.app.updateState().then(
      (s) => live && setState(s),
      () => undefined,
    );
    const off = api.onAppUpdate((s) => setState(s));
    return () => {
      live = false;
      off();
    };
  }, [api]);
  return state;
}

export function UpdateBanner() {
  const api = useApi();
  const state = useAppUpdate();
  const [error, setError] = useState<string>();
  if (!state) return null;
  if (state.phase === 'downloading') {
    const percent = Math.floor(Math.min(100, Math.max(0, state.percent)));
    return (
      <section className="update-banner" role="status" aria-label="Update">
        <span>Downloading Agent Room {state.version}…</span>
        <div
          className="progress-track"
          role="progressbar"
          aria-label={`Agent Room ${state.version}`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
        >
          <div className="progress-fill" style={{ width: `${percent}%` }} />
        </div>
      </section>
    );
  }
  if (state.phase === 'ready') {
    const restart = () =>
      api.app.restartToUpdate().then(
        (r) => !r.restarting && setError('The update is no longer ready; the next check downloads it again.'),
        (err: unknown) => setError(errorText(err)),
      );
    return (
      <section className="update-banner" role="status" aria-label="Update">
        <span>Agent Room {state.version} is ready. It installs when you quit, or now:</span>
        <button type="button" onClick={() => void restart()}>
          Restart now
        </button>
        {error && <span className="muted">{error}</span>}
      </section>
    );
  }
  if (state.phase === 'available') {
    return (
      <section className="update-banner" role="status" aria-label="Update">
        <span>
          Agent Room {state.version} is available. {state.how}
        </span>
        <a href={state.url} target="_blank" rel="noreferrer">
          Get it
        </a>
      </section>
    );
  }
  return null;
}
