// One MCP server as the app runs it, through the official SDK's Client: started on first use (a stdio child, or a
// Streamable HTTP session), its tools listed once and cached with their annotations, each call under a time limit
// with its result cut for the prompt, restarted with backoff after it exits, and closed with its whole process tree.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { decideRestart, DEFAULT_RESTART_POLICY, type RestartPolicy } from '../homeserver/restart-policy.ts';
import { isLoopbackUrl } from '../inference/router-privacy.ts';
import { descendants, signalAll, waitGone } from '../lifecycle/process-tree.ts';
import { errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import {
  McpToolError,
  type McpCallResult,
  type McpServerSettings,
  type McpServerState,
  type McpTool,
} from './mcp-types.ts';
import { contentText, cutText, isReadOnly, resolveEnv } from './tool-rules.ts';

/** A message (a tool's result) larger than this closes the connection: far above any prompt, below memory trouble. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

export interface McpConnectionOptions {
  /** Read at each start, so settings changes apply at the next one. */
  settings: () => McpServerSettings;
  resolveSecret: (name: string) => Promise<string | undefined>;
  logger?: Logger;
  policy?: RestartPolicy;
  version?: string;
  now?: () => number;
  /** Called on every state change (status pages). */
  onChange?: () => void;
}

export class McpConnection {
  readonly id: string;
  readonly #o: McpConnectionOptions;
  readonly #now: () => number;
  #client: Client | undefined;
  #transport: Transport | undefined;
  #starting: Promise<Client> | undefined;
  #tools: McpTool[] | undefined;
  #crashes: number[] = [];
  #nextTryAt = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #closing = false;
  #inFlight = 0;
  #lastError: string | undefined;
  #stderr = '';
  state: McpServerState;

  constructor(o: McpConnectionOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => Date.now());
    const s = o.settings();
    this.id = s.id;
    this.state = { id: s.id, transport: s.url ? 'http' : 'stdio', status: 'idle', local: isLocalServer(s) };
  }

  #set(patch: Partial<McpServerState>): void {
    this.state = { ...this.state, ...patch };
    this.#o.onChange?.();
  }

  /** The connected client: started now when it is not, unless it failed a moment ago (then it says when it retries). */
  async ensure(): Promise<Client> {
    if (this.#stopped) throw new McpToolError('Aborted', `The MCP server "${this.id}" is stopped: the app is closing.`);
    if (this.#client) return this.#client;
    if (this.#starting) return this.#starting;
    const wait = this.#nextTryAt - this.#now();
    if (wait > 0)
      throw new McpToolError(
        'StartFailed',
        `The MCP server "${this.id}" failed (${this.#lastError ?? 'unknown error'}); the next try is in ${Math.ceil(wait / 1000)} s.`,
      );
    this.#starting = this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #start(): Promise<Client> {
    const s = this.#o.settings();
    this.#set({ status: 'starting', error: undefined });
    this.#stderr = '';
    let transport: Transport | undefined;
    try {
      transport = await this.#makeTransport(s);
      const client = new Client({ name: 'agent-room', version: this.#o.version ?? '0.0.0' });
      client.onerror = (err) => this.#onProtocolError(err);
      this.#transport = transport;
      await client.connect(transport, { timeout: s.timeoutMs });
      client.onclose = () => this.#onClose(client);
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        this.#tools = undefined;
      });
      this.#client = client;
      this.#tools = undefined;
      const pid = transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
      this.#set({ status: 'ready', ...(pid ? { pid } : {}) });
      this.#o.logger?.info({ server: this.id, pid }, 'MCP server started');
      return client;
    } catch (err) {
      this.#transport = undefined;
      if (transport) await this.#closeTransport(transport);
      const why = `${errorMessage(err)}${this.#stderr ? ` (its stderr: ${this.#stderr.trim().slice(-300)})` : ''}`;
      this.#failed(why);
      throw new McpToolError('StartFailed', `The MCP server "${this.id}" could not start: ${why}`, { cause: err });
    }
  }

  async #makeTransport(s: McpServerSettings): Promise<Transport> {
    if (s.url) return new StreamableHTTPClientTransport(new URL(s.url));
    const env = await resolveEnv(s.env, this.#o.resolveSecret);
    const t = new StdioClientTransport({
      command: s.command as string,
      args: s.args,
      env,
      stderr: 'pipe',
      maxBufferSize: MAX_MESSAGE_BYTES,
      ...(s.cwd ? { cwd: s.cwd } : {}),
    });
    // Its log lines go to ours; the last few are kept for the error a failed start shows.
    t.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#stderr = (this.#stderr + text).slice(-2000);
      this.#o.logger?.debug({ server: this.id, stderr: text.slice(0, 500) }, 'MCP server stderr');
    });
    return t;
  }

  /** A start that failed or a server that exited: the crash is counted and the next try waits (decideRestart). */
  #failed(why: string): void {
    const now = this.#now();
    this.#lastError = why;
    this.#crashes = [...this.#crashes.filter((t) => now - t < 600_000), now];
    const policy = this.#o.policy ?? DEFAULT_RESTART_POLICY;
    const d = decideRestart(this.#crashes, now, policy);
    this.#nextTryAt = now + (d.action === 'restart' ? d.delayMs : policy.maxBackoffMs);
    this.#set({ status: d.action === 'restart' ? 'restarting' : 'failed', error: why });
  }

  /** Not JSON-RPC on the wire: with calls waiting, the connection is dropped so they fail now rather than time out. */
  #onProtocolError(err: Error): void {
    this.#lastError = err.message;
    this.#o.logger?.warn({ server: this.id, err: err.message }, 'MCP server protocol error');
    if (this.#inFlight > 0 && this.#client) void this.#drop(`it sent something that is not JSON-RPC: ${err.message}`);
  }

  /** The server went away (it exited, or we dropped it): restarted after the backoff unless we are closing. */
  #onClose(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#tools = undefined;
    if (this.#stopped || this.#closing) return;
    const why = this.#lastError && this.#inFlight > 0 ? this.#lastError : 'it exited';
    this.#o.logger?.warn({ server: this.id, why }, 'MCP server closed; restarting after a pause');
    this.#failed(why);
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.ensure().catch(() => undefined), this.#nextTryAt - this.#now());
    this.#restartTimer.unref();
  }

  async #drop(why: string): Promise<void> {
    this.#lastError = why;
    const t = this.#transport;
    if (t) await this.#closeTransport(t);
  }

  /** The server's tools with whether each is read-only (annotations, then settings); listed once, then cached. */
  async tools(): Promise<McpTool[]> {
    if (this.#tools) return this.#tools;
    const client = await this.ensure();
    const s = this.#o.settings();
    const out: McpTool[] = [];
    let cursor: string | undefined;
    try {
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, { timeout: s.timeoutMs });
        for (const t of page.tools)
          out.push({
            server: this.id,
            name: t.name,
            description: t.description ?? t.title ?? '',
            inputSchema: t.inputSchema as Record<string, unknown>,
            readOnly: isReadOnly(s, t.name, t.annotations),
          });
        cursor = page.nextCursor;
      } while (cursor);
    } catch (err) {
      throw this.#callError(err, 'list its tools', s.timeoutMs);
    }
    this.#tools = out;
    this.#set({ tools: out });
    return out;
  }

  /** Runs one tool; its result as text of at most `maxChars`. Throws McpToolError (never hangs past timeoutMs). */
  async call(
    tool: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal; maxChars: number },
  ): Promise<McpCallResult> {
    const client = await this.ensure();
    const { timeoutMs } = this.#o.settings();
    const started = this.#now();
    this.#inFlight++;
    try {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, {
        timeout: timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const bytes = Buffer.byteLength(JSON.stringify(result));
      const { text, truncated } = cutText(contentText(result as { content?: unknown }), options.maxChars);
      return { text, isError: result.isError === true, bytes, truncated, durationMs: this.#now() - started };
    } catch (err) {
      const e = this.#callError(err, `run ${tool}`, timeoutMs, options.signal);
      // A server that does not answer in time is stuck: the next call starts a fresh one.
      if (e.code === 'Timeout') await this.#drop(`it did not answer within ${timeoutMs} ms`);
      throw e;
    } finally {
      this.#inFlight--;
    }
  }

  #callError(err: unknown, what: string, timeoutMs: number, signal?: AbortSignal): McpToolError {
    if (err instanceof McpToolError) return err;
    if (signal?.aborted) return new McpToolError('Aborted', `Stopped while "${this.id}" was asked to ${what}.`);
    const code = err instanceof McpError ? err.code : undefined;
    if (code === ErrorCode.RequestTimeout)
      return new McpToolError('Timeout', `The MCP server "${this.id}" did not ${what} within ${timeoutMs} ms.`);
    if (code === ErrorCode.ConnectionClosed) {
      const why = this.#lastError ?? 'it exited';
      const kind = /not JSON-RPC/.test(why) ? 'BadResponse' : 'Exited';
      return new McpToolError(kind, `The MCP server "${this.id}" stopped answering while asked to ${what}: ${why}.`);
    }
    return new McpToolError('BadResponse', `The MCP server "${this.id}" failed to ${what}: ${errorMessage(err)}`, {
      cause: err,
    });
  }

  async #closeTransport(t: Transport): Promise<void> {
    const pid = t instanceof StdioClientTransport ? t.pid : null;
    const tree = pid ? [pid, ...descendants(pid)] : [];
    await t.close().catch(() => undefined);
    // The SDK ends its own child; what that child started itself (npx → node, a shell's children) is ended here.
    signalAll(tree, 'SIGTERM');
    signalAll(await waitGone(tree, 1000), 'SIGKILL');
  }

  /** Stops the server for good (the app closes): no restart, its process tree ended. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    await this.#starting?.catch(() => undefined);
    this.#closing = true;
    const t = this.#transport;
    this.#client = undefined;
    this.#transport = undefined;
    if (t) await this.#closeTransport(t);
    this.#set({ status: 'stopped', pid: undefined });
  }
}

/** A stdio server runs here; an HTTP one only when its URL is loopback. */
export function isLocalServer(s: McpServerSettings): boolean {
  return s.url === undefined || isLoopbackUrl(s.url);
}
