// Reading an agent program's stdout: plain text as it comes, or the streamed JSON lines of the common coding-agent
// CLIs in their documented non-interactive modes, turned into the reply's text (with one compact line per tool the
// agent used), its errors, and its token counts:
//   claude-stream-json  `claude -p --output-format stream-json --verbose [--include-partial-messages]`
//   codex-json          `codex exec --json -`
//   gemini-stream-json  `gemini -p … --output-format stream-json`
import type { AgentFormat } from '../../../common/settings-tools.ts';

export type AgentEvent =
  | { kind: 'text'; text: string }
  | { kind: 'error'; message: string }
  | { kind: 'usage'; input: number; output: number };

export interface AgentAdapter {
  /** A piece of stdout (any size, split anywhere); the events it completes. */
  push(chunk: string): AgentEvent[];
  /** The end of stdout: what is left. */
  end(): AgentEvent[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** A compact line for a tool the agent ran, on a line of its own. */
const toolLine = (what: string): AgentEvent => ({
  kind: 'text',
  text: `\n🔧 ${what.replace(/\s+/g, ' ').slice(0, 160)}\n`,
});

/** The first string argument of a tool's input, as a hint of what it did (a command, a path). */
function inputHint(input: unknown): string {
  const o = obj(input);
  const first = ['command', 'file_path', 'path', 'pattern', 'query', 'url'].map((k) => str(o[k])).find(Boolean);
  return first ? `: ${first}` : '';
}

/** Claude Code's stream-json: system/init, assistant and user messages, stream_event deltas, and the result. */
function claudeLine(e: Json, state: { streamed: boolean; any: boolean }): AgentEvent[] {
  if (e.type === 'stream_event') {
    const ev = obj(e.event);
    const delta = obj(ev.delta);
    if (ev.type === 'content_block_delta' && delta.type === 'text_delta' && str(delta.text)) {
      state.streamed = true;
      state.any = true;
      return [{ kind: 'text', text: str(delta.text) }];
    }
    return [];
  }
  if (e.type === 'assistant') {
    const out: AgentEvent[] = [];
    for (const block of (obj(e.message).content as unknown[] | undefined) ?? []) {
      const b = obj(block);
      // With --include-partial-messages the text already came as deltas; the whole message repeats it.
      if (b.type === 'text' && str(b.text) && !state.streamed) {
        out.push({ kind: 'text', text: `${state.any ? '\n\n' : ''}${str(b.text)}` });
        state.any = true;
      }
      if (b.type === 'tool_use') out.push(toolLine(`${str(b.name)}${inputHint(b.input)}`));
    }
    return out;
  }
  if (e.type === 'result') {
    const usage = obj(e.usage);
    const out: AgentEvent[] = [{ kind: 'usage', input: num(usage.input_tokens), output: num(usage.output_tokens) }];
    if (e.is_error === true || (str(e.subtype) && e.subtype !== 'success'))
      out.push({ kind: 'error', message: str(e.result) || `the run ended with ${str(e.subtype) || 'an error'}` });
    else if (!state.any && str(e.result)) out.push({ kind: 'text', text: str(e.result) });
    return out;
  }
  return [];
}

/** Codex's exec --json: thread and turn events, and items (messages, commands, file changes, MCP calls). */
function codexLine(e: Json): AgentEvent[] {
  const item = obj(e.item);
  if (e.type === 'item.completed') {
    if (item.type === 'agent_message') return [{ kind: 'text', text: str(item.text) }];
    if (item.type === 'command_execution') {
      const code = item.exit_code;
      return [toolLine(`ran ${str(item.command)}${typeof code === 'number' && code !== 0 ? ` (exit ${code})` : ''}`)];
    }
    if (item.type === 'file_change') {
      const changes = ((item.changes as unknown[] | undefined) ?? []).map(
        (c) => `${str(obj(c).kind)} ${str(obj(c).path)}`,
      );
      return [toolLine(`changed ${changes.join(', ') || 'files'}`)];
    }
    if (item.type === 'mcp_tool_call') return [toolLine(`${str(item.server)}/${str(item.tool)}`)];
    if (item.type === 'web_search') return [toolLine(`searched ${str(item.query)}`)];
    if (item.type === 'error') return [{ kind: 'error', message: str(item.message) }];
    return [];
  }
  if (e.type === 'turn.completed') {
    const u = obj(e.usage);
    return [{ kind: 'usage', input: num(u.input_tokens), output: num(u.output_tokens) }];
  }
  if (e.type === 'turn.failed') return [{ kind: 'error', message: str(obj(e.error).message) || 'the turn failed' }];
  if (e.type === 'error') return [{ kind: 'error', message: str(e.message) || 'an error' }];
  return [];
}

/** Gemini CLI's stream-json: init, user and assistant messages (assistant ones as deltas), tools, errors, the result. */
function geminiLine(e: Json): AgentEvent[] {
  if (e.type === 'message' && e.role === 'assistant') return [{ kind: 'text', text: str(e.content) }];
  if (e.type === 'tool_use') return [toolLine(`${str(e.tool_name)}${inputHint(e.parameters)}`)];
  if (e.type === 'error' && e.severity === 'error') return [{ kind: 'error', message: str(e.message) }];
  if (e.type === 'result') {
    const s = obj(e.stats);
    const out: AgentEvent[] = [{ kind: 'usage', input: num(s.input_tokens), output: num(s.output_tokens) }];
    if (e.status !== undefined && e.status !== 'success')
      out.push({ kind: 'error', message: str(obj(e.error).message) || `the run ended with status ${str(e.status)}` });
    return out;
  }
  return [];
}

/** Line by line; a line that is not JSON is passed on as text (a CLI's own warnings), never dropped. */
function jsonLines(read: (e: Json) => AgentEvent[]): AgentAdapter {
  let buffer = '';
  const line = (text: string): AgentEvent[] => {
    const t = text.trim();
    if (!t) return [];
    try {
      return read(obj(JSON.parse(t)));
    } catch {
      return [{ kind: 'text', text: `${t}\n` }];
    }
  };
  return {
    push(chunk) {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      return lines.flatMap(line);
    },
    end() {
      const rest = buffer;
      buffer = '';
      return line(rest);
    },
  };
}

export function agentAdapter(format: AgentFormat): AgentAdapter {
  switch (format) {
    case 'text':
      return { push: (chunk) => (chunk ? [{ kind: 'text', text: chunk }] : []), end: () => [] };
    case 'claude-stream-json': {
      const state = { streamed: false, any: false };
      return jsonLines((e) => claudeLine(e, state));
    }
    case 'codex-json':
      return jsonLines(codexLine);
    case 'gemini-stream-json':
      return jsonLines(geminiLine);
  }
}
