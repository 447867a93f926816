// The tools service: every MCP server in settings, each started on first use and supervised (mcp-connection.ts),
// stopped with the app after the bots. It answers which tools a bot may use (its `tools` list, and only servers on
// this machine for a local-only bot), runs calls, and records each in the audit trail.
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import type { AuditSink } from '../audit/audit-types.ts';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import { isLocalServer, McpConnection } from './mcp-connection.ts';
import { McpToolError, type McpCallResult, type McpServerState, type McpTool } from './mcp-types.ts';
import { botMayUse, modelToolName } from './tool-rules.ts';

/** A tool as one bot's model sees it: the function name it calls, and where that goes. */
export interface BotTool extends McpTool {
  /** The function name the model sees (`<server>__<tool>`, see modelToolName). */
  fn: string;
  /** Its server runs on this machine. */
  local: boolean;
}

/** One tool call as the audit trail keeps it. */
export interface ToolCallRecord {
  at: number;
  bot: BotConfig;
  context?: { roomId: string; eventId: string } | undefined;
  server: string;
  tool: string;
  local: boolean;
  argsBytes: number;
  resultBytes: number | null;
  durationMs: number;
  outcome: 'ok' | 'failed' | 'refused' | 'aborted';
  errorCode: string | null;
  /** Who allowed it: a user id, "read-only", "always allowed"; or who denied it and how. */
  approval: string;
}

export interface McpServiceOptions {
  getSettings: () => Settings;
  resolveSecret: (name: string) => Promise<string | undefined>;
  logger?: Logger;
  /** Where tool calls are recorded; read at each call (the audit store opens with inference). */
  audit?: () => AuditSink | undefined;
  version?: string;
  onChange?: () => void;
}

export class McpService extends BaseService {
  readonly name = 'tools';
  readonly #o: McpServiceOptions;
  /** Each server's connection, with the settings it was made with. */
  readonly #connections = new Map<string, { conn: McpConnection; key: string }>();
  #stopping = false;

  constructor(o: McpServiceOptions) {
    super();
    this.#o = o;
  }

  async start(): Promise<void> {
    // Servers start on first use: nothing runs until a bot needs a tool (or `mcp test` asks).
    this.#stopping = false;
    const n = this.#o.getSettings().mcp.servers.length;
    this.setState({ status: 'running', detail: `${n} MCP server${n === 1 ? '' : 's'}` });
  }

  async stop(): Promise<void> {
    this.setState({ status: 'stopping' });
    this.#stopping = true;
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map((c) => c.conn.close()));
    this.setState({ status: 'stopped' });
  }

  /** Every server in settings with its state (and its tools once listed). */
  servers(): McpServerState[] {
    return this.#o.getSettings().mcp.servers.map(
      (s) =>
        this.#connections.get(s.id)?.conn.state ?? {
          id: s.id,
          transport: s.url ? 'http' : 'stdio',
          status: 'idle',
          local: isLocalServer(s),
        },
    );
  }

  /** The server's connection, made on first use; a server that settings changed is restarted with the new settings. */
  connection(id: string): McpConnection {
    if (this.#stopping) throw new McpToolError('Aborted', 'The tools service is stopping.');
    const settings = this.#o.getSettings().mcp.servers.find((s) => s.id === id);
    if (!settings) throw new McpToolError('UnknownServer', `No MCP server is called "${id}" in settings.`);
    const key = JSON.stringify(settings);
    const existing = this.#connections.get(id);
    if (existing?.key === key) return existing.conn;
    if (existing) void existing.conn.close();
    const conn = new McpConnection({
      settings: () => settings,
      resolveSecret: this.#o.resolveSecret,
      ...(this.#o.logger ? { logger: this.#o.logger.child({ service: 'tools' }) } : {}),
      ...(this.#o.version ? { version: this.#o.version } : {}),
      ...(this.#o.onChange ? { onChange: this.#o.onChange } : {}),
    });
    this.#connections.set(id, { conn, key });
    return conn;
  }

  /**
   * The tools a bot may call, each with the name its model sees. A server that cannot start or list its tools, or
   * that a local-only bot may not use, is left out with a line in `problems` (the reply shows it).
   */
  async forBot(bot: BotConfig): Promise<{ tools: BotTool[]; problems: string[] }> {
    const names = bot.tools ?? [];
    const servers = [...new Set(names.map((t) => t.split('/')[0] ?? ''))];
    const tools: BotTool[] = [];
    const problems: string[] = [];
    const taken = new Set<string>();
    for (const id of servers) {
      try {
        const c = this.connection(id);
        if (bot.localOnly && !c.state.local)
          throw new McpToolError(
            'NotAllowed',
            `${bot.displayName} is local-only and the MCP server "${id}" is not on this machine.`,
          );
        for (const t of await c.tools()) {
          if (!botMayUse(names, id, t.name)) continue;
          const fn = modelToolName(id, t.name, taken);
          taken.add(fn);
          tools.push({ ...t, fn, local: c.state.local });
        }
      } catch (err) {
        const e = err instanceof McpToolError ? err : new McpToolError('StartFailed', errorMessage(err));
        problems.push(`${e.message} ${e.hint}`);
        this.#o.logger?.warn({ bot: bot.id, server: id, err: e.message }, 'MCP server left out of the answer');
      }
    }
    return { tools, problems };
  }

  /** Runs one call (after any approval); its result cut to the settings' maxResultChars. */
  call(tool: McpTool, args: Record<string, unknown>, signal?: AbortSignal): Promise<McpCallResult> {
    const { maxResultChars } = this.#o.getSettings().mcp;
    return this.connection(tool.server).call(tool.name, args, {
      maxChars: maxResultChars,
      ...(signal ? { signal } : {}),
    });
  }

  /** Starts the server (if needed) and lists its tools: `agent-room mcp test`. */
  async test(id: string): Promise<{ state: McpServerState; tools: McpTool[]; ms: number }> {
    const started = Date.now();
    const c = this.connection(id);
    const tools = await c.tools();
    return { state: c.state, tools, ms: Date.now() - started };
  }

  /** One audit row per tool call: backend "mcp", the tool as the model, the server as the endpoint. */
  record(r: ToolCallRecord): void {
    this.#o.audit?.()?.record({
      at: r.at,
      roomId: r.context?.roomId ?? null,
      eventId: r.context?.eventId ?? null,
      botId: r.bot.id,
      task: null,
      model: `${r.server}/${r.tool}`,
      backend: 'mcp',
      endpoint: r.server,
      local: r.local,
      sensitive: [],
      promptTokens: null,
      completionTokens: null,
      durationMs: r.durationMs,
      cost: null,
      reason: `tool call; ${r.approval}`,
      outcome: r.outcome,
      errorCode: r.errorCode,
      argsBytes: r.argsBytes,
      resultBytes: r.resultBytes,
      approvedBy: r.approval,
    });
  }
}
