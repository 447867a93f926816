// One model call as the audit trail keeps it: who asked, which model answered (or failed), why that model,
// whether it left this machine, the kinds of sensitive data (never the values), tokens and time.

export type AuditOutcome = 'ok' | 'failed' | 'refused' | 'aborted';

export interface AuditEntry {
  /** When the call started (ms since the epoch). */
  at: number;
  roomId: string | null;
  eventId: string | null;
  botId: string;
  /** The task the call served; null until tasks exist. */
  task: string | null;
  model: string;
  /** llama, ollama, openai, agent; "mcp" for a tool call; "none" when no model was tried (a refusal). */
  backend: string;
  /** The endpoint of an OpenAI-compatible or Ollama model; "local" for in-process llama models. */
  endpoint: string | null;
  /** True when the model runs on this machine. */
  local: boolean;
  /** The kinds of sensitive data the request held (e.g. "card"); empty when none. */
  sensitive: string[];
  promptTokens: number | null;
  completionTokens: number | null;
  durationMs: number;
  /** Null until the budget prices calls. */
  cost: number | null;
  /** Why this model: the rule, the bot's model, a fallback after which failures, local because sensitive. */
  reason: string;
  outcome: AuditOutcome;
  errorCode: string | null;
  /** Tool calls (backend "mcp"): the arguments' and the result's size in bytes, and who allowed or denied it. */
  argsBytes?: number | null;
  resultBytes?: number | null;
  approvedBy?: string | null;
  /** The question and the answer: kept only when the settings' audit.storeText is on. */
  prompt?: string | null;
  reply?: string | null;
}

/** Where the router records its calls: the audit store, or nothing. */
export interface AuditSink {
  record(entry: AuditEntry): void;
}
