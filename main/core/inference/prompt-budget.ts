// How much of a model's context one request's prompt may fill: the context the request really gets, minus the
// room kept for the answer (capped, so a huge maxTokens cannot squeeze out the question) and the chat template.
import { InferenceError, type ContextWindow } from './types.ts';

export interface PromptBudget extends ContextWindow {
  /** The model the window was measured for. */
  model: string;
  /** Tokens kept free for the answer: the bot's maxTokens, at most a quarter of the context. */
  answerTokens: number;
  /** Tokens the system prompt, history and question may take together, each message plus perMessageTokens. */
  promptTokens: number;
}

/** Where no backend can say (an endpoint without a contextTokens setting): a context most servers give. */
export const DEFAULT_CONTEXT_WINDOW: ContextWindow = { contextTokens: 8192, templateTokens: 16, perMessageTokens: 8 };

/** The answer keeps at most this share of the context; a longer answer still runs (the backends shift the context). */
export const ANSWER_SHARE = 0.25;
const MIN_ANSWER_TOKENS = 64;

export function promptBudget(model: string, window: ContextWindow, maxTokens: number): PromptBudget {
  const cap = Math.max(MIN_ANSWER_TOKENS, Math.floor(window.contextTokens * ANSWER_SHARE));
  const answerTokens = Math.max(1, Math.min(maxTokens, cap));
  return {
    model,
    ...window,
    answerTokens,
    promptTokens: Math.max(0, window.contextTokens - answerTokens - window.templateTokens),
  };
}

/** Tokens left for the question once the system prompt (and both messages' template) are in. */
export function questionLimit(budget: PromptBudget, systemTokens: number): number {
  return Math.max(0, budget.promptTokens - systemTokens - 2 * budget.perMessageTokens);
}

/** The question alone does not fit what the model can take: says the limit and what to do. */
export class PromptTooLongError extends InferenceError {
  readonly questionTokens: number;
  readonly limitTokens: number;
  constructor(budget: PromptBudget, questionTokens: number, systemTokens: number) {
    const limit = questionLimit(budget, systemTokens);
    super(
      'PromptTooLong',
      `The message is about ${questionTokens} tokens, but ${budget.model} takes at most ${limit} tokens for it ` +
        `(a context of ${budget.contextTokens} tokens: ${budget.answerTokens} kept for the answer, ${systemTokens} for the bot's instructions).`,
      {
        hint:
          `Shorten the message to under about ${limit} tokens or split it into parts, or give the bot a model with a larger context` +
          `${budget.answerTokens > MIN_ANSWER_TOKENS ? ' (a lower max tokens for the bot also leaves more room)' : ''}.`,
      },
    );
    this.questionTokens = questionTokens;
    this.limitTokens = limit;
  }
}
