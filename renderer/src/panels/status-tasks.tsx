// The master agent's figures in the status panel: per task, how many requests, where they went (on this machine
// or not, which models) and the median time to a full answer; and each cloud endpoint's spend against its budget.
import type { AppStatus } from '../../../main/common/contract.ts';
import { shortModelName } from '../lib/format.ts';

type Inference = AppStatus['inference'];

export function money(amount: number, currency: string): string {
  return `${amount > 0 && amount < 0.01 ? amount.toFixed(4) : amount.toFixed(2)} ${currency}`;
}

export function TasksCard({ tasks }: { tasks: NonNullable<Inference['tasks']> }) {
  return (
    <div className="card" data-testid="task-figures">
      <h2>Tasks</h2>
      {tasks.length === 0 ? (
        <p className="muted">No requests since the start.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Requests</th>
              <th scope="col">Here / cloud</th>
              <th scope="col">p50</th>
              <th scope="col">Models</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.task} data-testid={`task-${t.task}`}>
                <td>{t.task}</td>
                <td>
                  {t.requests}
                  {t.unanswered > 0 && <span className="muted"> ({t.unanswered} unanswered)</span>}
                </td>
                <td>
                  {t.local} / {t.cloud}
                </td>
                <td>{t.p50Ms === null ? '—' : `${Math.round(t.p50Ms)} ms`}</td>
                <td>
                  {Object.entries(t.models).map(([m, n]) => (
                    <div key={m} title={m}>
                      {shortModelName(m)} ×{n}
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function SpendCard({ spend }: { spend: NonNullable<Inference['spend']> }) {
  return (
    <div className="card" data-testid="spend">
      <h2>Cloud spend</h2>
      <dl className="facts">
        {spend.map((s) => (
          <div key={s.endpoint}>
            <dt>{s.endpoint}</dt>
            <dd data-testid={`spend-${s.endpoint}`}>
              today {money(s.today, s.currency)}
              {s.daily !== undefined && ` of ${money(s.daily, s.currency)}`}, this month {money(s.month, s.currency)}
              {s.monthly !== undefined && ` of ${money(s.monthly, s.currency)}`}
              {((s.daily !== undefined && s.today >= s.daily) || (s.monthly !== undefined && s.month >= s.monthly)) && (
                <span className="error-text"> · budget spent: answered by the next model in the chain</span>
              )}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
