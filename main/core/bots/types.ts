// Types the bot runner shares between its modules, and the narrow interfaces it needs from the world
// (provisioned accounts, inference, clock), so tests can drive it and the real router can be adapted.
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import type { PromptBudget } from '../inference/prompt-budget.ts';
import type { ChatChunk, ChatMessage, ModelInfo, SamplingOptions, ToolSpec } from '../inference/types.ts';

export type { BotConfig, Settings, ChatChunk, ChatMessage, PromptBudget, SamplingOptions, ToolSpec };

/** A provisioned Matrix account of one bot (the provisioner's ProvisionResult.bots[i]). */
export interface BotAccount {
  id: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  displayName: string;
}

/** What the runner needs from the provisioner's ProvisionResult. */
export interface ProvisionLike {
  homeserverUrl: string;
  serverName: string;
  roomId: string;
  owner: { userId: string; deviceId?: string; accessToken?: string };
  bots: BotAccount[];
}

export interface BotChatRequest {
  bot: BotConfig;
  messages: ChatMessage[];
  sampling: SamplingOptions;
  signal: AbortSignal;
  /** The room and the triggering event, for the audit trail. */
  context?: { roomId: string; eventId: string };
  /** The request as the person wrote it (the trigger's body), for the task and the rules. */
  question?: string;
  /** The answer must be JSON of this schema (a pipeline stage's). */
  jsonSchema?: Record<string, unknown>;
  /** Called once when a model starts answering, with where the answer comes from and why. */
  onDecision?: (decision: { model: string; reason: string; notice?: string }) => void;
  /** Tools the model may call; its calls come back as a `tool_calls` chunk. */
  tools?: ToolSpec[];
}

/** The inference dependency: the InferenceRouter, or any object with these methods. */
export interface BotInference {
  /** Streams a reply; the last chunk is `done`. Throws InferenceError (or any Error) on failure. */
  chat(request: BotChatRequest): AsyncIterable<ChatChunk>;
  /** Counts tokens with the bot's model tokenizer (may estimate). */
  countTokens(bot: BotConfig, text: string): Promise<number>;
  /**
   * What the bot's next request can carry: the model's real context minus the answer's room. Optional: without
   * it the runner's promptTokens alone bounds the prompt (and no question is refused as too long).
   */
  promptBudget?(bot: BotConfig, signal?: AbortSignal, question?: string): Promise<PromptBudget>;
  /**
   * Whether a request of this bot with images can be answered: by its own models, or by the vision task's when the bot
   * allows it. Otherwise the one line to say instead, naming a configured model that can see. Optional: without it,
   * requests with images are refused.
   */
  imageSupport?(bot: BotConfig, signal?: AbortSignal): Promise<ImageSupport>;
  /** Lists the models the backends know, for !models. Optional. */
  listModels?(signal?: AbortSignal): Promise<ModelInfo[]>;
  /** Why the room's last answer came from where it came from (`!why`); undefined when nothing was answered yet. */
  explain?(roomId: string): string | undefined;
  /** Today's and this month's cloud spend (`!cost`). */
  costText?(): string;
}

export type ImageSupport = { ok: true; model: string } | { ok: false; notice: string };

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The raw shape of a Matrix event as /sync and /messages return it. */
export interface RawEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  room_id?: string;
  state_key?: string;
  redacts?: string;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
}

/** Content keys this app adds to a bot's messages, so bots and restarts can follow a turn. */
export const TURN_KEY = 'org.agentroom.turn';
/** Marks the final edit of a streamed reply: the only edit that can address other bots. */
export const FINAL_KEY = 'org.agentroom.final';

export interface TurnInfo {
  /** The person's event that started this chain of replies. */
  origin: string;
  /** 0 for a person's message; a bot's reply to a hop-h message has hop h+1. */
  hop: number;
  /** The thread root when the reply is in a thread (edits cannot carry the thread relation). */
  thread?: string;
}
