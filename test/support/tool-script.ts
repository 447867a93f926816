// Tool calling on the local OpenAI-compatible and Ollama test servers: a script decides, per request, whether the
// "model" answers in text or calls tools; the request checks follow the real APIs (OpenAI's tools and tool message
// rules with its error texts, Ollama's tools capability).

export interface ScriptedTurn {
  /** Text the model streams (before any calls). */
  text?: string;
  /** Calls it asks for; `arguments` as an object (sent as JSON) or as the raw text a model might write. */
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> | string }>;
}

export interface ScriptRequest {
  messages: Array<Record<string, unknown>>;
  /** The function names offered in `tools`. */
  tools: string[];
  lastUser: string;
}

/** Undefined: the server answers as it does without a script. */
export type ToolScript = (req: ScriptRequest) => ScriptedTurn | undefined;

/** The last message, when it is a tool's result: what a script answers with. */
export function lastToolResult(req: ScriptRequest): string | undefined {
  const last = req.messages.at(-1);
  return last?.role === 'tool' ? String(last.content ?? '') : undefined;
}

/**
 * A script that calls `tool` once with `args(lastUser)` and then answers with the tool's result:
 * "The tool said: <result>".
 */
export function callOnce(tool: string, args: (lastUser: string) => Record<string, unknown>): ToolScript {
  return (req) => {
    const result = lastToolResult(req);
    if (result !== undefined) return { text: `The tool said: ${result}` };
    if (!req.tools.includes(tool)) return undefined;
    return { toolCalls: [{ name: tool, arguments: args(req.lastUser) }] };
  };
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

interface OpenAIToolsProblem {
  message: string;
  param: string;
  code: string | null;
}

/** OpenAI's checks of `tools` and of tool messages, with its messages; undefined when the request is fine. */
export function openaiToolsProblem(body: Record<string, unknown>): OpenAIToolsProblem | undefined {
  const tools = body.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools))
      return { message: "Invalid type for 'tools': expected an array.", param: 'tools', code: 'invalid_type' };
    for (const [i, t] of (
      tools as Array<{ type?: unknown; function?: { name?: unknown; parameters?: unknown } }>
    ).entries()) {
      if (t.type !== 'function')
        return {
          message: `Invalid value: '${String(t.type)}'. Supported values are: 'function'.`,
          param: `tools[${i}].type`,
          code: 'invalid_value',
        };
      if (typeof t.function?.name !== 'string' || !NAME.test(t.function.name))
        return {
          message: `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
          param: `tools[${i}].function.name`,
          code: 'invalid_value',
        };
    }
  }
  const messages = (body.messages ?? []) as Array<{
    role?: unknown;
    tool_call_id?: unknown;
    tool_calls?: Array<{ id?: unknown }>;
  }>;
  const open = new Set<string>();
  for (const [i, m] of messages.entries()) {
    if (m.role === 'tool') {
      if (typeof m.tool_call_id !== 'string' || !open.has(m.tool_call_id))
        return {
          message:
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          param: `messages.[${i}].role`,
          code: null,
        };
      open.delete(m.tool_call_id);
      continue;
    }
    if (open.size > 0)
      return {
        message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open].join(', ')}`,
        param: 'messages',
        code: null,
      };
    if (m.role === 'assistant') for (const c of m.tool_calls ?? []) open.add(String(c.id));
  }
  return undefined;
}

/** The argument text of a scripted call. */
export const argumentText = (a: Record<string, unknown> | string): string =>
  typeof a === 'string' ? a : JSON.stringify(a);

/** Pieces of a JSON argument text, as OpenAI streams them (a few characters each). */
export function argumentPieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 7) out.push(text.slice(i, i + 7));
  return out.length ? out : [''];
}
