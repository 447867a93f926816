// What serve prints once every service has had its start: "ready" only when all of them run; otherwise each
// one that does not, with its error and what to do about it.
import type { ServiceReport } from '../core/lifecycle/service-host.ts';

export function startReport(services: readonly ServiceReport[]): { ok: boolean; lines: string[] } {
  const problems = services.filter((s) => s.state.status !== 'running');
  if (problems.length === 0) return { ok: true, lines: ['Agent Room is ready.'] };
  return {
    ok: false,
    lines: [
      'Agent Room started with problems:',
      ...problems.map(({ name, state }) => {
        if (state.status === 'failed' || state.status === 'degraded')
          return `  ${name}: ${state.error}${state.hint ? `\n    ${state.hint}` : ''}`;
        return `  ${name}: ${state.status}`;
      }),
      'The rest runs; the status page shows the same. Fix these and restart serve.',
    ],
  };
}
