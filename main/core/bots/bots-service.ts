// The bot runner as a service: started once provisioning has produced the accounts and the room, with what runs
// in the background after each start in an encrypted team (late bots invited with the history keys, the owner
// vouching for the bots), per-bot reply stats for the status view, and pause.
import { MatrixError } from 'matrix-js-sdk';
import { inviteLateBots } from './bot-crypto-wiring.ts';
import { BotRunner } from './bot-runner.ts';
import { sleep } from '../async.ts';
import type { BotInference } from './types.ts';
import { plainBody } from './markdown.ts';
import type { BotTools } from './tool-call.ts';
import { costText } from '../inference/budget.ts';
import { whyText } from '../inference/why.ts';
import type { InferenceService } from '../inference/inference-service.ts';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import { SasRendezvous, vouchForBots, type VouchResult } from '../provisioning/owner-trust.ts';
import type { ProvisioningService } from '../provisioning/provisioner.ts';
import type { EventHub } from '../control/event-hub.ts';
import type { Logger } from '../logging/logger.ts';
import type { DataPaths } from '../paths.ts';
import type { SecretStore } from '../settings/secret-store.ts';
import type { SettingsStore } from '../settings/settings-store.ts';

/** The wait a 429 M_LIMIT_EXCEEDED asks for (at least 1 s, at most 20 min); undefined for any other failure. */
export function rateLimitWait(err: unknown): number | undefined {
  if (!(err instanceof MatrixError) || err.httpStatus !== 429) return undefined;
  const asked = (err.data as { retry_after_ms?: unknown } | undefined)?.retry_after_ms;
  return Math.min(20 * 60_000, Math.max(1000, typeof asked === 'number' ? asked + 500 : 60_000));
}

export interface ReplyStats {
  lastLatencyMs?: number;
  tokensPerSecond?: number;
}

/** Adapts the inference router to what the bot runner asks of inference. */
function botInference(inference: InferenceService): BotInference {
  return {
    chat: (req) =>
      inference.router.chat({
        bot: req.bot,
        messages: req.messages,
        sampling: req.sampling,
        signal: req.signal,
        ...(req.context ? { context: req.context } : {}),
        ...(req.question !== undefined ? { question: req.question } : {}),
        ...(req.jsonSchema ? { jsonSchema: req.jsonSchema } : {}),
        ...(req.onDecision ? { onDecision: req.onDecision } : {}),
        ...(req.tools ? { tools: req.tools } : {}),
      }),
    countTokens: (bot, text) => inference.router.countTokens(bot.model, text),
    promptBudget: (bot, signal, question) =>
      inference.router.promptBudget(bot, { ...(signal ? { signal } : {}), ...(question ? { prompt: question } : {}) }),
    imageSupport: (bot, signal) => inference.router.imageSupport(bot, signal),
    listModels: (signal) => inference.listModels(signal),
    explain: (roomId) => {
      const d = inference.router.lastDecision(roomId);
      return d ? whyText(d) : undefined;
    },
    costText: () => costText(inference.router.spend()),
  };
}

/** What the bots service needs of the app (the app's Matrix services pass theirs). */
export interface BotsServiceOptions {
  paths: Pick<DataPaths, 'state'>;
  logger: Logger;
  settings: SettingsStore;
  secrets: SecretStore;
  inference: InferenceService;
  events: EventHub;
  fetch?: typeof fetch;
  /** Called when something the status shows changed outside the services' states (a reply's stats, the queue). */
  onStatusChange?: () => void;
  /** Waits before the late-bot invite is tried again; default 5 s then 30 s. */
  inviteRetryDelaysMs?: number[];
  /** The MCP tools service, for bots with tools. */
  tools?: BotTools;
}

/** Starts the bot runner once provisioning has produced the accounts and the room. */
export class BotsService extends BaseService {
  readonly name = 'bots';
  runner: BotRunner | undefined;
  readonly stats = new Map<string, ReplyStats>();
  /** The owner's verification of the bots after the last start (tests and status wait on it). */
  ownerTrust: Promise<VouchResult | undefined> | undefined;
  readonly #rendezvous = new SasRendezvous();
  /** Aborted at stop: the background work of the last start (owner's verification, late invites) ends. */
  #background = new AbortController();
  /** When the bots were paused (tray, status panel); the runner refuses mentions meanwhile. The one pause flag. */
  #pausedSince: number | undefined;

  get paused(): boolean {
    return this.#pausedSince !== undefined;
  }

  set paused(value: boolean) {
    if (value !== this.paused) this.#pausedSince = value ? Date.now() : undefined;
  }

  constructor(
    private readonly o: BotsServiceOptions,
    private readonly provisioning: ProvisioningService,
  ) {
    super();
  }

  async start(signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
    // This start's background work; a stop() from here on aborts it, even before it begins.
    const background = new AbortController();
    this.#background = background;
    this.ownerTrust = undefined;
    const provision = this.provisioning.result;
    if (!provision) {
      const error = 'The bots cannot start: the homeserver or provisioning failed (see those services).';
      this.setState({ status: 'failed', error, hint: 'Fix the homeserver first; the bots start with it.' });
      throw new Error(error);
    }
    const runner = new BotRunner({
      provision,
      getSettings: () => this.o.settings.get(),
      inference: botInference(this.o.inference),
      stateDir: this.o.paths.state,
      logger: this.o.logger,
      ...(this.o.fetch ? { fetchFn: this.o.fetch } : {}),
      // Rust crypto for every bot unless the person turned encryption off: an encrypted team room needs it, and
      // so does a direct message from Element (encrypted by default). Unencrypted rooms keep the plain path.
      ...(provision.encrypted || this.o.settings.get().room.encrypted !== false
        ? { encryption: { secrets: this.o.secrets, rendezvous: this.#rendezvous } }
        : {}),
      onModelChange: (botId, model) => {
        this.o.settings.update((s) => ({ ...s, bots: s.bots.map((b) => (b.id === botId ? { ...b, model } : b)) }));
      },
      onReply: (botId, eventId, outcome) => {
        const bot = this.o.settings.get().bots.find((b) => b.id === botId);
        if (outcome.kind === 'done' && outcome.stats) {
          this.stats.set(botId, {
            lastLatencyMs: Math.round(outcome.stats.timeToFirstTokenMs),
            tokensPerSecond: Math.round(outcome.stats.tokensPerSecond * 10) / 10,
          });
        }
        this.o.events.emit('bots.replied', {
          botId,
          displayName: bot?.displayName ?? botId,
          roomId: provision.roomId,
          eventId: outcome.kind === 'done' && outcome.replyId ? outcome.replyId : eventId,
          preview: plainBody(outcome.text).slice(0, 140),
        });
        this.o.onStatusChange?.();
      },
      // Busy and queued follow each reply: the chat window's status ends with the reply, not at the next change.
      onQueueChange: () => this.o.onStatusChange?.(),
      pausedSince: () => this.#pausedSince,
      ...(this.o.tools ? { tools: this.o.tools } : {}),
    });
    this.runner = runner;
    runner.onStateChange((s) => this.setState(s));
    try {
      await runner.start(signal);
    } catch (err) {
      this.setState({ status: 'failed', error: errorMessage(err) });
      throw err;
    }
    // A stop during the start: no background work, and the state stays what stop() set.
    if (background.signal.aborted) return;
    this.setState({ status: 'running', detail: `${provision.bots.length} bot(s)` });
    // In the background: the inviter first finishes its cross-signing, which the SDK needs before it shares keys.
    if (provision.historyInvites.length > 0)
      void this.#inviteLate(
        runner,
        provision.roomId,
        provision.historyInvites,
        background.signal,
        this.o.inviteRetryDelaysMs,
      );
    if (provision.encrypted) this.ownerTrust = this.#vouch(runner, provision);
    // In an encrypted room the owner's window has no device yet, so it could never read a welcome sent now.
    if (provision.ownerPasswordCreated && !provision.encrypted) await this.#welcome(runner, provision.roomId);
  }

  /**
   * Bots new to the encrypted room: a bot in it invites them with the room's history keys; they join on the invite.
   * Tried again after 5 s and 30 s (a homeserver busy or restarting); an invite refused by power levels is not.
   */
  async #inviteLate(
    runner: BotRunner,
    roomId: string,
    userIds: string[],
    signal: AbortSignal,
    delays = [5000, 30_000],
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await inviteLateBots(
          runner.workers.map((w) => w.conn),
          roomId,
          userIds,
          this.o.logger,
        );
        return;
      } catch (err) {
        const refused = err instanceof MatrixError && err.httpStatus === 403;
        const delay = delays[attempt];
        if (refused || delay === undefined || signal.aborted) {
          const hint = refused
            ? "check the room's power levels: bots need the invite level"
            : 'the next start tries again';
          this.o.logger.error(
            { err: errorMessage(err), bots: userIds, hint },
            'could not invite the new bots into the encrypted room',
          );
          return;
        }
        this.o.logger.warn(
          { err: errorMessage(err), bots: userIds, retryInMs: delay },
          'inviting the new bots failed; trying again',
        );
        await sleep(delay, signal).catch(() => undefined);
        if (signal.aborted || runner !== this.runner) return;
      }
    }
  }

  /** Vouches again, after what the last attempt lacked (the owner's recovery key) was given. */
  revouch(): void {
    const provision = this.provisioning.result;
    if (!this.runner || !provision?.encrypted || this.state.status !== 'running') return;
    const previous = this.ownerTrust ?? Promise.resolve(undefined);
    const runner = this.runner;
    this.ownerTrust = previous.then(() => this.#vouch(runner, provision));
  }

  /**
   * In the background, once each bot's cross-signing is set up: the owner signs the bots it has not signed yet, so
   * the owner's devices show them verified. When the homeserver limits sign-ins (a stock Synapse allows a few, then
   * one every few minutes) it is tried again after the wait it asks for; another failure waits for the next start.
   */
  async #vouch(
    runner: BotRunner,
    provision: NonNullable<ProvisioningService['result']>,
  ): Promise<VouchResult | undefined> {
    const signal = this.#background.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        await Promise.all(runner.workers.map((w) => w.conn.encryption?.startTrust()));
        if (runner !== this.runner || signal.aborted) return undefined;
        const result = await vouchForBots(
          {
            ctx: {
              baseUrl: provision.homeserverUrl,
              secrets: this.o.secrets,
              ...(this.o.fetch ? { fetchFn: this.o.fetch } : {}),
            },
            ownerLocalpart: this.o.settings.get().owner.localpart,
            stateDir: this.o.paths.state,
            logger: this.o.logger,
            owner: provision.owner,
            roomId: provision.roomId,
            bots: runner.workers.map((w) => ({ userId: w.account.userId, deviceId: w.account.deviceId })),
            rendezvous: this.#rendezvous,
            signal,
          },
          this.o.logger,
        );
        if (result.failed.length > 0)
          this.o.logger.warn(
            { failed: result.failed },
            'the owner could not verify some bots; retrying at the next start',
          );
        return result;
      } catch (err) {
        const waitMs = rateLimitWait(err);
        if (waitMs === undefined || attempt >= 2 || signal.aborted) {
          this.o.logger.warn(
            { err: errorMessage(err) },
            'the owner could not verify the bots; retrying at the next start',
          );
          return undefined;
        }
        this.o.logger.info(
          { inSeconds: Math.ceil(waitMs / 1000) },
          'the homeserver limits sign-ins: the owner verifies the bots after its wait',
        );
        await sleep(waitMs, signal).catch(() => undefined);
      }
    }
  }

  /** On the very first start each bot says hello once, so the person sees who is there and how to ask. */
  async #welcome(runner: BotRunner, roomId: string): Promise<void> {
    for (const w of runner.workers) {
      const bot = this.o.settings.get().bots.find((b) => b.id === w.account.id);
      if (!bot) continue;
      const model =
        bot.model
          .replace(/^llama:/, '')
          .split(/[\\/]/)
          .pop() ?? bot.model;
      const body = `Hi, I'm ${bot.displayName} (${model}). Mention me with @${w.account.id} and I'll answer here; !help lists the commands.`;
      await w.conn.send(roomId, 'm.room.message', { msgtype: 'm.notice', body }).catch((err: unknown) => {
        this.o.logger.warn({ bot: bot.id, err: errorMessage(err) }, 'could not post the welcome message');
      });
    }
  }

  async stop(deadlineMs: number): Promise<void> {
    // A verification under way ends first, so its key device is signed out while the homeserver still runs.
    this.#background.abort();
    await Promise.race([this.ownerTrust, new Promise((r) => setTimeout(r, Math.min(3000, deadlineMs / 2)).unref())]);
    await this.runner?.stop(deadlineMs);
    this.setState({ status: 'stopped' });
  }
}
