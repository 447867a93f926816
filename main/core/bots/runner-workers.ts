// The runner's per-bot parts: a worker (its Matrix connection, saved state and unfinished mentions) and its
// bookkeeping of synced events, the history window a bot new to a room keeps to, and the bots in each thread.
import { join } from 'node:path';
import { errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import { BotConnection } from './bot-client.ts';
import type { Participant } from './context.ts';
import { messageView, relationOf, type MessageView } from './mentions.ts';
import { botCryptoSecrets, type BotRunnerOptions, type BotStatus, type Worker } from './runner-types.ts';
import { BotStateStore } from './state-store.ts';
import type { BotAccount, RawEvent } from './types.ts';

export async function createWorker(
  o: BotRunnerOptions,
  account: BotAccount,
  now: number,
  historyCutoffTs: () => number,
  log?: Logger,
): Promise<Worker> {
  const state = new BotStateStore(o.stateDir, account.id);
  const enc = o.encryption;
  const names = botCryptoSecrets(account.id);
  const encryption = enc && {
    storeDir: join(o.stateDir, 'crypto', account.id),
    secrets: enc.secrets,
    secretPrefix: names.secretPrefix,
    password: await enc.secrets.get(names.password),
    flushDelayMs: enc.flushDelayMs,
    ...(enc.rendezvous ? { owner: { userId: o.provision.owner.userId, rendezvous: enc.rendezvous } } : {}),
  };
  const conn = new BotConnection({
    ...(encryption ? { encryption } : {}),
    baseUrl: o.provision.homeserverUrl,
    account,
    savedSyncToken: state.syncToken,
    fetchFn: o.fetchFn,
    logger: log,
    createMatrixClient: o.createMatrixClient,
    historyCutoffTs,
  });
  return {
    account,
    conn,
    state,
    unfinished: new Map(),
    latestToken: state.syncToken,
    sinceOf: new Map(),
    refused: 0,
    ...(state.syncedAt === undefined ? { firstReadAt: now } : {}),
  };
}

/**
 * A bot that never read the room before this start does not answer history older than the configured age (judged
 * from when it started, however long its first syncs take); after a restart all since the saved token is answered.
 */
export function tooOld(w: Worker, ts: number, now: number, windowMs: number): boolean {
  if (w.firstReadAt !== undefined) return ts < w.firstReadAt - windowMs;
  const syncedAt = w.state.syncedAt;
  return ts < now - windowMs && (syncedAt === undefined || ts < syncedAt - 60_000);
}

/** The bots that took part in each thread, in the order they joined it: a person's thread message addresses them. */
export class ThreadMembers {
  readonly #threads = new Map<string, string[]>();

  note(root: string, userId: string): void {
    const list = this.#threads.get(root) ?? [];
    if (!list.includes(userId)) list.push(userId);
    this.#threads.set(root, list);
  }

  async of(w: Worker, roomId: string, root: string, botUserIds: ReadonlySet<string>): Promise<string[]> {
    if (!this.#threads.has(root)) {
      // After a restart the thread's history is not in memory: read it once from the homeserver. A thread with no
      // bot in it is remembered as such (bots that join it later are noted as their messages arrive), so each person's
      // message there does not read the history again.
      const found: string[] = [];
      for (const e of await w.conn.recentEvents(roomId, 100)) {
        const rel = relationOf(e.content);
        const inThread = e.event_id === root || (rel.relType === 'm.thread' && rel.eventId === root);
        if (inThread && botUserIds.has(e.sender) && !found.includes(e.sender)) found.push(e.sender);
      }
      for (const id of this.#threads.get(root) ?? []) if (!found.includes(id)) found.push(id);
      this.#threads.set(root, found);
    }
    return this.#threads.get(root) ?? [];
  }
}

/**
 * Mentions that were queued or half-answered when the app stopped or crashed are routed again, whether or not the
 * saved sync token still lets the homeserver send them: a reply already begun is finished by editing it, and the
 * answered-set keeps anything from being answered twice. `skip`: already seen (or stopping).
 */
export function resumePending(
  w: Worker,
  botUserIds: ReadonlySet<string>,
  skip: (eventId: string) => boolean,
  route: (roomId: string, ev: RawEvent, view: MessageView) => Promise<void>,
  log?: Logger,
): void {
  for (const [eventId, roomId] of w.state.pendingEntries()) {
    if (skip(eventId)) continue;
    void w.conn
      .fetchEvent(roomId, eventId)
      .then((ev) => {
        if (!ev) return w.state.markAnswered(eventId); // redacted or gone: nothing left to answer
        if (skip(eventId)) return;
        const view = messageView(ev, new Set(botUserIds));
        if (!view) return w.state.markAnswered(eventId);
        log?.info(
          { bot: w.account.id, room: roomId, event: eventId },
          'resuming a mention left unanswered at the last stop',
        );
        return route(roomId, ev, view);
      })
      .catch((err: unknown) =>
        log?.warn({ bot: w.account.id, event: eventId, err: errorMessage(err) }, 'could not resume a pending mention'),
      );
  }
}

/** The room's members as a model sees them: bots by their display name and model. */
export async function participants(
  w: Worker,
  roomId: string,
  bots: readonly BotAccount[],
  modelOf: (botId: string) => string | undefined,
): Promise<Participant[]> {
  const members = await w.conn.joinedMembers(roomId);
  return members.map((m) => {
    const bot = bots.find((b) => b.userId === m.userId);
    const model = bot ? modelOf(bot.id) : undefined;
    return { userId: m.userId, displayName: bot?.displayName ?? m.displayName, ...(model ? { model } : {}) };
  });
}

/**
 * Notes a synced event in the bot's bookkeeping: its job for the event (queued by whichever bot saw it first) holds
 * its sync token back, a bot's message in a thread adds that bot to the thread, and the batch it came in is kept.
 */
export function noteEvent(
  w: Worker,
  ev: RawEvent,
  view: MessageView | undefined,
  since: string | undefined,
  isQueued: (key: string) => boolean,
  threads: ThreadMembers,
): void {
  const triggerId = view?.triggerId ?? ev.event_id;
  if (isQueued(`${triggerId}|${w.account.id}`) && !w.unfinished.has(triggerId)) w.unfinished.set(triggerId, since);
  if (view?.fromBot && view.threadRoot) threads.note(view.threadRoot, view.sender);
  w.sinceOf.set(triggerId, since);
  if (w.sinceOf.size > 2000) w.sinceOf.delete(w.sinceOf.keys().next().value as string);
}

/** Saves the newest sync token that still replays every mention this bot has not finished. */
export function saveToken(w: Worker, now: number, log?: Logger): void {
  const pending = [...w.unfinished.values()];
  const token = pending.length > 0 ? pending[0] : w.latestToken;
  try {
    w.state.setSyncToken(token, now);
  } catch (err) {
    log?.error({ bot: w.account.id, err: errorMessage(err) }, 'could not save the bot state');
  }
}

export function botStatus(
  w: Worker,
  model: string | undefined,
  counts: { queued: number; running: number },
): BotStatus {
  return {
    id: w.account.id,
    userId: w.account.userId,
    model: model ?? '(not configured)',
    ...counts,
    answered: w.state.answeredCount,
    refused: w.refused,
  };
}

/** Closes every bot's connection (its crypto store is saved then); a failure is logged, the others still close. */
export async function closeConnections(workers: readonly Worker[], log?: Logger): Promise<void> {
  await Promise.all(
    workers.map((w) =>
      w.conn
        .close()
        .catch((err: unknown) =>
          log?.warn({ bot: w.account.id, err: errorMessage(err) }, 'could not save the crypto store'),
        ),
    ),
  );
}
