// `agent-room mcp list [--json]` and `agent-room mcp test <server> [--json]`: the MCP servers in settings (how each
// is reached, whether it runs on this machine, which bots use it), and one server started, its tools listed (which
// run without asking and which wait for approval) and stopped again, with what went wrong when it does not start.
import type { Settings } from '../common/settings-schema.ts';
import { createLogger } from '../core/logging/logger.ts';
import { isLocalServer } from '../core/mcp/mcp-connection.ts';
import { McpService } from '../core/mcp/mcp-service.ts';
import { McpToolError } from '../core/mcp/mcp-types.ts';
import { dataPaths } from '../core/paths.ts';
import { FileSecretStore } from '../core/settings/secret-store.ts';
import { ConfSettingsStore } from '../core/settings/settings-store.ts';
import { flushStdio } from './cli-inference.ts';

export interface McpFlags {
  dataDir: string;
  json?: boolean;
}

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

function open(dataDir: string, io: Io): { settings: () => Settings; service: McpService } {
  const paths = dataPaths(dataDir);
  const logger = createLogger({ logDir: paths.logs, name: 'cli' });
  const store = new ConfSettingsStore({ dataDir: paths.root, logger });
  for (const issue of store.issues)
    io.err(`Settings: ${issue.path}: ${issue.message} (using the default for this key)`);
  const secrets = new FileSecretStore({ file: paths.secrets });
  const service = new McpService({ getSettings: () => store.get(), resolveSecret: (n) => secrets.get(n), logger });
  return { settings: () => store.get(), service };
}

export async function runMcpList(flags: McpFlags, io: Io = consoleIo): Promise<number> {
  const { settings } = open(flags.dataDir, io);
  const s = settings();
  const rows = s.mcp.servers.map((x) => ({
    id: x.id,
    transport: x.url ? 'http' : 'stdio',
    target: x.url ?? [x.command, ...x.args].join(' '),
    local: isLocalServer(x),
    timeoutMs: x.timeoutMs,
    bots: s.bots.filter((b) => (b.tools ?? []).some((t) => t.split('/')[0] === x.id)).map((b) => b.id),
  }));
  if (flags.json) io.out(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) io.out('No MCP servers in settings (add them under mcp.servers).');
  else
    for (const r of rows)
      io.out(
        `${r.id}  ${r.transport}  ${r.local ? 'this machine' : 'remote'}  ${r.target}\n    used by: ${r.bots.join(', ') || 'no bot'}`,
      );
  await flushStdio();
  return 0;
}

export async function runMcpTest(id: string, flags: McpFlags, io: Io = consoleIo): Promise<number> {
  const { service } = open(flags.dataDir, io);
  await service.start();
  try {
    const { state, tools, ms } = await service.test(id);
    if (flags.json) io.out(JSON.stringify({ ...state, ms, tools }, null, 2));
    else {
      io.out(`${id}: started in ${ms} ms${state.pid ? ` (pid ${state.pid})` : ''}; ${tools.length} tools:`);
      for (const t of tools)
        io.out(`  ${t.name}  ${t.readOnly ? 'read-only' : 'asks for approval'}  ${t.description.split('\n')[0] ?? ''}`);
    }
    return 0;
  } catch (err) {
    const e = err instanceof McpToolError ? err : undefined;
    io.err(e ? `${e.message}\n${e.hint}` : err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    await service.stop();
    await flushStdio();
  }
}
