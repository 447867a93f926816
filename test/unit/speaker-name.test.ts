// The speaker's name reaches a model once: the context already writes "ann: …" into a person's message, so the
// llama chat history (and Ollama's request) add it only to messages that do not carry it yet.
import { describe, expect, it } from 'vitest';
import { toChatHistory } from '../../main/core/inference/llama/chat-history.ts';

describe('the speaker name', () => {
  it('is written once', () => {
    const history = toChatHistory([
      { role: 'user', content: 'ann: hello there', name: 'ann' },
      { role: 'user', content: 'what now?', name: 'bob' },
    ]);
    expect(history.filter((h) => h.type === 'user').map((h) => ('text' in h ? h.text : ''))).toEqual([
      'ann: hello there',
      'bob: what now?',
    ]);
  });
});
