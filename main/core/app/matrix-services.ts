// The Matrix side of the core: the homeserver (bundled Conduit or external), provisioning, and the bot
// runner started with what provisioning produced. Also the status and session views the UI needs.
import type { BotInfo, BotStatus as ContractBotStatus, OwnerSession } from '../../common/contract-types.ts';
import type { ModelInfo } from '../../common/inference-types.ts';
import type { BotConfig } from '../../common/settings-schema.ts';
import { BotsService, type BotsServiceOptions } from '../bots/bots-service.ts';
import { rateLimitedFetch } from '../homeserver/matrix-fetch.ts';
import { ExternalHomeserver } from '../homeserver/external.ts';
import { HomeserverSupervisor } from '../homeserver/supervisor.ts';
import { errorMessage, type Service } from '../lifecycle/service.ts';
import type { DataPaths } from '../paths.ts';
import { roomShouldBeEncrypted } from '../provisioning/encryption.ts';
import { ProvisioningService } from '../provisioning/provisioner.ts';

export interface MatrixOverrides {
  /** `serve --homeserver-url`: external mode without editing settings. */
  homeserverUrl?: string | undefined;
  registrationToken?: string | undefined;
  /** false = no bot runner (`serve --no-bots`). */
  bots?: boolean | undefined;
}

/** What the app's Matrix side (homeserver, provisioning, bots) needs. */
export interface MatrixServicesOptions extends BotsServiceOptions {
  paths: DataPaths;
  resourcesDir: string;
  overrides: MatrixOverrides;
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
  /** The owner vouches for the bots again (after the recovery key was given); nothing when the bots do not run. */
  revouch(): void;
}

/** The bundled homeserver (Conduit, supervised), or the person's own when settings or `--homeserver-url` name one. */
function makeHomeserver(o: MatrixServicesOptions, externalUrl: string | undefined): Homeserver {
  const hsSettings = o.settings.get().homeserver;
  if (externalUrl) {
    return new ExternalHomeserver({
      url: externalUrl,
      secrets: o.secrets,
      ...(hsSettings.mode === 'external' ? { registrationTokenRef: hsSettings.registrationTokenRef } : {}),
      ...(o.overrides.registrationToken ? { registrationToken: o.overrides.registrationToken } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      logger: o.logger,
    });
  }
  return new HomeserverSupervisor({
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
}

/**
 * A bot added, removed or renamed in settings: provision its account, then restart the runner with the new accounts.
 * Model and persona changes need neither (the runner reads settings per message).
 */
function followTeamChanges(
  o: MatrixServicesOptions,
  homeserver: Homeserver,
  provisioning: ProvisioningService,
  bots: BotsService | undefined,
): void {
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
}

export function buildMatrixServices(o: MatrixServicesOptions): MatrixServices {
  // Provisioning, the owner's key device and the bots wait out the homeserver's rate limits (stock Synapse has them).
  const matrixFetch = rateLimitedFetch(o.fetch ?? globalThis.fetch, { logger: o.logger });
  const hsSettings = o.settings.get().homeserver;
  const externalUrl = o.overrides.homeserverUrl ?? (hsSettings.mode === 'external' ? hsSettings.url : undefined);
  const homeserver = makeHomeserver(o, externalUrl);
  const provisioning = new ProvisioningService({
    homeserver,
    settings: () => o.settings.get(),
    stateDir: o.paths.state,
    secrets: o.secrets,
    logger: o.logger,
    encrypt: () => roomShouldBeEncrypted(o.settings.get(), { external: externalUrl !== undefined }),
    botsInvite: o.overrides.bots !== false,
    fetchFn: matrixFetch,
  });
  const bots = o.overrides.bots === false ? undefined : new BotsService({ ...o, fetch: matrixFetch }, provisioning);

  followTeamChanges(o, homeserver, provisioning, bots);

  const statusOf = (bot: BotConfig): ContractBotStatus => {
    const runner = bots?.runner?.status().bots.find((b) => b.id === bot.id);
    const prov = provisioning.result?.bots.find((b) => b.id === bot.id);
    return {
      id: bot.id,
      displayName: bot.displayName,
      ...(prov ? { userId: prov.userId } : {}),
      model: runner?.model ?? bot.model,
      busy: (runner?.running ?? 0) > 0,
      ...(runner ? { queued: runner.queued, running: runner.running, refused: runner.refused } : {}),
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
      return {
        homeserverUrl: r.homeserverUrl,
        userId: r.owner.userId,
        accessToken: r.owner.accessToken,
        deviceId: r.owner.deviceId,
        roomId: r.roomId,
      };
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
    revouch: () => bots?.revouch(),
    loopGuardTrips: () => {
      const t = bots?.runner?.status().loopGuardTrips;
      return t ? t.self + t.hops + t.budget : 0;
    },
  };
}
