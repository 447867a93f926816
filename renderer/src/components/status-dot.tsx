// The connection dot in the room header: green when the app runs and Matrix syncs, amber while
// starting or reconnecting, red when a service failed.
import type { MatrixClient } from 'matrix-js-sdk';
import type { AppStatus } from '../../../main/common/contract.ts';
import { useSyncState } from '../matrix/hooks.ts';

export function statusLevel(
  status: AppStatus | undefined,
  sync: string | null,
): { level: 'ok' | 'warn' | 'error'; text: string } {
  const failed = status?.services.find((s) => s.status === 'failed');
  if (failed) return { level: 'error', text: `${failed.name} failed${failed.error ? `: ${failed.error}` : ''}` };
  if (sync === 'ERROR' || sync === 'STOPPED') return { level: 'error', text: 'Disconnected from the homeserver' };
  if (sync === 'RECONNECTING' || !status || status.phase !== 'running')
    return { level: 'warn', text: status ? `App ${status.phase}` : 'Connecting' };
  if (status.services.some((s) => s.status === 'degraded')) return { level: 'warn', text: 'Running, degraded' };
  return { level: 'ok', text: 'Connected' };
}

export function StatusDot({ status, client }: { status?: AppStatus; client: MatrixClient }) {
  const sync = useSyncState(client);
  const { level, text } = statusLevel(status, sync);
  return (
    <span className="status" role="status" aria-label={`Status: ${text}`}>
      <span className={`dot dot-${level}`} aria-hidden="true" />
      <span className="status-text">{text}</span>
    </span>
  );
}
