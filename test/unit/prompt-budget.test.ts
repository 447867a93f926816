// The prompt budget as a pure function: the answer keeps the bot's max tokens, at most a quarter of the context,
// so a huge max tokens never leaves the question without room; the template's cost comes off the prompt.
import { describe, expect, it } from 'vitest';
import { PromptTooLongError, promptBudget, questionLimit } from '../../main/core/inference/prompt-budget.ts';

const w = (contextTokens: number) => ({ contextTokens, templateTokens: 10, perMessageTokens: 6 });

describe('promptBudget', () => {
  it.each([
    // context, bot maxTokens → answer, prompt
    [8192, 2048, 2048, 6134],
    [8192, 400, 400, 7782],
    [8192, 32768, 2048, 6134],
    [2048, 2048, 512, 1526],
    [4096, 1, 1, 4085],
    [128, 2048, 64, 54],
  ])('context %i, max tokens %i → answer %i, prompt %i', (ctx, maxTokens, answer, prompt) => {
    expect(promptBudget('m', w(ctx), maxTokens)).toMatchObject({
      model: 'm',
      contextTokens: ctx,
      answerTokens: answer,
      promptTokens: prompt,
    });
  });

  it('leaves the question what the system prompt and two messages’ template do not take', () => {
    const b = promptBudget('llama:/m.gguf', w(2048), 2048);
    expect(questionLimit(b, 100)).toBe(1526 - 100 - 12);
    const err = new PromptTooLongError(b, 3000, 100);
    expect(err).toMatchObject({ code: 'PromptTooLong', questionTokens: 3000, limitTokens: 1414 });
    expect(err.message).toBe(
      "The message is about 3000 tokens, but llama:/m.gguf takes at most 1414 tokens for it (a context of 2048 tokens: 512 kept for the answer, 100 for the bot's instructions).",
    );
    expect(err.hint).toMatch(
      /^Shorten the message to under about 1414 tokens or split it into parts, or give the bot a model with a larger context/,
    );
  });
});
