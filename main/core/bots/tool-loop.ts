// A bot answering with tools: the model gets the bot's MCP tools, each round of calls it asks for is run
// (tool-call.ts: checks, approval, the call, the audit) and their results go back to it, until it answers in text or
// the bot's maxToolSteps is spent. The reply streams as before, with one collapsible line per call.
import { DEFAULT_MAX_TOOL_STEPS } from '../../common/settings-tools.ts';
import type { GenerationStats } from '../../common/inference-types.ts';
import type { BotTool } from '../mcp/mcp-service.ts';
import { runToolCall, type BotTools } from './tool-call.ts';
import type { ApprovalDecision } from './tool-approval.ts';
import type { BotChatRequest, BotConfig, BotInference, ChatMessage, ToolSpec } from './types.ts';

export interface ToolLoopInput {
  bot: BotConfig;
  inference: BotInference;
  tools: BotTools;
  /** The request as plain generation would send it (messages, sampling, signal, context, question, onDecision). */
  request: Omit<BotChatRequest, 'tools'>;
  /** Where the reply's text goes (the reply stream). */
  out: { push(text: string): void; readonly text: string };
  approve: (tool: BotTool, args: Record<string, unknown>) => Promise<ApprovalDecision>;
  /** Characters of tool results the prompt still has room for. */
  roomChars: number;
  now: () => number;
}

export interface ToolLoopResult {
  finalText: string;
  stats: GenerationStats | undefined;
  tokens: number;
  /** Rounds of tool calls run. */
  steps: number;
}

const spec = (t: BotTool): ToolSpec => ({
  name: t.fn,
  description: t.description || `${t.server}/${t.name}`,
  parameters: t.inputSchema,
});

/** One model turn: its text streamed out, its tool calls and its stats collected. */
async function turn(
  input: ToolLoopInput,
  messages: ChatMessage[],
  tools: ToolSpec[],
): Promise<{ text: string; calls: NonNullable<ChatMessage['toolCalls']>; stats?: GenerationStats }> {
  let text = '';
  let calls: NonNullable<ChatMessage['toolCalls']> = [];
  let stats: GenerationStats | undefined;
  const { signal } = input.request;
  for await (const chunk of input.inference.chat({ ...input.request, messages, ...(tools.length ? { tools } : {}) })) {
    if (signal.aborted) break;
    if (chunk.type === 'text') {
      text += chunk.text;
      input.out.push(chunk.text);
    } else if (chunk.type === 'tool_calls') calls = [...calls, ...chunk.calls];
    else stats = chunk.stats;
  }
  return { text, calls, ...(stats ? { stats } : {}) };
}

/** Runs the model with tools until it answers in text or the steps are spent; what it did stays in the reply. */
export async function runToolLoop(input: ToolLoopInput): Promise<ToolLoopResult> {
  const { bot, request } = input;
  const { tools, problems } = await input.tools.forBot(bot);
  const specs = tools.map(spec);
  const maxSteps = bot.maxToolSteps ?? DEFAULT_MAX_TOOL_STEPS;
  const messages = [...request.messages];
  let room = input.roomChars;
  let steps = 0;
  let tokens = 0;
  let stats: GenerationStats | undefined;
  const trailing = [...problems.map((p) => `⚠️ ${p}`)];
  for (;;) {
    const t = await turn(input, messages, specs);
    if (request.signal.aborted) throw request.signal.reason;
    if (t.stats) {
      stats = t.stats;
      tokens += t.stats.promptTokens + t.stats.completionTokens;
    }
    if (t.calls.length === 0) break;
    if (steps >= maxSteps) {
      trailing.push(
        `⚠️ Stopped after ${steps} round${steps === 1 ? '' : 's'} of tool calls (this bot's maxToolSteps is ${maxSteps}): the model kept calling tools without answering.`,
      );
      break;
    }
    steps++;
    messages.push({ role: 'assistant', content: t.text, toolCalls: t.calls });
    if (t.text && !t.text.endsWith('\n')) input.out.push('\n\n');
    for (const call of t.calls) {
      const r = await runToolCall(
        {
          bot,
          tools: input.tools,
          approve: input.approve,
          context: request.context,
          now: input.now,
          signal: request.signal,
        },
        call,
        tools,
        room,
      );
      room = Math.max(0, room - r.content.length);
      input.out.push(`${r.details ?? r.line}\n\n`);
      messages.push({ role: 'tool', toolCallId: call.id, toolName: call.name, content: r.content });
    }
  }
  if (trailing.length) input.out.push(`${input.out.text.trim() ? '\n\n' : ''}${trailing.join('\n\n')}`);
  return { finalText: input.out.text, stats, tokens, steps };
}
