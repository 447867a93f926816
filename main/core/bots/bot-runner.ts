// The bot runner service: one Matrix connection per bot in this process, each mention turned into one
// queued reply per addressed bot (in the order mentioned), guarded against loops, floods and repeats.
import { join } from 'node:path';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import { BotConnection } from './bot-client.ts';
import { handleCommand } from './runner-commands.ts';
import type { Participant } from './context.ts';
import { LoopGuard } from './loop-guard.ts';
import { addressedBots, messageView, relationOf, type MentionTarget, type MessageView } from './mentions.ts';
import { parseCommand } from './commands.ts';
import { RoomQueues } from './queue.ts';
import { SenderRateLimiter, rateLimitNotice } from './rate-limit.ts';
import { admit, gapNotice, queueFullNotice, QueueFullNotices, SkippedHistory } from './notices.ts';
import { runReply } from './reply-job.ts';
import { botCryptoSecrets, type BotRunnerOptions, type BotRunnerStatus, type Worker } from './runner-types.ts';
import { BotStateStore } from './state-store.ts';
import { systemClock, type BotConfig, type Clock, type RawEvent } from './types.ts';

export { botCryptoSecrets, type BotRunnerOptions, type BotRunnerStatus, type BotStatus, type RunnerEncryption, type Worker } from './runner-types.ts';

export class BotRunner extends BaseService {
  readonly name = 'bots';
  readonly workers: Worker[] = [];
  readonly queue: RoomQueues;
  readonly guard: LoopGuard;
  readonly rateLimiter: SenderRateLimiter;
  readonly modelOverrides = new Map<string, string>();
  readonly #seen = new Set<string>();
  readonly #threads = new Map<string, string[]>();
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  #stopping = false;
  #paused = false;
  readonly #pauseNoticed = new Set<string>();
  readonly #queueFull = new QueueFullNotices();
  readonly #skipped: SkippedHistory;
  readonly #gaps = { filled: 0, recovered: 0, failed: 0 };
  /** Rooms told of a gap that could not be filled, and when: told again only after a quiet while. */
  readonly #gapNoticedAt = new Map<string, number>();
  /** Messages being routed (async): tokens are not saved meanwhile, so none passes an unqueued mention. */
  #routing = 0;

  readonly options: BotRunnerOptions;

  constructor(options: BotRunnerOptions) {
    super();
    this.options = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger?.child({ service: 'bots' });
    const g = options.getSettings().guard;
    this.guard = new LoopGuard({ maxHops: g.maxHops, roomTokensPerHour: g.roomTokensPerHour });
    this.rateLimiter = new SenderRateLimiter(g.rateLimit);
    this.queue = new RoomQueues({
      maxConcurrent: options.maxConcurrent ?? 2,
      onError: (job, err) => this.#log?.error({ bot: job.botId, event: job.eventId, err: errorMessage(err) }, 'reply job failed'),
      onChange: () => this.options.onQueueChange?.(),
    });
    this.#skipped = new SkippedHistory((botId, roomId, text) => this.#notice(botId, roomId, text));
  }

  /** Posts a notice as the bot (never addressed to a bot, never part of a model's context). */
  #notice(botId: string, roomId: string, body: string, extra: Record<string, unknown> = {}): void {
    const w = this.workers.find((x) => x.account.id === botId);
    if (!w || this.#stopping) return;
    w.conn.send(roomId, 'm.room.message', { msgtype: 'm.notice', body, 'm.mentions': {}, ...extra }).catch((err: unknown) => this.#log?.warn({ bot: botId, room: roomId, err: errorMessage(err) }, 'could not post a notice'));
  }

  /** Every mention ends in one of these, logged once with its event id. */
  #outcome(botId: string, roomId: string, eventId: string, outcome: 'answered' | 'failed' | 'stopped' | 'refused', reason?: string): void {
    this.#log?.info({ bot: botId, room: roomId, event: eventId, outcome, ...(reason ? { reason } : {}) }, `mention ${outcome}`);
  }

  /** While paused, mentions are not answered (and not queued for later); commands still work. */
  get paused(): boolean {
    return this.#paused;
  }

  set paused(value: boolean) {
    this.#paused = value;
    if (!value) this.#pauseNoticed.clear();
  }

  get botUserIds(): Set<string> {
    return new Set(this.options.provision.bots.map((b) => b.userId));
  }

  /** The bot's settings with any !model override applied; undefined when the bot is not configured. */
  botConfig(id: string): BotConfig | undefined {
    const bot = this.options.getSettings().bots.find((b) => b.id === id);
    const model = this.modelOverrides.get(id);
    return bot && model ? { ...bot, model } : bot;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
    try {
      for (const account of this.options.provision.bots) {
        if (signal.aborted) throw signal.reason;
        const state = new BotStateStore(this.options.stateDir, account.id);
        const enc = this.options.encryption;
        const names = botCryptoSecrets(account.id);
        const conn = new BotConnection({
          ...(enc
            ? { encryption: { storeDir: join(this.options.stateDir, 'crypto', account.id), secrets: enc.secrets, secretPrefix: names.secretPrefix, password: await enc.secrets.get(names.password), flushDelayMs: enc.flushDelayMs, ...(enc.rendezvous ? { owner: { userId: this.options.provision.owner.userId, rendezvous: enc.rendezvous } } : {}) } }
            : {}),
          baseUrl: this.options.provision.homeserverUrl,
          account,
          savedSyncToken: state.syncToken,
          fetchFn: this.options.fetchFn,
          logger: this.#log,
          createMatrixClient: this.options.createMatrixClient,
          historyCutoffTs: () => this.#clock.now() - this.#historyWindowMs(),
        });
        this.workers.push({ account, conn, state, unfinished: new Map(), latestToken: state.syncToken, sinceOf: new Map(), refused: 0, ...(state.syncedAt === undefined ? { firstReadAt: this.#clock.now() } : {}) });
      }
      // Every bot knows its rooms before any syncs: the first bot to see a mention queues it for all.
      await Promise.all(this.workers.map((w) => w.conn.prepare()));
      if (signal.aborted) throw signal.reason;
      // A homeserver that never answers would keep the SDK retrying: the host's signal ends the wait.
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
      aborted.catch(() => undefined); // the host aborts at shutdown too, long after start resolved
      await Promise.race([aborted, Promise.all(
        this.workers.map((w) =>
          w.conn.start({
            onEvent: (roomId, ev, since) => this.#onEvent(w, roomId, ev, since),
            onSynced: (token) => {
              w.latestToken = token;
              this.#saveToken(w);
            },
            onInvite: (roomId, inviter) => void this.#onInvite(w, roomId, inviter),
            onGapFilled: (_roomId, recovered) => {
              this.#gaps.filled++;
              this.#gaps.recovered += recovered;
            },
            onGapFailed: (f) => {
              this.#gaps.failed++;
              const last = this.#gapNoticedAt.get(f.roomId);
              if (last !== undefined && this.#clock.now() - last < 10 * 60_000) return;
              this.#gapNoticedAt.set(f.roomId, this.#clock.now());
              this.#notice(w.account.id, f.roomId, gapNotice(w.state.syncedAt, f.untilTs, f.reason));
            },
          }),
        ),
      )]);
      this.setState({ status: 'running', detail: `${this.workers.length} bots` });
      this.#resumePending();
    } catch (err) {
      this.#stopAll();
      this.setState({ status: 'failed', error: errorMessage(err), hint: 'Check that the homeserver runs and the bot accounts exist (agent-room serve re-provisions them).' });
      throw err;
    }
  }

  /**
   * Mentions that were queued or half-answered when the app stopped or crashed are routed again, whether
   * or not the saved sync token still lets the homeserver send them: a reply already begun is finished by
   * editing it, and the answered-set keeps anything from being answered twice.
   */
  #resumePending(): void {
    for (const w of this.workers) {
      for (const [eventId, roomId] of w.state.pendingEntries()) {
        if (this.#seen.has(eventId)) continue;
        void w.conn
          .fetchEvent(roomId, eventId)
          .then((ev) => {
            if (!ev || this.#stopping || this.#seen.has(eventId)) {
              if (!ev) w.state.markAnswered(eventId); // redacted or gone: nothing left to answer
              return;
            }
            const view = messageView(ev, this.botUserIds);
            if (!view) return w.state.markAnswered(eventId);
            this.#seen.add(ev.event_id);
            this.#log?.info({ bot: w.account.id, room: roomId, event: eventId }, 'resuming a mention left unanswered at the last stop');
            return this.#route(w, roomId, ev, view);
          })
          .catch((err: unknown) => this.#log?.warn({ bot: w.account.id, event: eventId, err: errorMessage(err) }, 'could not resume a pending mention'));
      }
    }
  }

  async stop(deadlineMs: number): Promise<void> {
    this.setState({ status: 'stopping' });
    this.#stopAll();
    await Promise.race([this.queue.idle(), new Promise((r) => setTimeout(r, Math.max(0, deadlineMs - 100)).unref())]);
    for (const w of this.workers) this.#saveToken(w);
    await Promise.all(this.workers.map((w) => w.conn.close().catch((err: unknown) => this.#log?.warn({ bot: w.account.id, err: errorMessage(err) }, 'could not save the crypto store'))));
    this.setState({ status: 'stopped' });
  }

  #stopAll(): void {
    this.#stopping = true;
    this.#skipped.stop();
    this.queue.stop();
    for (const w of this.workers) w.conn.stop();
  }

  status(): BotRunnerStatus {
    return {
      bots: this.workers.map((w) => ({
        id: w.account.id,
        userId: w.account.userId,
        model: this.botConfig(w.account.id)?.model ?? '(not configured)',
        ...this.queue.counts(w.account.id),
        answered: w.state.answeredCount,
        refused: w.refused,
      })),
      loopGuardTrips: { ...this.guard.trips },
      rateLimited: this.rateLimiter.limited,
      gaps: { ...this.#gaps },
    };
  }

  /** Saves the newest sync token that still replays every mention this bot has not finished. */
  #saveToken(w: Worker): void {
    if (this.#routing > 0) return;
    const pending = [...w.unfinished.values()];
    const token = pending.length > 0 ? pending[0] : w.latestToken;
    try {
      w.state.setSyncToken(token, this.#clock.now());
    } catch (err) {
      this.#log?.error({ bot: w.account.id, err: errorMessage(err) }, 'could not save the bot state');
    }
  }

  async #onInvite(w: Worker, roomId: string, inviter: string | undefined): Promise<void> {
    if (!inviter || !this.#allowedSender(inviter)) return;
    try {
      await w.conn.join(roomId);
    } catch (err) {
      this.#log?.warn({ bot: w.account.id, room: roomId, err: errorMessage(err) }, 'could not join on invite');
    }
  }

  #allowedSender(userId: string): boolean {
    const g = this.options.getSettings().guard;
    return userId === this.options.provision.owner.userId || g.allowedUsers.includes(userId) || this.botUserIds.has(userId);
  }

  #onEvent(w: Worker, roomId: string, ev: RawEvent, since: string | undefined): void {
    if (this.#stopping) return;
    const view = messageView(ev, this.botUserIds);
    // This bot's job for the event (queued by whichever bot saw it first) holds its sync token back.
    const triggerId = view?.triggerId ?? ev.event_id;
    if (this.queue.has(`${triggerId}|${w.account.id}`) && !w.unfinished.has(triggerId)) w.unfinished.set(triggerId, since);
    if (view?.fromBot && view.threadRoot) this.#noteThread(view.threadRoot, view.sender);
    w.sinceOf.set(triggerId, since);
    if (w.sinceOf.size > 2000) w.sinceOf.delete(w.sinceOf.keys().next().value as string);
    const firstSight = !this.#seen.has(ev.event_id);
    this.#seen.add(ev.event_id);
    if (!firstSight) return;
    if (ev.type === 'm.room.redaction' && ev.redacts) {
      const target = ev.redacts;
      if (this.queue.cancel((j) => j.eventId === target && j.roomId === roomId, 'redacted') > 0) this.#log?.info({ room: roomId, event: target }, 'mention redacted: reply cancelled');
      return;
    }
    if (!view || !this.#allowedSender(ev.sender)) return;
    this.#routing++;
    void this.#route(w, roomId, ev, view)
      .catch((err: unknown) => this.#log?.error({ room: roomId, event: ev.event_id, err: errorMessage(err) }, 'could not handle a message'))
      .finally(() => {
        this.#routing--;
        if (!this.#stopping) for (const x of this.workers) this.#saveToken(x);
      });
  }

  #historyWindowMs(): number {
    return this.options.getSettings().guard.ignoreHistoryOlderThanSeconds * 1000;
  }

  /**
   * A bot that never read the room before this start does not answer history older than the configured age (judged
   * from when it started, however long its first syncs take); after a restart all since the saved token is answered.
   */
  #tooOld(w: Worker, ts: number): boolean {
    if (w.firstReadAt !== undefined) return ts < w.firstReadAt - this.#historyWindowMs();
    const syncedAt = w.state.syncedAt;
    return ts < this.#clock.now() - this.#historyWindowMs() && (syncedAt === undefined || ts < syncedAt - 60_000);
  }

  #noteThread(root: string, userId: string): void {
    const list = this.#threads.get(root) ?? [];
    if (!list.includes(userId)) list.push(userId);
    this.#threads.set(root, list);
  }

  async #route(w: Worker, roomId: string, ev: RawEvent, view: MessageView): Promise<void> {
    const command = view.fromBot ? undefined : parseCommand(view.body);
    if (command) {
      // A command is not a mention: one from before a bot first read the room is history, not a request.
      const cw = this.#commandWorker(roomId) ?? w;
      return this.#tooOld(cw, ev.origin_server_ts) ? undefined : handleCommand(this, cw, roomId, view, command);
    }
    const bots: MentionTarget[] = this.options.provision.bots.map((b) => ({ id: b.id, userId: b.userId, displayName: b.displayName }));
    const g = this.options.getSettings().guard;
    const inReplyToSender = view.inReplyTo ? (await w.conn.fetchEvent(roomId, view.inReplyTo))?.sender : undefined;
    const members = await w.conn.joinedMembers(roomId);
    const direct = members.length === 2 && members.some((m) => m.userId === view.sender) ? members.find((m) => this.botUserIds.has(m.userId))?.userId : undefined;
    const threadParticipants = view.threadRoot ? await this.#threadParticipants(w, roomId, view.threadRoot) : undefined;
    const addressed = addressedBots(view, { bots, inReplyToSender, threadParticipants, directBotUserId: direct, allowDirectMessages: g.allowDirectMessages });
    const targets = addressed.map((b) => this.workers.find((x) => x.account.userId === b.userId)).filter((x): x is Worker => x !== undefined && x.conn.isJoined(roomId));
    if (targets.length === 0) return;
    if (this.paused) {
      // Paused from the tray or the chat window: nothing queued for later, one notice per room per pause.
      for (const t of targets) {
        t.state.markAnswered(view.triggerId);
        this.#outcome(t.account.id, roomId, view.triggerId, 'refused', 'paused');
      }
      if (!view.fromBot && !this.#pauseNoticed.has(roomId)) {
        this.#pauseNoticed.add(roomId);
        await targets[0]!.conn.send(roomId, 'm.room.message', { msgtype: 'm.notice', body: 'The bots are paused. Resume them from the tray menu or the status panel.' });
      }
      return;
    }
    if (!view.fromBot) {
      this.rateLimiter.setOptions(g.rateLimit);
      const rate = this.rateLimiter.check(view.sender, this.#clock.now());
      if (!rate.allowed) {
        for (const t of targets) {
          t.state.markAnswered(view.triggerId);
          this.#outcome(t.account.id, roomId, view.triggerId, 'refused', `rate limit (notice ${rate.notify ? 'sent' : 'sent earlier'})`);
        }
        if (rate.notify) {
          const name = members.find((m) => m.userId === view.sender)?.displayName ?? view.sender;
          await targets[0]!.conn.send(roomId, 'm.room.message', { msgtype: 'm.notice', body: rateLimitNotice(name, rate.retryAfterMs), 'm.relates_to': { 'm.in_reply_to': { event_id: view.triggerId } }, 'm.mentions': { user_ids: [view.sender] } });
        }
        return;
      }
    }
    this.guard.setLimits({ maxHops: g.maxHops, roomTokensPerHour: g.roomTokensPerHour });
    for (const t of targets) this.#enqueue(t, roomId, ev, view);
  }

  #enqueue(t: Worker, roomId: string, ev: RawEvent, view: MessageView): void {
    const botId = t.account.id;
    if (t.state.isAnswered(view.triggerId)) return;
    if (this.#tooOld(t, ev.origin_server_ts)) {
      t.state.markAnswered(view.triggerId);
      t.refused++;
      this.#outcome(botId, roomId, view.triggerId, 'refused', 'older than the history window at first join');
      if (!view.fromBot) this.#skipped.add(botId, roomId, ev.origin_server_ts, this.#historyWindowMs());
      return;
    }
    if (!this.#admitted(t, roomId, view)) return;
    const decision = this.guard.check({ roomId, botUserId: t.account.userId, sender: view.sender, senderIsBot: view.fromBot, triggerId: view.triggerId, turn: view.turn }, this.#clock.now());
    if (!decision.ok) {
      this.#outcome(botId, roomId, view.triggerId, 'refused', `loop guard: ${decision.reason}`);
      t.state.markAnswered(view.triggerId);
      return;
    }
    const key = `${view.triggerId}|${botId}`;
    t.state.setPending(view.triggerId, roomId);
    const g0 = this.options.getSettings().guard;
    const queued = this.queue.enqueue({
      key,
      roomId,
      eventId: view.triggerId,
      botId,
      lane: g0.parallelBots ? `${roomId}\u0000${botId}` : roomId,
      run: async (signal) => {
        try {
          const bot = this.botConfig(botId);
          if (!bot) throw new Error(`The bot ${botId} has an account but no settings; add it under bots in settings.`);
          const g = this.options.getSettings().guard;
          // Its room key may still be on its way (from key backup or the sender): the reply needs the message.
          if (!(await t.conn.waitReadable(roomId, view.triggerId, 20_000, signal))) this.#log?.warn({ bot: botId, event: view.triggerId }, 'answering without being able to read the message');
          const outcome = await runReply({ roomId, trigger: view, cutoffTs: ev.origin_server_ts, turn: decision.turn }, {
            conn: t.conn, state: t.state, bot, displayName: t.account.displayName, inference: this.options.inference, guard: this.guard, clock: this.#clock,
            logger: this.#log, participants: (r) => this.participants(t, r), contextMessages: g.contextMessages, promptTokens: this.options.promptTokens ?? 3072, editsPerSecond: g.editsPerSecond,
          }, signal);
          if (outcome.kind !== 'shutdown') {
            t.unfinished.delete(view.triggerId);
            this.#outcome(botId, roomId, view.triggerId, outcome.kind === 'done' ? 'answered' : outcome.kind === 'cancelled' ? 'stopped' : 'failed');
          }
          this.options.onReply?.(botId, view.triggerId, outcome);
        } finally {
          if (!this.#stopping) this.#saveToken(t);
          this.#roomMayHaveSpace(roomId);
        }
      },
    });
    if (queued && !t.unfinished.has(view.triggerId)) t.unfinished.set(view.triggerId, t.sinceOf.has(view.triggerId) ? t.sinceOf.get(view.triggerId) : t.latestToken);
  }

  /** Backpressure: beyond the queue limits a mention is refused, and its sender told once per burst. */
  #admitted(t: Worker, roomId: string, view: MessageView): boolean {
    const g = this.options.getSettings().guard;
    const room = this.queue.counts(undefined, roomId);
    const all = this.queue.counts();
    const a = admit(room.queued + room.running, all.queued + all.running, g);
    if (a.ok) return true;
    t.state.markAnswered(view.triggerId);
    t.refused++;
    this.#outcome(t.account.id, roomId, view.triggerId, 'refused', `queue full (${a.scope}, ${a.limit})`);
    if (!view.fromBot && this.#queueFull.shouldTell(roomId, view.sender)) {
      void t.conn.joinedMembers(roomId).then((members) => {
        const name = members.find((m) => m.userId === view.sender)?.displayName ?? view.sender;
        this.#notice(t.account.id, roomId, queueFullNotice(name, a.scope, a.limit), { 'm.relates_to': { 'm.in_reply_to': { event_id: view.triggerId } }, 'm.mentions': { user_ids: [view.sender] } });
      }, () => undefined);
    }
    return false;
  }

  #roomMayHaveSpace(roomId: string): void {
    const c = this.queue.counts(undefined, roomId);
    if (c.queued + c.running < this.options.getSettings().guard.maxQueuedPerRoom) this.#queueFull.roomHasSpace(roomId);
  }

  async participants(w: Worker, roomId: string): Promise<Participant[]> {
    const members = await w.conn.joinedMembers(roomId);
    return members.map((m) => {
      const bot = this.options.provision.bots.find((b) => b.userId === m.userId);
      const model = bot ? this.botConfig(bot.id)?.model : undefined;
      return { userId: m.userId, displayName: bot?.displayName ?? m.displayName, ...(model ? { model } : {}) };
    });
  }

  async #threadParticipants(w: Worker, roomId: string, root: string): Promise<string[]> {
    if (!this.#threads.has(root)) {
      // After a restart the thread's history is not in memory: read it once from the homeserver.
      for (const e of await w.conn.recentEvents(roomId, 100)) {
        const rel = relationOf(e.content);
        if ((e.event_id === root || (rel.relType === 'm.thread' && rel.eventId === root)) && this.botUserIds.has(e.sender)) this.#noteThread(root, e.sender);
      }
    }
    return this.#threads.get(root) ?? [];
  }

  /** Commands are answered once per room, by the first configured bot that is in it. */
  #commandWorker(roomId: string): Worker | undefined {
    return this.workers.find((w) => w.conn.isJoined(roomId));
  }

  /** Aborts every running or waiting reply in the room (!stop). */
  stopRoom(roomId: string): number {
    return this.queue.cancel((j) => j.roomId === roomId, 'stopped');
  }
}
