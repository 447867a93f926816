// The bot runner: one Matrix connection per bot in this process (the bots service starts it), each mention turned
// into one queued reply per addressed bot (in the order mentioned), guarded against loops, floods and repeats. Who
// answers is decided in routing.ts and carried out in runner-route.ts; this file owns the state and wires the parts.
import { attachmentOf } from '../attachments/attachment-event.ts';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import { parseCommand } from './commands.ts';
import type { Participant } from './context.ts';
import { LoopGuard } from './loop-guard.ts';
import { messageView, type MessageView } from './mentions.ts';
import { Backpressure } from './backpressure.ts';
import { GapNotices, gapNotice, SkippedHistory } from './notices.ts';
import { RoomQueues } from './queue.ts';
import { SenderRateLimiter } from './rate-limit.ts';
import { runCommand, type CommandContext } from './runner-commands.ts';
import { pipelineCommand, type PipelineRun } from './runner-pipeline.ts';
import type { BotRunnerOptions, BotRunnerStatus, Worker } from './runner-types.ts';
import { answerMention, endUnstarted, type JobContext } from './runner-job.ts';
import { admitReply, allowedSender, joinOnInvite, routeMention, type RouteContext } from './runner-route.ts';
import { startWorkers } from './runner-start.ts';
import { Approvals, mayApprove } from './tool-approval.ts';
import {
  botStatus,
  closeConnections,
  noteEvent,
  participants,
  resumePending,
  saveToken,
  ThreadMembers,
  tooOld,
} from './runner-workers.ts';
import { systemClock, type BotConfig, type Clock, type RawEvent } from './types.ts';

export {
  botCryptoSecrets,
  type BotRunnerOptions,
  type BotRunnerStatus,
  type BotStatus,
  type RunnerEncryption,
  type Worker,
} from './runner-types.ts';

export class BotRunner extends BaseService {
  readonly name = 'bots';
  readonly workers: Worker[] = [];
  readonly #queue: RoomQueues;
  readonly #guard: LoopGuard;
  readonly rateLimiter: SenderRateLimiter;
  readonly #modelOverrides = new Map<string, string>();
  readonly #seen = new Set<string>();
  readonly #threads = new ThreadMembers();
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  #stopping = false;
  /** Rooms told of the pause, with the pause they were told of (its start). */
  readonly #pauseNoticed = new Map<string, number>();
  readonly #backpressure: Backpressure;
  readonly #skipped: SkippedHistory;
  readonly #gaps = new GapNotices();
  /** Messages being routed (async): tokens are not saved meanwhile, so none passes an unqueued mention. */
  #routing = 0;

  readonly #options: BotRunnerOptions;
  /** What routing and reply jobs need of the runner: built once, they hold its parts by reference. */
  readonly #routeCtx: RouteContext;
  readonly #jobCtx: JobContext;
  /** Tool calls waiting for the person's ✅ / ❌ in the rooms. */
  readonly approvals = new Approvals((u) =>
    mayApprove(u, this.#options.provision.owner.userId, this.#options.getSettings().guard.allowedUsers),
  );

  constructor(options: BotRunnerOptions) {
    super();
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger?.child({ service: 'bots' });
    const g = options.getSettings().guard;
    this.#guard = new LoopGuard({ maxHops: g.maxHops, roomTokensPerHour: g.roomTokensPerHour });
    this.rateLimiter = new SenderRateLimiter(g.rateLimit);
    this.#queue = new RoomQueues({
      maxConcurrent: options.maxConcurrent ?? 2,
      onError: (job, err) =>
        this.#log?.error({ bot: job.botId, event: job.eventId, err: errorMessage(err) }, 'reply job failed'),
      onChange: () => this.#options.onQueueChange?.(),
    });
    this.#backpressure = new Backpressure(
      this.#queue,
      () => this.#options.getSettings().guard,
      (botId, roomId, body, extra) => this.#notice(botId, roomId, body, extra),
    );
    this.#skipped = new SkippedHistory((botId, roomId, text) => this.#notice(botId, roomId, text));
    this.botUserIds = new Set(options.provision.bots.map((b) => b.userId));
    this.#routeCtx = this.#makeRouteContext();
    this.#jobCtx = this.#makeJobContext();
  }

  /** Posts a notice as the bot (never addressed to a bot, never part of a model's context). */
  #notice(botId: string, roomId: string, body: string, extra: Record<string, unknown> = {}): void {
    const w = this.workers.find((x) => x.account.id === botId);
    if (!w || this.#stopping) return;
    w.conn
      .send(roomId, 'm.room.message', { msgtype: 'm.notice', body, 'm.mentions': {}, ...extra })
      .catch((err: unknown) =>
        this.#log?.warn({ bot: botId, room: roomId, err: errorMessage(err) }, 'could not post a notice'),
      );
  }

  /** The bots' user ids: fixed for the runner's life (a team change restarts it). */
  readonly botUserIds: ReadonlySet<string>;

  /** The bot's settings with any !model override applied; undefined when the bot is not configured. */
  botConfig(id: string): BotConfig | undefined {
    const bot = this.#options.getSettings().bots.find((b) => b.id === id);
    const model = this.#modelOverrides.get(id);
    return bot && model ? { ...bot, model } : bot;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
    try {
      await startWorkers(
        this.#options,
        this.workers,
        () => this.#clock.now(),
        () => this.#clock.now() - this.#historyWindowMs(),
        (w) => ({
          onEvent: (roomId, ev, since) => this.#onEvent(w, roomId, ev, since),
          onSynced: (token) => {
            w.latestToken = token;
            this.#saveToken(w);
          },
          onInvite: (roomId, inviter) => void joinOnInvite(this.#routeCtx, w, roomId, inviter),
          onGapFilled: (_roomId, recovered) => this.#gaps.filled(recovered),
          onGapFailed: (f) => this.#onGapFailed(w, f),
        }),
        signal,
        this.#log,
      );
      this.setState({ status: 'running', detail: `${this.workers.length} bots` });
      this.#resumePending();
    } catch (err) {
      this.#stopAll();
      this.setState({
        status: 'failed',
        error: errorMessage(err),
        hint: 'Check that the homeserver runs and the bot accounts exist (agent-room serve re-provisions them).',
      });
      throw err;
    }
  }

  /** A gap that could not be paged back: the room is told once in a quiet while, with the time it covers. */
  #onGapFailed(w: Worker, f: { roomId: string; untilTs?: number | undefined; reason: string }): void {
    if (this.#gaps.failed(f.roomId, this.#clock.now()))
      this.#notice(w.account.id, f.roomId, gapNotice(w.state.syncedAt, f.untilTs, f.reason));
  }

  /** Mentions left queued or half-answered at the last stop or crash are routed again (see resumePending). */
  #resumePending(): void {
    for (const w of this.workers) {
      resumePending(
        w,
        this.botUserIds,
        (id) => this.#stopping || this.#seen.has(id),
        (roomId, ev, view) => {
          this.#seen.add(ev.event_id);
          return this.#route(w, roomId, ev, view);
        },
        this.#log,
      );
    }
  }

  async stop(deadlineMs: number): Promise<void> {
    this.setState({ status: 'stopping' });
    this.#stopAll();
    await Promise.race([this.#queue.idle(), new Promise((r) => setTimeout(r, Math.max(0, deadlineMs - 100)).unref())]);
    for (const w of this.workers) this.#saveToken(w);
    await closeConnections(this.workers, this.#log);
    this.setState({ status: 'stopped' });
  }

  #stopAll(): void {
    this.#stopping = true;
    this.#skipped.stop();
    this.#queue.stop();
    for (const w of this.workers) w.conn.stop();
  }

  status(): BotRunnerStatus {
    const bots = this.workers.map((w) =>
      botStatus(w, this.botConfig(w.account.id)?.model, this.#queue.counts(w.account.id)),
    );
    return {
      bots,
      loopGuardTrips: { ...this.#guard.trips },
      rateLimited: this.rateLimiter.limited,
      gaps: { ...this.#gaps.counts },
    };
  }

  /** Saves the newest sync token that still replays every mention this bot has not finished. */
  #saveToken(w: Worker): void {
    if (this.#routing === 0) saveToken(w, this.#clock.now(), this.#log);
  }

  #onEvent(w: Worker, roomId: string, ev: RawEvent, since: string | undefined): void {
    if (this.#stopping) return;
    const view = messageView(ev, this.botUserIds);
    noteEvent(w, ev, view, since, (key) => this.#queue.has(key), this.#threads);
    const firstSight = !this.#seen.has(ev.event_id);
    this.#seen.add(ev.event_id);
    if (!firstSight) return;
    this.approvals.onEvent(roomId, ev);
    if (ev.type === 'm.room.redaction' && ev.redacts) {
      const target = ev.redacts;
      if (this.#queue.cancel((j) => j.eventId === target && j.roomId === roomId, 'redacted') > 0)
        this.#log?.info({ room: roomId, event: target }, 'mention redacted: reply cancelled');
      return;
    }
    if (!view || !allowedSender(this.#routeCtx, ev.sender)) return;
    this.#routing++;
    void this.#route(w, roomId, ev, view)
      .catch((err: unknown) =>
        this.#log?.error({ room: roomId, event: ev.event_id, err: errorMessage(err) }, 'could not handle a message'),
      )
      .finally(() => {
        this.#routing--;
        if (!this.#stopping) for (const x of this.workers) this.#saveToken(x);
      });
  }

  #historyWindowMs(): number {
    return this.#options.getSettings().guard.ignoreHistoryOlderThanSeconds * 1000;
  }

  async #route(w: Worker, roomId: string, ev: RawEvent, view: MessageView): Promise<void> {
    const command = view.fromBot ? undefined : parseCommand(view.body);
    if (command) {
      // Answered once per room, by the first configured bot in it. A command is not a mention: one from before a bot
      // first read the room is history, not a request.
      const cw = this.workers.find((x) => x.conn.isJoined(roomId)) ?? w;
      if (tooOld(cw, ev.origin_server_ts, this.#clock.now(), this.#historyWindowMs())) return;
      // !run is routed to the first bot as its reply (paused and rate limits apply); other commands answer at once.
      const attached = view.inReplyTo !== undefined || attachmentOf(ev) !== undefined;
      const c = pipelineCommand(command, this.#options.getSettings().pipelines, attached);
      return 'run' in c
        ? routeMention(this.#routeCtx, w, roomId, view, (t) => this.#enqueue(t, roomId, ev, view, c.run), cw)
        : runCommand(this.#commandContext(), cw, roomId, view, c.command);
    }
    return routeMention(this.#routeCtx, w, roomId, view, (t) => this.#enqueue(t, roomId, ev, view));
  }

  #makeRouteContext(): RouteContext {
    return {
      options: this.#options,
      clock: this.#clock,
      log: this.#log,
      guard: this.#guard,
      rateLimiter: this.rateLimiter,
      backpressure: this.#backpressure,
      skipped: this.#skipped,
      threads: this.#threads,
      pauseNoticed: this.#pauseNoticed,
      workers: this.workers,
      botUserIds: this.botUserIds,
      historyWindowMs: () => this.#historyWindowMs(),
    };
  }

  /** What the room commands may see and do of this runner. */
  #commandContext(): CommandContext {
    return {
      bots: this.#options.provision.bots.map((b) => ({
        id: b.id,
        userId: b.userId,
        displayName: b.displayName,
        model: this.botConfig(b.id)?.model ?? '(not configured)',
      })),
      listModels: async () => (await this.#options.inference.listModels?.())?.map((m) => m.ref) ?? [],
      setModel: async (botId, model) => {
        this.#modelOverrides.set(botId, model);
        await this.#options.onModelChange?.(botId, model);
      },
      status: () => this.status(),
      roomTokensLastHour: (roomId) => this.#guard.usedTokens(roomId, Date.now()),
      stopRoom: (roomId) => this.stopRoom(roomId),
      why: (roomId) => this.#options.inference.explain?.(roomId),
      cost: () => this.#options.inference.costText?.(),
      decide: (roomId, sender, allow) => this.approvals.decide(roomId, sender, allow),
    };
  }

  #makeJobContext(): JobContext {
    return {
      options: this.#options,
      guard: this.#guard,
      clock: this.#clock,
      log: this.#log,
      botConfig: (id) => this.botConfig(id),
      participants: (w, r) => this.participants(w, r),
      approvals: this.approvals,
    };
  }

  #enqueue(t: Worker, roomId: string, ev: RawEvent, view: MessageView, run?: PipelineRun): void {
    const turn = admitReply(this.#routeCtx, t, roomId, ev, view);
    if (!turn) return;
    const botId = t.account.id;
    const key = `${view.triggerId}|${botId}`;
    t.state.setPending(view.triggerId, roomId);
    const g0 = this.#options.getSettings().guard;
    const queued = this.#queue.enqueue({
      key,
      roomId,
      eventId: view.triggerId,
      botId,
      lane: g0.parallelBots ? `${roomId}\u0000${botId}` : roomId,
      run: async (signal) => {
        try {
          await answerMention(this.#jobCtx, t, { roomId, ev, view, turn, run }, signal);
        } finally {
          this.#jobEnded(t, roomId);
        }
      },
      dropped: (reason) => {
        if (reason !== 'shutdown') endUnstarted(this.#log, t, roomId, view.triggerId, reason);
        this.#jobEnded(t, roomId);
      },
    });
    if (queued && !t.unfinished.has(view.triggerId))
      t.unfinished.set(view.triggerId, t.sinceOf.has(view.triggerId) ? t.sinceOf.get(view.triggerId) : t.latestToken);
  }

  #jobEnded(t: Worker, roomId: string): void {
    if (!this.#stopping) this.#saveToken(t);
    this.#backpressure.replyEnded(roomId);
  }

  participants(w: Worker, roomId: string): Promise<Participant[]> {
    return participants(w, roomId, this.#options.provision.bots, (id) => this.botConfig(id)?.model);
  }

  /** Aborts every running or waiting reply in the room (!stop). */
  stopRoom(roomId: string): number {
    return this.#queue.cancel((j) => j.roomId === roomId, 'stopped');
  }
}
