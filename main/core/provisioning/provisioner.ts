// Brings the homeserver in line with settings: the owner, one account per bot (name, avatar), the team
// room and its members. Every step first looks at what exists, so running it again after a failure at
// any point finishes the job without duplicates.
import { createHash } from 'node:crypto';
import type { BotConfig, Settings } from '../../common/settings-schema.ts';
import { describeFetchError } from '../homeserver/external.ts';
import { fetchVersions } from '../homeserver/probe.ts';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { SecretStore } from '../settings/secret-store.ts';
import {
  describeFailure,
  ensureAccount,
  OWNER_ADOPTED_SECRET,
  type AccountSession,
  type MatrixContext,
} from './accounts.ts';
import { identiconPng } from './avatar.ts';
import { ensureOwnerRecovery } from './encryption.ts';
import { ProvisionError, ProvisionUnreachableError } from './errors.ts';
import { ensureProfile } from './profile.ts';
import { ensureBotsMayInvite } from './room.ts';
import {
  checkWritable,
  readProvisionState,
  writeProvisionState,
  type ProvisionedBotState,
  type ProvisionState,
} from './state.ts';
import { ensureTeamRoom, isEncrypted, joinBots, removeGoneBots, type Step } from './team-room.ts';

export interface ProvisionedBot {
  id: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  displayName: string;
}

export interface ProvisionResult {
  homeserverUrl: string;
  serverName: string;
  roomId: string;
  owner: { userId: string; deviceId: string; accessToken: string };
  bots: ProvisionedBot[];
  /** True on the run that created the owner's account: the UI shows the password (from the secret store) once. */
  ownerPasswordCreated: boolean;
  /** User ids of bots removed from the room in this run. */
  removedBots: string[];
  /** Whether the team room is encrypted (the bots then need encryption on). */
  encrypted: boolean;
  /** True on the run that made the owner's recovery key: the UI shows it (secret OWNER_RECOVERY_SECRET) once. */
  ownerRecoveryKeyCreated: boolean;
  /**
   * Bots added to the encrypted room after it began, left out here: a running bot that holds the room's keys
   * invites each with them (inviteLateBots), so they can read what was said before. Empty unless botsInvite.
   */
  historyInvites: string[];
}

export interface ProvisionOptions {
  homeserverUrl: string;
  registrationToken?: string;
  /** <data>/state */
  stateDir: string;
  secrets: SecretStore;
  settings: Pick<Settings, 'owner' | 'bots' | 'room'>;
  fetchFn?: typeof fetch;
  timeoutMs?: number;
  logger?: Logger;
  /** Encrypt the team room (new rooms from the start, an existing one switched) and set up the owner's keys; see roomShouldBeEncrypted. */
  encrypt?: boolean;
  /** The bot runner (with encryption) runs after provisioning and invites late bots into an encrypted room. */
  botsInvite?: boolean;
}

interface ProvisionedAccount {
  config: BotConfig;
  session: AccountSession;
}

function serverNameOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

/** The avatar for a bot: an mxc:// URI from settings as it is, else a generated identicon. */
export function botAvatar(bot: Pick<BotConfig, 'id' | 'avatar'>): { key: string; mxc?: string; png?: Buffer } {
  if (bot.avatar?.startsWith('mxc://')) return { key: bot.avatar, mxc: bot.avatar };
  const png = identiconPng(bot.id);
  return { key: createHash('sha256').update(png).digest('hex').slice(0, 16), png };
}

/** The owner's account and one per bot, each with its profile as settings want it; the bots' state to save. */
async function ensureAccounts(
  o: ProvisionOptions,
  ctx: MatrixContext,
  step: Step,
  previous: ProvisionState | undefined,
): Promise<{ owner: AccountSession; bots: ProvisionedAccount[]; botStates: ProvisionedBotState[] }> {
  const owner = await ensureAccount(ctx, {
    key: 'owner',
    localpart: o.settings.owner.localpart,
    deviceName: 'Agent Room (owner)',
  });
  // Your own account (given with set-password) keeps the name you chose; an account the app made gets the one in settings.
  if ((await o.secrets.get(OWNER_ADOPTED_SECRET)) === undefined)
    await step('setting the owner profile', () =>
      ensureProfile(owner.client, owner.userId, o.settings.owner.displayName),
    );
  const bots: ProvisionedAccount[] = [];
  const botStates: ProvisionedBotState[] = [];
  for (const config of o.settings.bots) {
    const session = await ensureAccount(ctx, {
      key: `bot.${config.id}`,
      localpart: config.id,
      deviceName: `Agent Room bot ${config.id}`,
    });
    const before = previous?.bots.find((b) => b.id === config.id);
    const avatar = await step(`setting the profile of ${session.userId}`, () =>
      ensureProfile(session.client, session.userId, config.displayName, { ...botAvatar(config), previous: before }),
    );
    bots.push({ config, session });
    botStates.push({ id: config.id, userId: session.userId, displayName: config.displayName, ...avatar });
  }
  return { owner, bots, botStates };
}

/** With encryption on, the owner's keys and their recovery key: whether that key was made in this run. */
async function ensureOwnerKeys(
  o: ProvisionOptions,
  ctx: MatrixContext,
  step: Step,
  owner: AccountSession,
): Promise<boolean> {
  if (!o.encrypt) return false;
  const recovery = await step("setting up the owner's encryption keys", () =>
    ensureOwnerRecovery({
      ctx,
      owner: owner.client,
      ownerLocalpart: o.settings.owner.localpart,
      stateDir: o.stateDir,
      ...(o.logger ? { logger: o.logger } : {}),
    }),
  );
  return recovery.created;
}

export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  const log = o.logger;
  const baseUrl = o.homeserverUrl.replace(/\/+$/, '');
  await checkWritable(o.stateDir);
  try {
    await fetchVersions(baseUrl, { fetch: o.fetchFn, timeoutMs: o.timeoutMs ?? 10_000 });
  } catch (err) {
    throw new ProvisionUnreachableError(baseUrl, describeFetchError(err), { cause: err });
  }
  const ctx: MatrixContext = {
    baseUrl,
    secrets: o.secrets,
    registrationToken: o.registrationToken,
    fetchFn: o.fetchFn,
    timeoutMs: o.timeoutMs,
  };
  const previous = await readProvisionState(o.stateDir);
  const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw err instanceof ProvisionError ? err : describeFailure(ctx, what, err);
    }
  };

  const { owner, bots, botStates } = await ensureAccounts(o, ctx, step, previous);
  const serverName = serverNameOf(owner.userId);
  const botUserIds = bots.map((b) => b.session.userId);
  const wanted = { room: o.settings.room, previousId: previous?.roomId, botUserIds, encrypt: o.encrypt === true };
  const roomId = await ensureTeamRoom(step, owner, wanted, log);
  const recoveryKeyCreated = await ensureOwnerKeys(o, ctx, step, owner);
  const state: ProvisionState = {
    version: 1,
    homeserverUrl: baseUrl,
    serverName,
    roomId,
    owner: { userId: owner.userId },
    bots: botStates,
  };
  // Saved before the joins: a failure below must not lose which room is ours.
  await writeProvisionState(o.stateDir, {
    ...state,
    bots: [...(previous?.bots.filter((p) => !state.bots.some((b) => b.id === p.id)) ?? []), ...state.bots],
  });
  const encrypted = o.encrypt === true || (await isEncrypted(owner.client, roomId));
  if (encrypted) await step('letting the bots invite', () => ensureBotsMayInvite(owner.client, roomId, botUserIds));
  const historyInvites = await joinBots(
    step,
    owner.client,
    roomId,
    bots.map((b) => b.session),
    encrypted && o.botsInvite === true,
  );
  const removedBots = await removeGoneBots(step, owner.client, roomId, previous?.bots ?? [], new Set(botUserIds));
  await writeProvisionState(o.stateDir, state);
  log?.info({ roomId, bots: botUserIds.length, removed: removedBots.length }, 'provisioning done');
  return {
    homeserverUrl: baseUrl,
    serverName,
    roomId,
    owner: { userId: owner.userId, deviceId: owner.deviceId, accessToken: owner.accessToken },
    bots: bots.map(({ config, session }) => ({
      id: config.id,
      userId: session.userId,
      deviceId: session.deviceId,
      accessToken: session.accessToken,
      displayName: config.displayName,
    })),
    ownerPasswordCreated: owner.passwordCreated,
    removedBots,
    encrypted,
    ownerRecoveryKeyCreated: recoveryKeyCreated,
    historyInvites,
  };
}

/** Where the homeserver is, known only once the homeserver service has started. */
export interface HomeserverEndpoint {
  readonly url: string | undefined;
  readonly registrationToken: string | undefined;
}

export interface ProvisioningServiceOptions extends Omit<
  ProvisionOptions,
  'homeserverUrl' | 'registrationToken' | 'settings' | 'encrypt'
> {
  homeserver: HomeserverEndpoint;
  settings: () => Pick<Settings, 'owner' | 'bots' | 'room'>;
  /** Read on every run (settings may change): whether the team room should be encrypted. */
  encrypt?: () => boolean;
  /** Whether a bot runner follows that invites late bots with the room's history keys. */
  botsInvite?: boolean;
}

/** Provisioning as a Service, started after the homeserver; `result` holds what the bots and the UI need. */
export class ProvisioningService extends BaseService {
  readonly name = 'provisioning';
  #result: ProvisionResult | undefined;

  constructor(private readonly options: ProvisioningServiceOptions) {
    super();
  }

  get result(): ProvisionResult | undefined {
    return this.#result;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
    try {
      signal.throwIfAborted();
      const url = this.options.homeserver.url;
      if (!url) throw new ProvisionUnreachableError('(unknown)', 'the homeserver has not started');
      const { encrypt, ...rest } = this.options;
      this.#result = await provision({
        ...rest,
        homeserverUrl: url,
        registrationToken: this.options.homeserver.registrationToken,
        settings: this.options.settings(),
        encrypt: encrypt?.() ?? false,
      });
      this.setState({ status: 'running', detail: this.#result.roomId });
    } catch (err) {
      this.setState({
        status: 'failed',
        error: errorMessage(err),
        hint: err instanceof ProvisionError ? err.hint : undefined,
      });
      throw err;
    }
  }

  /** Re-runs provisioning (e.g. after a bot was added or removed in settings). */
  async reconcile(): Promise<ProvisionResult> {
    await this.start(new AbortController().signal);
    return this.#result!;
  }

  async stop(): Promise<void> {
    this.setState({ status: 'stopped' });
  }
}
