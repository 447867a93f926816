// The Matrix side of the core: the homeserver (bundled Conduit or external), provisioning, and the bot
// runner started with what provisioning produced. Also the status and session views the UI needs.
import type { BotInfo, BotStatus as ContractBotStatus, OwnerSession } from '../common/contract-types.ts';
import type { ModelInfo } from '../common/inference-types.ts';
import type { BotConfig } from '../common/settings-schema.ts';
import { inviteLateBots } from './bots/bot-crypto-wiring.ts';
import { BotRunner } from './bots/bot-runner.ts';
import type { BotInference } from './bots/types.ts';
import type { EventHub } from './control/event-hub.ts';
import { ExternalHomeserver } from './homeserver/external.ts';
import { HomeserverSupervisor } from './homeserver/supervisor.ts';
import type { InferenceService } from './inference/inference-service.ts';
import { BaseService, errorMessage, type Service } from './lifecycle/service.ts';
import type { Logger } from './logging/logger.ts';
import type { DataPaths } from './paths.ts';
import { roomShouldBeEncrypted } from './provisioning/encryption.ts';
import { SasRendezvous, vouchForBots, type VouchResult } from './provisioning/owner-trust.ts';
import { ProvisioningService } from './provisioning/provisioner.ts';
import type { SecretStore } from './settings/secret-store.ts';
import type { SettingsStore } from './settings/settings-store.ts';

export interface MatrixOverrides {
  /** `serve --homeserver-url`: external mode without editing settings. */
  homeserverUrl?: string | undefined;
  registrationToken?: string | undefined;
  /** false = no bot runner (`serve --no-bots`). */
  bots?: boolean | undefined;
}

/** What the status panel shows per bot, from its last finished reply. */
interface ReplyStats {
  lastLatencyMs?: number;
  tokensPerSecond?: number;
}

export interface MatrixServicesOptions {
  paths: DataPaths;
  logger: Logger;
  settings: SettingsStore;
  secrets: SecretStore;
  inference: InferenceService;
  events: EventHub;
  resourcesDir: string;
  overrides: MatrixOverrides;
  fetch?: typeof fetch;
  /** Called when something the status shows changed outside the services' states (a reply's stats). */
  onStatusChange?: () => void;
}

type Homeserver = (HomeserverSupervisor | ExternalHomeserver) & Service;

export interface MatrixServices {
  homeserver: Homeserver;
  provisioning: ProvisioningService;
  bots: BotsService | undefined;
  homeserverUrl(): string | undefined;
  ownerSession(): Promise<OwnerSession | undefined>;
  botStatuses(): ContractBotStatus[];
  botInfos(models: ModelInfo[]): BotInfo[];
  paused(): boolean;
  setPaused(paused: boolean): boolean;
  loopGuardTrips(): number;
}

/** Adapts the inference router to what the bot runner asks of inference. */
function botInference(inference: InferenceService): BotInference {
  return {
    chat: (req) => inference.router.chat({ bot: req.bot, messages: req.messages, sampling: req.sampling, signal: req.signal }),
    countTokens: (bot, text) => inference.router.countTokens(bot.model, text),
    listModels: (signal) => inference.listModels(signal),
  };
}

/** Starts the bot runner once provisioning has produced the accounts and the room. */
export class BotsService extends BaseService {
  readonly name = 'bots';
  runner: BotRunner | undefined;
  readonly stats = new Map<string, ReplyStats>();
  /** The owner's verification of the bots after the last start (tests and status wait on it). */
  ownerTrust: Promise<VouchResult | undefined> | undefined;
  readonly #rendezvous = new SasRendezvous();
  #vouching = new AbortController();
  #paused = false;

  get paused(): boolean {
    return this.#paused;
  }

  set paused(value: boolean) {
    this.#paused = value;
    if (this.runner) this.runner.paused = value;
  }

  constructor(
    private readonly o: MatrixServicesOptions,
    private readonly provisioning: ProvisioningService,
  ) {
    super();
  }

  async start(signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
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
      ...(provision.encrypted || this.o.settings.get().room.encrypted !== false ? { encryption: { secrets: this.o.secrets, rendezvous: this.#rendezvous } } : {}),
      onModelChange: (botId, model) => {
        this.o.settings.update((s) => ({ ...s, bots: s.bots.map((b) => (b.id === botId ? { ...b, model } : b)) }));
      },
      onReply: (botId, eventId, outcome) => {
        const bot = this.o.settings.get().bots.find((b) => b.id === botId);
        if (outcome.kind === 'done' && outcome.stats) {
          this.stats.set(botId, { lastLatencyMs: Math.round(outcome.stats.timeToFirstTokenMs), tokensPerSecond: Math.round(outcome.stats.tokensPerSecond * 10) / 10 });
        }
        this.o.events.emit('bots.replied', { botId, displayName: bot?.displayName ?? botId, roomId: provision.roomId, eventId: outcome.kind === 'done' && outcome.replyId ? outcome.replyId : eventId, preview: outcome.text.slice(0, 140) });
        this.o.onStatusChange?.();
      },
    });
    this.runner = runner;
    runner.paused = this.#paused;
    runner.onStateChange((s) => this.setState(s));
    try {
      await runner.start(signal);
    } catch (err) {
      this.setState({ status: 'failed', error: errorMessage(err) });
      throw err;
    }
    this.setState({ status: 'running', detail: `${provision.bots.length} bot(s)` });
    // In the background: the inviter first finishes its cross-signing, which the SDK needs before it shares keys.
    if (provision.historyInvites.length > 0) void this.#inviteLate(runner, provision.roomId, provision.historyInvites);
    if (provision.encrypted) {
      this.#vouching = new AbortController();
      this.ownerTrust = this.#vouch(runner, provision);
    }
    // In an encrypted room the owner's window has no device yet, so it could never read a welcome sent now.
    if (provision.ownerPasswordCreated && !provision.encrypted) await this.#welcome(runner, provision.roomId);
  }

  /** Bots new to the encrypted room: a bot in it invites them with the room's history keys; they join on the invite. */
  async #inviteLate(runner: BotRunner, roomId: string, userIds: string[]): Promise<void> {
    try {
      await inviteLateBots(runner.workers.map((w) => w.conn), roomId, userIds, this.o.logger);
    } catch (err) {
      this.o.logger.error({ err: errorMessage(err), bots: userIds }, 'could not invite the new bots into the encrypted room; check the room\'s power levels (bots need the invite level)');
    }
  }

  /**
   * In the background, once each bot's cross-signing is set up: the owner signs the bots it has not signed yet, so
   * the owner's devices show them verified. A failure is logged and retried at the next start.
   */
  async #vouch(runner: BotRunner, provision: NonNullable<ProvisioningService['result']>): Promise<VouchResult | undefined> {
    try {
      await Promise.all(runner.workers.map((w) => w.conn.encryption?.startTrust()));
      if (runner !== this.runner) return undefined;
      const result = await vouchForBots({
        ctx: { baseUrl: provision.homeserverUrl, secrets: this.o.secrets, ...(this.o.fetch ? { fetchFn: this.o.fetch } : {}) },
        ownerLocalpart: this.o.settings.get().owner.localpart,
        stateDir: this.o.paths.state,
        logger: this.o.logger,
        owner: provision.owner,
        bots: runner.workers.map((w) => ({ userId: w.account.userId, deviceId: w.account.deviceId })),
        rendezvous: this.#rendezvous,
        signal: this.#vouching.signal,
      }, this.o.logger);
      if (result.failed.length > 0) this.o.logger.warn({ failed: result.failed }, 'the owner could not verify some bots; retrying at the next start');
      return result;
    } catch (err) {
      this.o.logger.warn({ err: errorMessage(err) }, 'the owner could not verify the bots; retrying at the next start');
      return undefined;
    }
  }

  /** On the very first start each bot says hello once, so the person sees who is there and how to ask. */
  async #welcome(runner: BotRunner, roomId: string): Promise<void> {
    for (const w of runner.workers) {
      const bot = this.o.settings.get().bots.find((b) => b.id === w.account.id);
      if (!bot) continue;
      const model = bot.model.replace(/^llama:/, '').split(/[\\/]/).pop() ?? bot.model;
      const body = `Hi, I'm ${bot.displayName} (${model}). Mention me with @${w.account.id} and I'll answer here; !help lists the commands.`;
      await w.conn.send(roomId, 'm.room.message', { msgtype: 'm.notice', body }).catch((err: unknown) => {
        this.o.logger.warn({ bot: bot.id, err: errorMessage(err) }, 'could not post the welcome message');
      });
    }
  }

  async stop(deadlineMs: number): Promise<void> {
    // A verification under way ends first, so its key device is signed out while the homeserver still runs.
    this.#vouching.abort();
    await Promise.race([this.ownerTrust, new Promise((r) => setTimeout(r, Math.min(3000, deadlineMs / 2)).unref())]);
    await this.runner?.stop(deadlineMs);
    this.setState({ status: 'stopped' });
  }
}

export function buildMatrixServices(o: MatrixServicesOptions): MatrixServices {
  const hsSettings = o.settings.get().homeserver;
  const externalUrl = o.overrides.homeserverUrl ?? (hsSettings.mode === 'external' ? hsSettings.url : undefined);
  const homeserver: Homeserver = externalUrl
    ? new ExternalHomeserver({
        url: externalUrl,
        secrets: o.secrets,
        ...(hsSettings.mode === 'external' ? { registrationTokenRef: hsSettings.registrationTokenRef } : {}),
        ...(o.overrides.registrationToken ? { registrationToken: o.overrides.registrationToken } : {}),
        ...(o.fetch ? { fetch: o.fetch } : {}),
        logger: o.logger,
      })
    : new HomeserverSupervisor({
        homeserverDir: o.paths.homeserver,
        logsDir: o.paths.logs,
        settings: () => {
          const hs = o.settings.get().homeserver;
          return hs.mode === 'bundled' ? hs : { serverName: 'agent-room.localhost', port: 0, lanAccess: false };
        },
        secrets: o.secrets,
        resourcesDir: o.resourcesDir,
        logger: o.logger,
        ...(o.fetch ? { fetch: o.fetch } : {}),
      });
  const provisioning = new ProvisioningService({
    homeserver,
    settings: () => o.settings.get(),
    stateDir: o.paths.state,
    secrets: o.secrets,
    logger: o.logger,
    encrypt: () => roomShouldBeEncrypted(o.settings.get(), { external: externalUrl !== undefined }),
    botsInvite: o.overrides.bots !== false,
    ...(o.fetch ? { fetchFn: o.fetch } : {}),
  });
  const bots = o.overrides.bots === false ? undefined : new BotsService(o, provisioning);

  // A bot added, removed or renamed in settings: provision its account, then restart the runner with
  // the new accounts. Model and persona changes need neither (the runner reads settings per message).
  const teamKey = (s: { bots: BotConfig[] }) => s.bots.map((b) => `${b.id}\u0000${b.displayName}`).join('\u0001');
  let lastTeam = teamKey(o.settings.get());
  let reconciling: Promise<void> = Promise.resolve();
  o.settings.onChange((next) => {
    const key = teamKey(next);
    if (key === lastTeam) return;
    lastTeam = key;
    reconciling = reconciling.then(async () => {
      if (provisioning.state.status !== 'running' && provisioning.state.status !== 'failed') return;
      if (!homeserver.url) return;
      try {
        await provisioning.reconcile();
        if (bots && bots.state.status === 'running') {
          await bots.stop(5000);
          await bots.start(new AbortController().signal);
        }
        o.logger.info({ bots: next.bots.map((b) => b.id) }, 'team updated');
      } catch (err) {
        o.logger.error({ err: errorMessage(err) }, 'updating the team failed');
      }
    });
  });

  const statusOf = (bot: BotConfig): ContractBotStatus => {
    const runner = bots?.runner?.status().bots.find((b) => b.id === bot.id);
    const prov = provisioning.result?.bots.find((b) => b.id === bot.id);
    return {
      id: bot.id,
      displayName: bot.displayName,
      ...(prov ? { userId: prov.userId } : {}),
      model: runner?.model ?? bot.model,
      busy: (runner?.running ?? 0) > 0,
      stats: { replies: runner?.answered ?? 0, ...bots?.stats.get(bot.id) },
    };
  };

  return {
    homeserver,
    provisioning,
    bots,
    homeserverUrl: () => homeserver.url,
    ownerSession: async () => {
      const r = provisioning.result;
      if (!r) return undefined;
      return { homeserverUrl: r.homeserverUrl, userId: r.owner.userId, accessToken: r.owner.accessToken, deviceId: r.owner.deviceId, roomId: r.roomId };
    },
    botStatuses: () => o.settings.get().bots.map(statusOf),
    botInfos: (models) =>
      o.settings.get().bots.map((config) => {
        const prov = provisioning.result?.bots.find((b) => b.id === config.id);
        return {
          config,
          ...(prov ? { userId: prov.userId } : {}),
          status: statusOf(config),
          availableModels: models.filter((m) => !config.localOnly || m.local).map((m) => m.ref),
        };
      }),
    paused: () => bots?.paused ?? false,
    setPaused: (paused) => {
      if (bots) bots.paused = paused;
      return bots?.paused ?? false;
    },
    loopGuardTrips: () => {
      const t = bots?.runner?.status().loopGuardTrips;
      return t ? t.self + t.hops + t.budget : 0;
    },
  };
}
