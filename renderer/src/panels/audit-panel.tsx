// Audit: every model call the app recorded (<data>/state/audit.sqlite, the same list `agent-room audit` prints):
// when, which bot and task, which model, on this machine or in the cloud, the kinds of sensitive data, tokens, time,
// cost, the outcome and why that model. Filtered by period and bot (asked of the core) and by text (here); read
// again when a bot finishes a reply.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AuditCall } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { errorText, useApi } from '../hooks/control.ts';
import { shortModelName } from '../lib/format.ts';

/** The most calls asked for at once; the panel says when the period holds more. */
export const AUDIT_LIMIT = 500;
const HOUR = 3_600_000;
export const AUDIT_PERIODS = [
  { id: '1h', label: 'Last hour', ms: HOUR },
  { id: '24h', label: 'Last 24 hours', ms: 24 * HOUR },
  { id: '7d', label: 'Last 7 days', ms: 7 * 24 * HOUR },
  { id: '30d', label: 'Last 30 days', ms: 30 * 24 * HOUR },
  { id: 'all', label: 'Everything kept', ms: undefined },
] as const;
type PeriodId = (typeof AUDIT_PERIODS)[number]['id'];

interface Query {
  period: PeriodId;
  bot: string;
}

/** The calls of the query, newest first; reloaded on a change of the query, on a bot's reply and on refresh. */
function useAuditCalls(query: Query): { calls?: AuditCall[]; error?: string; refresh: () => void } {
  const api = useApi();
  const [state, setState] = useState<{ calls?: AuditCall[]; error?: string }>({});
  // Only the answer to the latest request counts (a slow one for the previous filter must not overwrite it).
  const latest = useRef(0);
  const refresh = useCallback(() => {
    const ms = AUDIT_PERIODS.find((p) => p.id === query.period)?.ms;
    const n = ++latest.current;
    api.audit
      .list({
        limit: AUDIT_LIMIT,
        ...(ms !== undefined ? { since: Date.now() - ms } : {}),
        ...(query.bot ? { bot: query.bot } : {}),
      })
      .then(
        (calls) => n === latest.current && setState({ calls: [...calls].reverse() }),
        (err: unknown) => n === latest.current && setState((s) => ({ ...s, error: errorText(err) })),
      );
  }, [api, query.period, query.bot]);
  useEffect(() => {
    refresh();
    return api.onBotsReplied(refresh);
  }, [api, refresh]);
  return { ...state, refresh };
}

/** What the text filter looks in: bot, task, model, endpoint, where, sensitive kinds, outcome and reason. */
export function auditMatches(call: AuditCall, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (needle === '') return true;
  const hay = [
    call.botId,
    call.task ?? '',
    call.model,
    call.endpoint ?? '',
    call.local ? 'local' : 'cloud',
    ...call.sensitive,
    call.outcome,
    call.errorCode ?? '',
    call.reason,
  ];
  return hay.some((h) => h.toLowerCase().includes(needle));
}

export function AuditPanel({ settings }: { settings: Settings }) {
  const [query, setQuery] = useState<Query>({ period: '24h', bot: '' });
  const [text, setText] = useState('');
  const { calls, error, refresh } = useAuditCalls(query);
  const shown = calls?.filter((c) => auditMatches(c, text));
  const { enabled, retentionDays } = settings.audit;
  return (
    <section className="panel panel-wide" aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <p className="muted">
        Every model call: who asked, which model answered and why, whether it left this computer.{' '}
        {retentionDays > 0 ? `Kept ${retentionDays} days.` : 'Kept until removed.'} The terminal shows the same with{' '}
        <code>agent-room audit</code>.
      </p>
      {!enabled && (
        <p className="warn-text" role="status">
          The audit trail is off, so new calls are not recorded. Turn it on with <code>audit.enabled</code> in
          settings.json.
        </p>
      )}
      <div className="row wrap">
        <label>
          <span className="label">Period</span>
          <select value={query.period} onChange={(e) => setQuery({ ...query, period: e.target.value as PeriodId })}>
            {AUDIT_PERIODS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="label">Bot</span>
          <select value={query.bot} onChange={(e) => setQuery({ ...query, bot: e.target.value })}>
            <option value="">All bots</option>
            {settings.bots.map((b) => (
              <option key={b.id} value={b.id}>
                {b.displayName}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          <span className="label">Filter</span>
          <input
            type="search"
            value={text}
            placeholder="model, task, cloud, card, failed…"
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <button type="button" className="button" onClick={refresh}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="error-text" role="alert">
          The audit trail could not be read: {error}
        </p>
      )}
      {shown && <AuditSummary calls={calls ?? []} shown={shown} />}
      {shown && shown.length > 0 && <AuditTable calls={shown} settings={settings} />}
    </section>
  );
}

function AuditSummary({ calls, shown }: { calls: AuditCall[]; shown: AuditCall[] }) {
  if (calls.length === 0) return <p role="status">No model calls in this period.</p>;
  const cloud = shown.filter((c) => !c.local).length;
  const more =
    calls.length >= AUDIT_LIMIT ? ` (the newest ${AUDIT_LIMIT}; choose a shorter period for older ones)` : '';
  const of = shown.length === calls.length ? `${calls.length}` : `${shown.length} of ${calls.length}`;
  return (
    <p className="muted" role="status">
      {of} call{calls.length === 1 ? '' : 's'}
      {more}: {shown.length - cloud} on this computer, {cloud} in the cloud.
    </p>
  );
}

function AuditTable({ calls, settings }: { calls: AuditCall[]; settings: Settings }) {
  const names = new Map(settings.bots.map((b) => [b.id, b.displayName]));
  const currency = (endpoint: string | null) =>
    settings.endpoints.openai.find((e) => e.id === endpoint)?.budget?.currency ?? 'USD';
  return (
    <table className="table audit-table" aria-label="Model calls">
      <thead>
        <tr>
          {['Time', 'Bot', 'Task', 'Model', 'Where', 'Sensitive', 'Tokens', 'Duration', 'Cost', 'Outcome', 'Why'].map(
            (h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>
        {calls.map((c) => (
          <tr key={c.id} data-call-id={c.id}>
            <td title={new Date(c.at).toISOString()}>{new Date(c.at).toLocaleString()}</td>
            <td>{names.get(c.botId) ?? c.botId}</td>
            <td>{c.task ?? '—'}</td>
            <td title={c.model}>{shortModelName(c.model)}</td>
            <td title={c.endpoint ?? undefined}>{c.local ? 'local' : 'cloud'}</td>
            <td>{c.sensitive.length ? c.sensitive.join(', ') : '—'}</td>
            <td>{c.promptTokens === null ? '—' : `${c.promptTokens} → ${c.completionTokens ?? 0}`}</td>
            <td>{formatDuration(c.durationMs)}</td>
            <td>{c.cost === null ? '—' : formatCost(c.cost, currency(c.endpoint))}</td>
            <td className={c.outcome === 'ok' ? undefined : 'error-text'}>{outcomeText(c)}</td>
            <td>{c.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** "failed (timeout)"; an error code that only repeats the outcome ("Aborted") is left out. */
export function outcomeText(c: Pick<AuditCall, 'outcome' | 'errorCode'>): string {
  return c.errorCode && c.outcome !== 'ok' && c.errorCode.toLowerCase() !== c.outcome
    ? `${c.outcome} (${c.errorCode})`
    : c.outcome;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Small amounts keep four decimals (a call often costs a fraction of a cent). */
export function formatCost(cost: number, currency: string): string {
  return `${cost !== 0 && cost < 0.01 ? cost.toFixed(4) : cost.toFixed(2)} ${currency}`;
}
