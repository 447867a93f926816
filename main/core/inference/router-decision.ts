// What the router records of one answered request: the model, why, the models tried before it and those passed over.
// The router keeps the latest (`!why`, status pages) and hands each to the caller once a model starts answering.
import type { TaskChoice } from './router-decide.ts';
import type { Candidate } from './router-rules.ts';
import type { InferenceBackend } from './types.ts';

export interface RouteAttempt {
  model: string;
  reason: string;
  /** Absent for the model that answered. */
  error?: { code: string; message: string };
}

export interface RouteDecision {
  botId: string;
  /** The model that answered. */
  model: string;
  backend: InferenceBackend['kind'];
  /** Why this model: the rule, the bot's model, or which fallback after which failures. */
  reason: string;
  attempts: RouteAttempt[];
  skipped: Candidate[];
  at: number;
  /** The task the request was given, and how. */
  task?: TaskChoice;
  /** Kinds of sensitive data found (never the values). */
  sensitive: string[];
  /** True when the model runs on this machine. */
  local: boolean;
  roomId?: string;
  eventId?: string;
  /** Said once in the room: a cloud budget is spent and the answer came from further down the chain. */
  notice?: string;
}
