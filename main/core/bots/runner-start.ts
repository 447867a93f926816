// Starting the runner's bots: each bot's connection made, every one prepared before any syncs, then all syncing.
import type { Logger } from '../logging/logger.ts';
import type { SyncHandlers } from './bot-client.ts';
import type { BotRunnerOptions, Worker } from './runner-types.ts';
import { createWorker } from './runner-workers.ts';

/**
 * Adds a worker to `workers` per bot account (as each is made, so a failed start can stop those made), then starts
 * them; a homeserver that never answers would keep the SDK retrying, so the host's `signal` ends the wait.
 */
export async function startWorkers(
  o: BotRunnerOptions,
  workers: Worker[],
  now: () => number,
  historyCutoffTs: () => number,
  handlers: (w: Worker) => SyncHandlers,
  signal: AbortSignal,
  log?: Logger,
): Promise<void> {
  for (const account of o.provision.bots) {
    if (signal.aborted) throw signal.reason;
    workers.push(await createWorker(o, account, now(), historyCutoffTs, log));
  }
  // Every bot knows its rooms before any syncs: the first bot to see a mention queues it for all.
  await Promise.all(workers.map((w) => w.conn.prepare()));
  if (signal.aborted) throw signal.reason;
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
  );
  aborted.catch(() => undefined); // the host aborts at shutdown too, long after start resolved
  await Promise.race([aborted, Promise.all(workers.map((w) => w.conn.start(handlers(w))))]);
}
