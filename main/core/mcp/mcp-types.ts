// What the tools service tells the rest of the app: a server's tools with what they may change, a call's result
// as the model reads it, and errors that say what failed and what to do.
import type { McpServerSettings } from '../../common/settings-tools.ts';

export type { McpServerSettings };

export type McpErrorCode =
  | 'StartFailed'
  | 'Exited'
  | 'Timeout'
  | 'BadResponse'
  | 'UnknownServer'
  | 'UnknownTool'
  | 'BadArguments'
  | 'NotAllowed'
  | 'Denied'
  | 'Aborted';

const HINTS: Record<McpErrorCode, string> = {
  StartFailed:
    "Check the server's command, arguments and environment in settings → mcp.servers (agent-room mcp test <server>).",
  Exited: 'The server is restarted by itself; try again in a moment. Its log lines are in the app log.',
  Timeout: "The tool took longer than the server's timeoutMs; raise it in settings or ask for less.",
  BadResponse: 'The server broke the MCP protocol; check that the command starts an MCP server.',
  UnknownServer: 'Add the server under mcp.servers in settings, or fix the name in the bot’s tools.',
  UnknownTool: 'The model asked for a tool this bot does not have.',
  BadArguments: "The model's arguments do not fit the tool's schema.",
  NotAllowed: 'A local-only bot uses only MCP servers on this machine (stdio, or a loopback URL).',
  Denied: 'Nobody allowed the call.',
  Aborted: 'The answer was stopped.',
};

export class McpToolError extends Error {
  readonly code: McpErrorCode;
  readonly hint: string;
  constructor(code: McpErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.name = `Mcp${code}Error`;
    this.hint = options.hint ?? HINTS[code];
  }
}

/** One tool of one server, as listed (annotations) and as settings override it. */
export interface McpTool {
  server: string;
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** Runs without the person's approval: the server says readOnlyHint, or settings list it as read-only. */
  readOnly: boolean;
}

/** A call's result as the model reads it: text, cut with a note past the limit. */
export interface McpCallResult {
  text: string;
  /** The server said the call failed (the text says why). */
  isError: boolean;
  /** Size of the whole result as the server sent it (JSON), before any cut. */
  bytes: number;
  truncated: boolean;
  durationMs: number;
}

export type McpServerStatus = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

export interface McpServerState {
  id: string;
  transport: 'stdio' | 'http';
  status: McpServerStatus;
  /** True when it runs on this machine (stdio, or a loopback URL): a local-only bot may use it. */
  local: boolean;
  pid?: number;
  error?: string;
  tools?: McpTool[];
}
