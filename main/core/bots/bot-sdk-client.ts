// The matrix-js-sdk client of one bot: a store that resumes from the saved sync token, the SDK's logging into
// pino, and every request through the app's one Matrix retry policy (homeserver/matrix-fetch.ts) with each
// /sync answer read for gaps (sync-gaps.ts) before the SDK sees it.
import { createClient, MemoryStore, type ICreateClientOpts, type MatrixClient } from 'matrix-js-sdk';
import { rateLimitedFetch } from '../homeserver/matrix-fetch.ts';
import type { Logger } from '../logging/logger.ts';
import { observeSyncGaps, type SyncGap } from './sync-gaps.ts';
import type { BotAccount } from './types.ts';

/** A MemoryStore that hands the SDK our persisted sync token, so a restart resumes where it stopped. */
export class ResumableStore extends MemoryStore {
  readonly #savedToken: string | undefined;
  constructor(savedToken: string | undefined) {
    super({ localStorage: undefined });
    this.#savedToken = savedToken;
  }
  override getSavedSyncToken(): Promise<string | null> {
    return Promise.resolve(this.#savedToken ?? null);
  }
}

/** The SDK's logger interface backed by pino; the SDK is chatty, so its info goes to debug. */
function sdkLogger(logger: Logger | undefined, name: string): NonNullable<ICreateClientOpts['logger']> {
  const fmt = (msg: unknown[]): string =>
    msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  const make = (ns: string): NonNullable<ICreateClientOpts['logger']> => ({
    trace: () => {},
    debug: () => {},
    info: (...m: unknown[]) => logger?.debug({ sdk: ns }, fmt(m)),
    warn: (...m: unknown[]) => logger?.debug({ sdk: ns }, fmt(m)),
    error: (...m: unknown[]) => logger?.warn({ sdk: ns }, fmt(m)),
    getChild: (child: string) => make(`${ns}.${child}`),
  });
  return make(name);
}

export interface BotSdkClientOptions {
  baseUrl: string;
  account: BotAccount;
  savedSyncToken?: string;
  /** The app passes its rate-limited Matrix fetch; any other fetch is given the same policy here. */
  fetchFn?: typeof globalThis.fetch;
  logger?: Logger;
  /** Builds the SDK client; replace it in tests. */
  createMatrixClient?: (opts: ICreateClientOpts) => MatrixClient;
}

/** The bot's SDK client (not started); `onGaps` hears of every gap a /sync answer leaves, before the SDK reads it. */
export function createBotSdkClient(options: BotSdkClientOptions, onGaps: (gaps: SyncGap[]) => void): MatrixClient {
  const { account } = options;
  // A 429 is waited out here and only here (a fetch that has the policy already is not wrapped twice).
  const fetchFn = rateLimitedFetch(
    options.fetchFn ?? globalThis.fetch.bind(globalThis),
    options.logger ? { logger: options.logger } : {},
  );
  const opts: ICreateClientOpts = {
    baseUrl: options.baseUrl,
    userId: account.userId,
    deviceId: account.deviceId,
    accessToken: account.accessToken,
    store: new ResumableStore(options.savedSyncToken),
    logger: sdkLogger(options.logger, account.id),
    useAuthorizationHeader: true,
    fetchFn: observeSyncGaps(fetchFn, onGaps),
  };
  return (options.createMatrixClient ?? createClient)(opts);
}
