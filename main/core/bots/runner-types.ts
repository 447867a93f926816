// The bot runner's options, status and per-bot worker shapes, kept apart so the runner file holds behaviour.
import type { SasRendezvous } from '../crypto/verification.ts';
import type { Logger } from '../logging/logger.ts';
import { accountSecretNames } from '../provisioning/accounts.ts';
import type { SecretStore } from '../settings/secret-store.ts';
import type { BotClientOptions, BotConnection } from './bot-client.ts';
import type { ReplyOutcome } from './reply-job.ts';
import type { BotStateStore } from './state-store.ts';
import type { BotTools } from './tool-call.ts';
import type { BotAccount, BotInference, Clock, ProvisionLike, Settings } from './types.ts';

export interface BotRunnerOptions {
  provision: ProvisionLike;
  getSettings: () => Settings;
  inference: BotInference;
  /** <data>/state; each bot's file is <stateDir>/bots/<id>.json. */
  stateDir: string;
  logger?: Logger;
  clock?: Clock;
  fetchFn?: typeof globalThis.fetch;
  /** Replaces the SDK client constructor (tests). */
  createMatrixClient?: BotClientOptions['createMatrixClient'];
  /** A cap on a prompt's tokens (system + history) below the model's own budget; unset: the model's budget (3072 when unknown). */
  promptTokens?: number;
  /** Most replies generated at once across rooms. Default 2. */
  maxConcurrent?: number;
  /** Persists `!model <bot> <model>`; without it the change lasts until restart. */
  onModelChange?: (botId: string, model: string) => void | Promise<void>;
  /** While it returns a time (when the pause began), mentions are refused with one notice per room per pause. */
  pausedSince?: () => number | undefined;
  /** Observes each finished reply (tests, benchmarks). */
  onReply?: (botId: string, eventId: string, outcome: ReplyOutcome) => void;
  /** A reply was queued, started, ended or dropped: the bots' status (busy, queued) changed. */
  onQueueChange?: () => void;
  /** End-to-end encryption for every bot: its crypto store under <stateDir>/crypto/<id>, keys in these secrets. */
  encryption?: RunnerEncryption;
  /** MCP tools for the bots that list some in settings (the tools service). */
  tools?: BotTools;
}

export interface RunnerEncryption {
  secrets: SecretStore;
  /** How soon the crypto store is written after a change (ms); default 100. */
  flushDelayMs?: number;
  /** Shared with the owner's key device: the bots confirm the owner's verifications announced through it. */
  rendezvous?: SasRendezvous;
}

/** The secret names a bot's encryption uses (store key, backup key) and where its account password is. */
export function botCryptoSecrets(botId: string): { secretPrefix: string; password: string } {
  return { secretPrefix: `crypto.bot.${botId}`, password: accountSecretNames(`bot.${botId}`).password };
}

export interface BotStatus {
  id: string;
  userId: string;
  model: string;
  queued: number;
  running: number;
  answered: number;
  /** Mentions not queued since start (queue full, history too old); each was told with a notice. */
  refused: number;
}

export interface BotRunnerStatus {
  bots: BotStatus[];
  loopGuardTrips: { self: number; hops: number; budget: number };
  rateLimited: number;
  /** Sync gaps paged back from /messages since start, the events they held, and those that could not be filled. */
  gaps: { filled: number; recovered: number; failed: number };
}

export interface Worker {
  account: BotAccount;
  conn: BotConnection;
  state: BotStateStore;
  /** Mention id → the since-token of the batch it came in: the saved token must not pass it before it is answered. */
  unfinished: Map<string, string | undefined>;
  latestToken: string | undefined;
  /** Event id → the since-token of the batch this bot saw it in (recent events only). */
  sinceOf: Map<string, string | undefined>;
  /** Mentions refused with a notice since start. */
  refused: number;
  /** Set when the bot had never read its rooms before this start: history before it (minus the window) is skipped. */
  firstReadAt?: number;
}
