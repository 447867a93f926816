// Turns the interface's messages into node-llama-cpp chat history, naming speakers in a shared room.
// Speaker names: a named user message becomes "Name: text", so the model can tell people (and other bots,
// which the bot layer sends as named user messages) apart. Assistant messages are this bot's own turns and
// stay unprefixed, whatever their name, so the model does not learn to start its replies with a name. Tool calls
// and their results become function calls in the model's turn.
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from 'node-llama-cpp';
import type { ChatMessage } from '../types.ts';

export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  // A tool's result goes into the call it answers, inside the model turn that made it (as LlamaChatSession keeps it).
  const calls = new Map<string, ChatModelFunctionCall>();
  for (const m of messages) {
    if (m.role === 'system') {
      const last = history.at(-1);
      // Several system messages in a row read as one system prompt.
      if (last?.type === 'system') last.text = `${last.text}\n\n${m.content}`;
      else history.push({ type: 'system', text: m.content });
    } else if (m.role === 'user') {
      history.push({
        type: 'user',
        text: m.name && !m.content.startsWith(`${m.name}: `) ? `${m.name}: ${m.content}` : m.content,
      });
    } else if (m.role === 'tool') {
      const call = m.toolCallId ? calls.get(m.toolCallId) : undefined;
      if (call) call.result = m.content;
      else history.push({ type: 'user', text: `Result of ${m.toolName ?? 'a tool'}: ${m.content}` });
    } else {
      const response: ChatModelResponse['response'] = m.content ? [m.content] : [];
      for (const c of m.toolCalls ?? []) {
        const call: ChatModelFunctionCall = {
          type: 'functionCall',
          name: c.name,
          params: parseParams(c.arguments),
          result: undefined,
        };
        calls.set(c.id, call);
        response.push(call);
      }
      history.push({ type: 'model', response });
    }
  }
  // The model answers in a new, empty model turn (as LlamaChatSession does), or goes on with the turn whose calls
  // just got their results.
  const last = messages.at(-1);
  if (last?.role !== 'tool' || !last.toolCallId || !calls.has(last.toolCallId))
    history.push({ type: 'model', response: [] });
  return history;
}

function parseParams(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}
