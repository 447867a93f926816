// What a person types after `agent-room chat` becomes a model reference; Ollama references on a named endpoint
// (ollama@<id>:<tag>) pass as they are, like ollama:<tag>, instead of being looked up as a model name.
import { describe, expect, it } from 'vitest';
import { toModelRef } from '../../main/cli/chat-command.ts';

const none = () => false;

describe('toModelRef', () => {
  it.each([
    ['ollama:qwen2.5:0.5b', 'ollama:qwen2.5:0.5b'],
    ['ollama@gpu-box:qwen2.5:7b', 'ollama@gpu-box:qwen2.5:7b'],
    ['openai:groq/llama-3.1-8b', 'openai:groq/llama-3.1-8b'],
    ['hf:user/repo:Q4_K_M', 'llama:hf:user/repo:Q4_K_M'],
    ['models/tiny.gguf', 'llama:/work/models/tiny.gguf'],
    ['llama:rel/tiny.gguf', 'llama:/work/rel/tiny.gguf'],
  ])('%s → %s', (arg, ref) => expect(toModelRef(arg, '/work', none)).toBe(ref));

  it('a bare name is looked up among the listed models', () => {
    expect(toModelRef('qwen2.5:0.5b', '/work', none)).toBeUndefined();
  });
});
