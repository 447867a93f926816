// What the control API says about the MCP servers the bots take tools from (Settings → Tools, `agent-room mcp`).

export interface McpToolInfo {
  name: string;
  description: string;
  /** Runs without asking; otherwise it waits for the person's approval in the room. */
  readOnly: boolean;
}

export interface McpServerInfo {
  id: string;
  transport: 'stdio' | 'http';
  /** How it is reached: the command line, or the URL. */
  target: string;
  status: 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';
  /** Runs on this machine (stdio, or a loopback URL): local-only bots may use it. */
  local: boolean;
  pid?: number;
  error?: string;
  /** Its tools, once listed (it started). */
  tools?: McpToolInfo[];
  /** The bots whose `tools` name it. */
  usedBy: string[];
}
