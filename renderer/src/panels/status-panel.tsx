// Status: services, homeserver, backend and GPU, loaded models, per-bot latency and speed, loop-guard trips.
import { useEffect, useRef, useState } from 'react';
import type { AppStatus } from '../../../main/common/contract.ts';
import { useApi } from '../hooks/control.ts';
import { shortModelName } from '../lib/format.ts';
import { SpendCard, TasksCard } from './status-tasks.tsx';

/** How often the open panel refreshes: per-bot numbers change with every reply, without a status event. */
export const STATUS_REFRESH_MS = 2000;

export function StatusPanel({ status: pushed }: { status?: AppStatus }) {
  const api = useApi();
  const status = usePolledStatus(pushed);
  if (!status)
    return (
      <section className="panel" aria-label="Status">
        <p>Loading status…</p>
      </section>
    );
  return (
    <section className="panel" aria-labelledby="status-title">
      <h1 id="status-title">Status</h1>
      <div className="cards">
        <ServicesCard services={status.services} />
        <div className="card">
          <h2>Homeserver</h2>
          <dl className="facts">
            <dt>Mode</dt>
            <dd>{status.homeserver.mode}</dd>
            <dt>Address</dt>
            <dd>{status.homeserver.url ?? 'not yet known'}</dd>
            <dt>Server name</dt>
            <dd>{status.homeserver.serverName ?? '—'}</dd>
          </dl>
        </div>
        <InferenceCard status={status} />
        {status.inference.tasks && <TasksCard tasks={status.inference.tasks} />}
        {status.inference.spend && status.inference.spend.length > 0 && <SpendCard spend={status.inference.spend} />}
      </div>
      <h2>Bots</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Bot</th>
            <th scope="col">Model</th>
            <th scope="col">State</th>
            <th scope="col">Latency</th>
            <th scope="col">Tokens/s</th>
            <th scope="col">Replies</th>
            <th scope="col">Queue</th>
          </tr>
        </thead>
        <tbody>
          {status.bots.map((b) => (
            <BotRow key={b.id} bot={b} />
          ))}
        </tbody>
      </table>
      <div className="row">
        {status.botsPaused ? (
          <button type="button" className="button" onClick={() => void api.bots.resumeAll()}>
            Resume all bots
          </button>
        ) : (
          <button type="button" className="button" onClick={() => void api.bots.pauseAll()}>
            Pause all bots
          </button>
        )}
      </div>
    </section>
  );
}

/** The pushed status, or a poll every STATUS_REFRESH_MS while the panel is open, whichever is fresher. */
function usePolledStatus(pushed: AppStatus | undefined): AppStatus | undefined {
  const api = useApi();
  const [polled, setPolled] = useState<{ status: AppStatus; from: AppStatus | undefined }>();
  const latestPushed = useRef(pushed);
  latestPushed.current = pushed;
  useEffect(() => {
    let live = true;
    const poll = () =>
      api.status.get().then(
        (s) => live && setPolled({ status: s, from: latestPushed.current }),
        () => undefined,
      );
    void poll();
    const timer = setInterval(poll, STATUS_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api]);
  // A status event newer than the last poll wins; otherwise the poll is the fresher of the two.
  return polled && polled.from === pushed ? polled.status : (pushed ?? polled?.status);
}

function ServicesCard({ services }: { services: AppStatus['services'] }) {
  return (
    <div className="card">
      <h2>Services</h2>
      <ul className="plain-list">
        {services.map((s) => (
          <li key={s.name}>
            <span
              className={`dot dot-${s.status === 'running' ? 'ok' : s.status === 'failed' ? 'error' : 'warn'}`}
              aria-hidden="true"
            />{' '}
            {s.name}: {s.status}
            {s.detail && <span className="muted"> · {s.detail}</span>}
            {s.error && (
              <div className="error-text">
                {s.error}
                {s.hint && ` ${s.hint}`}
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function InferenceCard({ status }: { status: AppStatus }) {
  return (
    <div className="card">
      <h2>Inference</h2>
      <dl className="facts">
        <dt>Backend</dt>
        <dd>{status.inference.backend}</dd>
        <dt>GPU</dt>
        <dd>{status.inference.gpu ?? 'none (CPU)'}</dd>
        <dt>Loaded models</dt>
        <dd>
          {status.inference.loadedModels.length === 0
            ? 'none'
            : status.inference.loadedModels.map((m) => (
                <div key={m} title={m}>
                  {shortModelName(m)}
                </div>
              ))}
        </dd>
        <dt>Loop-guard trips</dt>
        <dd data-testid="loop-guard-trips">{status.loopGuardTrips}</dd>
      </dl>
    </div>
  );
}

/** One bot's row: model, state, latest latency and speed, replies and queue. */
function BotRow({ bot: b }: { bot: AppStatus['bots'][number] }) {
  return (
    <tr>
      <td>{b.displayName}</td>
      <td title={b.model}>{shortModelName(b.model)}</td>
      <td>{b.lastError ? <span className="error-text">{b.lastError}</span> : b.busy ? 'replying' : 'idle'}</td>
      <td>{b.stats.lastLatencyMs !== undefined ? `${Math.round(b.stats.lastLatencyMs)} ms` : '—'}</td>
      <td>{b.stats.tokensPerSecond !== undefined ? b.stats.tokensPerSecond.toFixed(1) : '—'}</td>
      <td>{b.stats.replies}</td>
      <td data-testid={`queue-${b.id}`}>{queueText(b)}</td>
    </tr>
  );
}

/** Waiting, running and refused mentions of a bot, in one short line ("—" when there are none). */
export function queueText(b: { queued?: number; running?: number; refused?: number }): string {
  const parts: string[] = [];
  if (b.running) parts.push(`${b.running} answering`);
  if (b.queued) parts.push(`${b.queued} waiting`);
  if (b.refused) parts.push(`${b.refused} refused`);
  return parts.length ? parts.join(' · ') : '—';
}
