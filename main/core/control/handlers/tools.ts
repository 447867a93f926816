// The MCP servers for the window's Settings → Tools: each server's state and tools, and a test that starts one.
import { ControlError, type Handlers, type McpServerInfo } from '../../../common/contract.ts';
import type { Settings } from '../../../common/settings-schema.ts';
import type { McpService } from '../../mcp/mcp-service.ts';
import { McpToolError, type McpServerState } from '../../mcp/mcp-types.ts';

type ToolsHandlers = Pick<Handlers, 'tools.servers' | 'tools.test'>;

export interface ToolsContext {
  settings: { get(): Settings };
  tools: Pick<McpService, 'servers' | 'test'>;
}

function info(state: McpServerState, settings: Settings): McpServerInfo {
  const s = settings.mcp.servers.find((x) => x.id === state.id);
  return {
    id: state.id,
    transport: state.transport,
    target: s?.url ?? [s?.command ?? '', ...(s?.args ?? [])].join(' '),
    status: state.status,
    local: state.local,
    ...(state.pid ? { pid: state.pid } : {}),
    ...(state.error ? { error: state.error } : {}),
    ...(state.tools
      ? { tools: state.tools.map((t) => ({ name: t.name, description: t.description, readOnly: t.readOnly })) }
      : {}),
    usedBy: settings.bots.filter((b) => (b.tools ?? []).some((t) => t.split('/')[0] === state.id)).map((b) => b.id),
  };
}

export function toolsHandlers({ settings, tools }: ToolsContext): ToolsHandlers {
  return {
    'tools.servers': async () => tools.servers().map((s) => info(s, settings.get())),
    'tools.test': async ({ server }) => {
      try {
        return info((await tools.test(server)).state, settings.get());
      } catch (err) {
        if (err instanceof McpToolError)
          throw new ControlError(err.code === 'UnknownServer' ? 'NotFound' : 'Unavailable', err.message, {
            hint: err.hint,
          });
        throw err;
      }
    },
  };
}
