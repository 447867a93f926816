// Turns the interface's messages into node-llama-cpp chat history, naming speakers in a shared room.
// Speaker names: a named user message becomes "Name: text", so the model can tell people (and other bots,
// which the bot layer sends as named user messages) apart. Assistant messages are this bot's own turns and
// stay unprefixed, whatever their name, so the model does not learn to start its replies with a name.
import type { ChatHistoryItem } from 'node-llama-cpp';
import type { ChatMessage } from '../types.ts';

export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
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
    } else {
      history.push({ type: 'model', response: [m.content] });
    }
  }
  // The model answers in a new, empty model turn (as LlamaChatSession does).
  history.push({ type: 'model', response: [] });
  return history;
}
