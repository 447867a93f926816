// Settings → Tools: the MCP servers in settings (how each is reached, on this machine or not, which bots use it),
// each one's state (idle until a bot first needs it, ready, restarting, failed with why) and, once it started, its
// tools and which of them wait for approval in the room. Test starts a server and lists its tools.
import { useCallback, useEffect, useState } from 'react';
import type { McpServerInfo } from '../../../main/common/contract.ts';
import { errorText, useApi } from '../hooks/control.ts';

const STATUS_TEXT: Record<McpServerInfo['status'], string> = {
  idle: 'not started (starts when a bot first needs it)',
  starting: 'starting…',
  ready: 'running',
  restarting: 'restarting after a failure',
  failed: 'failed',
  stopped: 'stopped',
};

function ServerRow({ server, onTest, testing }: { server: McpServerInfo; onTest: () => void; testing: boolean }) {
  return (
    <li className="mcp-server" data-server={server.id}>
      <div className="mcp-server-head">
        <strong>{server.id}</strong> <span className="badge">{server.transport}</span>{' '}
        <span className="badge">{server.local ? 'this machine' : 'remote'}</span>{' '}
        <span className="muted">
          {STATUS_TEXT[server.status]}
          {server.pid ? ` (pid ${server.pid})` : ''}
        </span>{' '}
        <button type="button" className="link-button" onClick={onTest} disabled={testing}>
          {testing ? 'Testing…' : 'Test'}
        </button>
      </div>
      <code className="muted">{server.target}</code>
      <p className="muted">Used by: {server.usedBy.join(', ') || 'no bot'}</p>
      {server.error && <p className="error-text">{server.error}</p>}
      {server.tools && (
        <ul className="mcp-tools" aria-label={`Tools of ${server.id}`}>
          {server.tools.map((t) => (
            <li key={t.name} title={t.description}>
              {t.name} <span className="muted">{t.readOnly ? 'read-only' : 'asks for approval'}</span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

export function ToolsCard() {
  const api = useApi();
  const [servers, setServers] = useState<McpServerInfo[]>();
  const [error, setError] = useState<string>();
  const [testing, setTesting] = useState<string>();
  const load = useCallback(() => {
    api.tools.servers().then(setServers, (err: unknown) => setError(errorText(err)));
  }, [api]);
  useEffect(() => {
    load();
    return api.onStatusChanged(load);
  }, [api, load]);
  const test = (id: string) => {
    setTesting(id);
    setError(undefined);
    api.tools
      .test({ server: id })
      .then(
        (s) => setServers((list) => list?.map((x) => (x.id === id ? s : x))),
        (err: unknown) => {
          setError(errorText(err));
          load();
        },
      )
      .finally(() => setTesting(undefined));
  };
  return (
    <div className="card">
      <h2>Tools (MCP servers)</h2>
      {servers === undefined && !error && <p className="muted">Loading…</p>}
      {servers?.length === 0 && (
        <p className="muted">
          No MCP servers yet: add them under mcp.servers in settings.json, and name them in a bot’s tools.
        </p>
      )}
      {servers && servers.length > 0 && (
        <ul className="mcp-servers">
          {servers.map((s) => (
            <ServerRow key={s.id} server={s} onTest={() => test(s.id)} testing={testing === s.id} />
          ))}
        </ul>
      )}
      {error && <p className="error-text">{error}</p>}
    </div>
  );
}
