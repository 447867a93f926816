// Tools and agents in settings: MCP servers (a stdio command the app starts, or a Streamable HTTP URL), which bot
// may use which server or tool, how long an approval waits, and external agent programs that answer as a bot
// (`agent:<id>` as the bot's model). Cross-references (a bot's tools, an agent model) are checked on the whole
// settings in checkToolReferences.
import { z } from 'zod';

const id = z.string().regex(/^[a-z0-9][a-z0-9._=-]{0,63}$/, 'use lower-case letters, digits and . _ = - (at most 64)');

/** Environment values: a literal, `secret:<name>` (the secret store) or `env:VAR` (the app's own environment). */
const envValues = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a variable name'), z.string());

export const mcpServerSchema = z
  .object({
    id,
    /** A program started over stdio (`npx`, a path, …) … */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    /** Passed to the program besides PATH, HOME and the like; nothing else of the app's environment is. */
    env: envValues.default({}),
    cwd: z.string().optional(),
    /** … or a Streamable HTTP endpoint. */
    url: z.url().optional(),
    /** Tools counted as read-only (run without asking) or as changing something (asked), whatever the server says. */
    readOnlyTools: z.array(z.string()).default([]),
    writeTools: z.array(z.string()).default([]),
    /** One tool call (and the server's start) may take this long. */
    timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  })
  .refine((s) => (s.command === undefined) !== (s.url === undefined), {
    message: 'an MCP server needs either a command (stdio) or a url (Streamable HTTP), not both',
  });
export type McpServerSettings = z.infer<typeof mcpServerSchema>;

export const mcpSettingsSchema = z.object({
  servers: z.array(mcpServerSchema).default([]),
  /** A tool that changes something waits this long for ✅ or ❌ (or !allow / !deny); then it is denied. */
  approvalTimeoutMs: z.number().int().min(100).max(86_400_000).default(300_000),
  /** A tool's result longer than this (characters) is cut, with a note, before the model reads it. */
  maxResultChars: z.number().int().min(100).max(1_000_000).default(16_000),
});
export const MCP_DEFAULTS = { servers: [], approvalTimeoutMs: 300_000, maxResultChars: 16_000 };

export const agentFormat = z.enum(['text', 'claude-stream-json', 'codex-json', 'gemini-stream-json']);
export type AgentFormat = z.infer<typeof agentFormat>;

export const agentSchema = z
  .object({
    id,
    /** A program run once per request: the prompt on its stdin (and as {prompt} in args), its answer on stdout … */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    /** The folder it works in (a coding agent's project); default: a fresh empty folder per request. */
    cwd: z.string().optional(),
    /** Its whole environment besides PATH, HOME and the like: values, `secret:<name>` or `env:VAR`. */
    env: envValues.default({}),
    /** … or an HTTP endpoint that takes {prompt, messages} and streams its answer as text. */
    url: z.url().optional(),
    /** How its stdout is read: plain text, or a coding agent CLI's streamed JSON. */
    format: agentFormat.default('text'),
    /** The request is ended (the process tree killed) after this long. */
    timeoutMs: z.number().int().min(100).max(86_400_000).default(600_000),
    /** Output past this many bytes ends the request. */
    maxOutputBytes: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
  })
  .refine((a) => (a.command === undefined) !== (a.url === undefined), {
    message: 'an agent needs either a command or a url, not both',
  });
export type AgentSettings = z.infer<typeof agentSchema>;

/** Rounds of tool calls in one answer when the bot does not say. */
export const DEFAULT_MAX_TOOL_STEPS = 5;

/**
 * The fields a bot has for tools (spread into the bot schema). Optional rather than defaulted, so a bot written
 * in code before tools existed is still a whole BotConfig: readers take absent as none (and 5 steps).
 */
export const botToolFields = {
  /** MCP servers (`files`) or single tools (`files/read_text_file`) this bot may call. */
  tools: z.array(z.string().min(1)).optional(),
  /** Rounds of tool calls in one answer (default 5); past them the answer ends with a line saying so. */
  maxToolSteps: z.number().int().min(1).max(50).optional(),
  /** Tools (`server/tool`) that run without asking even though they change something. */
  alwaysAllow: z.array(z.string().min(1)).optional(),
};

interface ToolRefs {
  bots: ReadonlyArray<{
    id: string;
    model: string;
    tools?: readonly string[] | undefined;
    alwaysAllow?: readonly string[] | undefined;
  }>;
  mcp: { servers: ReadonlyArray<{ id: string }> };
  agents: ReadonlyArray<{ id: string }>;
}

/** Issues for a bot's tools that name no server, for `agent:<id>` models that name no agent, and duplicate ids. */
export function checkToolReferences(s: ToolRefs, ctx: z.RefinementCtx): void {
  const servers = new Set(s.mcp.servers.map((x) => x.id));
  const agents = new Set(s.agents.map((a) => a.id));
  const issue = (path: Array<string | number>, message: string): void =>
    ctx.addIssue({ code: 'custom', path, message });
  const known = (set: Set<string>) => [...set].join(', ') || 'none yet';
  s.mcp.servers.forEach((x, i) => {
    if (s.mcp.servers.findIndex((y) => y.id === x.id) !== i)
      issue(['mcp', 'servers', i, 'id'], `two MCP servers are called "${x.id}"`);
  });
  s.agents.forEach((a, i) => {
    if (s.agents.findIndex((y) => y.id === a.id) !== i) issue(['agents', i, 'id'], `two agents are called "${a.id}"`);
  });
  s.bots.forEach((b, i) => {
    for (const key of ['tools', 'alwaysAllow'] as const)
      (b[key] ?? []).forEach((t, j) => {
        const server = t.split('/')[0] ?? '';
        if (!servers.has(server))
          issue(['bots', i, key, j], `no MCP server is called "${server}" (servers: ${known(servers)})`);
      });
    const agent = /^agent:(.+)$/.exec(b.model)?.[1];
    if (agent !== undefined && !agents.has(agent))
      issue(['bots', i, 'model'], `no agent is called "${agent}" (agents: ${known(agents)})`);
  });
}
