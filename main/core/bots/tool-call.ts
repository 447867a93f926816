// One tool call a model asked for, carried out: the tool found among the bot's, its arguments parsed and checked
// against the tool's schema, the person's approval when the tool changes something, the call itself, and the
// audit record. Whatever goes wrong becomes a result the model reads and a line the room reads; only a stopped
// answer throws.
import { Ajv, type ValidateFunction } from 'ajv';
import type { BotTool, ToolCallRecord } from '../mcp/mcp-service.ts';
import { McpToolError, type McpCallResult } from '../mcp/mcp-types.ts';
import type { ApprovalDecision } from './tool-approval.ts';
import type { ToolCall } from '../inference/types.ts';
import type { BotConfig } from './types.ts';

/** What the tool loop needs of the tools service (McpService has it). */
export interface BotTools {
  forBot(bot: BotConfig): Promise<{ tools: BotTool[]; problems: string[] }>;
  call(tool: BotTool, args: Record<string, unknown>, signal?: AbortSignal): Promise<McpCallResult>;
  record(r: ToolCallRecord): void;
}

export interface CallDeps {
  bot: BotConfig;
  tools: BotTools;
  /** Asks the room; resolves with the decision (a timeout or a stop denies). */
  approve: (tool: BotTool, args: Record<string, unknown>) => Promise<ApprovalDecision>;
  context?: { roomId: string; eventId: string } | undefined;
  now: () => number;
  signal: AbortSignal;
}

/** The outcome of one call: what the model reads next, and the line (with its details) the reply shows. */
export interface CallOutcome {
  content: string;
  line: string;
  details?: string;
  /** Bytes of the tool's own result, for the prompt budget. */
  resultChars: number;
}

const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new WeakMap<object, ValidateFunction | null>();

/** The tool's argument check; null when its schema does not compile here (the server then checks alone). */
function validatorOf(schema: Record<string, unknown>): ValidateFunction | null {
  if (validators.has(schema)) return validators.get(schema) ?? null;
  let v: ValidateFunction | null;
  try {
    // $schema names a draft Ajv may not load; the keywords are what counts.
    const { $schema: _ignored, ...rest } = schema;
    v = ajv.compile(rest);
  } catch {
    v = null;
  }
  validators.set(schema, v);
  return v;
}

/** The arguments the model wrote, as an object, or why they are not one. */
export function parseArguments(text: string): { args: Record<string, unknown> } | { error: string } {
  if (text.trim() === '') return { args: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return { args: v as Record<string, unknown> };
    return { error: `the arguments are ${Array.isArray(v) ? 'an array' : typeof v}, not a JSON object` };
  } catch (err) {
    return { error: `the arguments are not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Why the arguments do not fit the tool's schema, or undefined when they do. */
export function schemaProblem(schema: Record<string, unknown>, args: Record<string, unknown>): string | undefined {
  const v = validatorOf(schema);
  if (!v || v(args)) return undefined;
  return (v.errors ?? [])
    .slice(0, 3)
    .map((e) => `${e.instancePath || '(arguments)'} ${e.message ?? 'is not valid'}`)
    .join('; ');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A collapsible block: the compact line as its summary, the arguments and result inside (the window and Element). */
export function detailsBlock(line: string, args: string, result: string | undefined): string {
  const fence = (s: string) => `\`\`\`\n${s.replace(/```/g, '`\u200b``')}\n\`\`\``;
  const shown = (s: string) => (s.length > 1500 ? `${s.slice(0, 1500)}\n… (${s.length} characters)` : s);
  return [
    `<details><summary>${esc(line)}</summary>`,
    '',
    'Arguments:',
    '',
    fence(shown(args || '{}')),
    ...(result !== undefined ? ['', 'Result:', '', fence(shown(result))] : []),
    '',
    '</details>',
  ].join('\n');
}

function refused(label: string, why: string, args: string, modelText: string): CallOutcome {
  const line = `🔧 ${label}: ⚠️ ${why}`;
  return { content: modelText, line, details: detailsBlock(line, args, undefined), resultChars: 0 };
}

/** The tool the call names and its arguments, checked; or the outcome that says why it is not run. */
function checkCall(
  call: ToolCall,
  known: BotTool[],
): { tool: BotTool; label: string; args: Record<string, unknown> } | CallOutcome {
  const tool = known.find((t) => t.fn === call.name);
  if (!tool) {
    const names = known.map((t) => t.fn).join(', ') || 'none';
    return refused(
      call.name,
      'no such tool; not run',
      call.arguments,
      `Error: there is no tool called "${call.name}". The tools are: ${names}.`,
    );
  }
  const label = `${tool.server}/${tool.name}`;
  const parsed = parseArguments(call.arguments);
  if ('error' in parsed)
    return refused(
      label,
      `${parsed.error}; not run`,
      call.arguments,
      `Error: ${parsed.error}. Call the tool again with a JSON object.`,
    );
  const problem = schemaProblem(tool.inputSchema, parsed.args);
  if (problem)
    return refused(
      label,
      `the arguments do not fit its schema (${problem}); not run`,
      call.arguments,
      `Error: the arguments do not fit the tool's schema: ${problem}.`,
    );
  return { tool, label, args: parsed.args };
}

/** Runs one call; never throws unless the answer was stopped. `maxChars`: room left in the prompt for its result. */
export async function runToolCall(
  d: CallDeps,
  call: ToolCall,
  known: BotTool[],
  maxChars: number,
): Promise<CallOutcome> {
  const checked = checkCall(call, known);
  if ('content' in checked) return checked;
  const { tool, label } = checked;
  const parsed = { args: checked.args };
  const argsText = JSON.stringify(parsed.args);
  const base = { at: d.now(), bot: d.bot, context: d.context, server: tool.server, tool: tool.name, local: tool.local };
  const argsBytes = Buffer.byteLength(argsText);
  let approval = tool.readOnly ? 'read-only' : 'always allowed';
  if (!tool.readOnly && !(d.bot.alwaysAllow ?? []).includes(label)) {
    const decision = await d.approve(tool, parsed.args);
    if (d.signal.aborted) throw d.signal.reason;
    if (!decision.allowed) {
      const why = decision.how === 'timeout' ? `not run: ${decision.by}` : `denied by ${decision.by}`;
      d.tools.record({
        ...base,
        argsBytes,
        resultBytes: null,
        durationMs: 0,
        outcome: 'refused',
        errorCode: 'Denied',
        approval: why,
      });
      return refused(
        label,
        why,
        argsText,
        `The person did not allow this call (${why}). Do not try it again; answer without it.`,
      );
    }
    approval = `approved by ${decision.by}`;
  }
  const started = d.now();
  try {
    const r = await d.tools.call(tool, parsed.args, d.signal);
    const cut = r.text.length > maxChars;
    const text = cut
      ? `${r.text.slice(0, Math.max(0, maxChars))}\n[cut: no more room in the prompt; ${r.text.length} characters in all]`
      : r.text;
    d.tools.record({
      ...base,
      argsBytes,
      resultBytes: r.bytes,
      durationMs: r.durationMs,
      outcome: r.isError ? 'failed' : 'ok',
      errorCode: r.isError ? 'ToolError' : null,
      approval,
    });
    const notes = [r.isError ? 'it reported an error' : '', r.truncated || cut ? 'result cut' : ''].filter(Boolean);
    const line = `🔧 ${label} (${r.durationMs} ms)${notes.length ? `: ${notes.join(', ')}` : ''}`;
    return { content: text, line, details: detailsBlock(line, argsText, text), resultChars: text.length };
  } catch (err) {
    if (d.signal.aborted) throw d.signal.reason;
    const e =
      err instanceof McpToolError
        ? err
        : new McpToolError('BadResponse', err instanceof Error ? err.message : String(err));
    d.tools.record({
      ...base,
      argsBytes,
      resultBytes: null,
      durationMs: d.now() - started,
      outcome: 'failed',
      errorCode: e.code,
      approval,
    });
    return refused(label, `${e.message} ${e.hint}`, argsText, `Error: the tool failed: ${e.message}`);
  }
}
