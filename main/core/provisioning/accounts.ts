// Accounts for the owner and the bots: registered once (m.login.registration_token UIA), then logged in
// with the stored password; access token and device id are kept in the secret store and checked with
// whoami, so a restart reuses the same device instead of piling up new ones.
import { randomBytes } from 'node:crypto';
import { ConnectionError, createClient, MatrixError, type MatrixClient } from 'matrix-js-sdk';
import type { SecretStore } from '../settings/secret-store.ts';
import {
  AccountPasswordUnknownError,
  ProvisionHomeserverError,
  ProvisionUnreachableError,
  RegistrationRejectedError,
} from './errors.ts';

export interface MatrixContext {
  baseUrl: string;
  secrets: SecretStore;
  registrationToken?: string;
  fetchFn?: typeof fetch;
  timeoutMs?: number;
}

export interface AccountSpec {
  /** Secret-name key: "owner" or "bot.<id>". */
  key: string;
  localpart: string;
  /** Shown in the homeserver's device list. */
  deviceName: string;
}

export interface AccountSession {
  userId: string;
  deviceId: string;
  accessToken: string;
  /** True only on the run that generated this account's password. */
  passwordCreated: boolean;
  client: MatrixClient;
}

/** Where an account's secrets live in the secret store. */
export function accountSecretNames(key: string): {
  password: string;
  accessToken: string;
  deviceId: string;
  userId: string;
} {
  const base = `matrix.${key}`;
  return {
    password: `${base}.password`,
    accessToken: `${base}.accessToken`,
    deviceId: `${base}.deviceId`,
    userId: `${base}.userId`,
  };
}

export const OWNER_SECRETS = accountSecretNames('owner');

/** Set by `agent-room set-password owner`: the owner is the person's own account, whose profile the app leaves alone. */
export const OWNER_ADOPTED_SECRET = 'matrix.owner.adopted';

type SdkLogger = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['logger']>;
const noop = (): void => undefined;
/** matrix-js-sdk logs every request at debug level to the console; provisioning reports through its own errors. */
const quietSdkLogger: SdkLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  getChild: () => quietSdkLogger,
};

export function newClient(
  ctx: MatrixContext,
  session?: { userId: string; deviceId: string; accessToken: string },
): MatrixClient {
  return createClient({
    baseUrl: ctx.baseUrl,
    fetchFn: ctx.fetchFn,
    localTimeoutMs: ctx.timeoutMs ?? 30_000,
    logger: quietSdkLogger,
    ...(session ?? {}),
  });
}

/** Turns a failed request into a typed error; MatrixErrors the caller handles are rethrown as they are. */
export function describeFailure(ctx: MatrixContext, step: string, err: unknown): Error {
  if (
    err instanceof ConnectionError ||
    (err as Error)?.name === 'ConnectionError' ||
    (err as Error)?.name === 'AbortError'
  ) {
    return new ProvisionUnreachableError(ctx.baseUrl, (err as Error).message, { cause: err });
  }
  if (err instanceof MatrixError)
    return new ProvisionHomeserverError(
      step,
      `${err.errcode ?? `HTTP ${err.httpStatus}`}: ${err.data?.error ?? err.message}`,
      { cause: err },
    );
  return err instanceof Error ? err : new Error(String(err));
}

interface UiaData {
  flows?: Array<{ stages?: string[] }>;
  session?: string;
  completed?: string[];
}

const SUPPORTED_STAGES = new Set(['m.login.registration_token', 'm.login.dummy']);

/** The next stage to complete: the first flow made only of stages this app can do. Pure, for tests. */
export function nextRegistrationStage(data: UiaData): string | undefined {
  const completed = new Set(data.completed ?? []);
  const flow = (data.flows ?? []).find((f) => (f.stages ?? []).every((s) => SUPPORTED_STAGES.has(s)));
  return flow?.stages?.find((s) => !completed.has(s));
}

type Registered = { user_id: string; access_token?: string; device_id?: string };

/**
 * POST /register through its user-interactive auth. matrix-js-sdk's InteractiveAuth is built for a UI that
 * asks the person for each stage; here every stage is answered from what the app holds, so a small loop
 * over the SDK's registerRequest is clearer. Throws MatrixError M_USER_IN_USE for an existing account.
 */
async function register(
  ctx: MatrixContext,
  spec: AccountSpec,
  password: string,
  deviceId?: string,
): Promise<Registered> {
  const client = newClient(ctx);
  let auth: Record<string, unknown> | undefined;
  for (let round = 0; round < 5; round++) {
    try {
      return (await client.registerRequest({
        username: spec.localpart,
        password,
        initial_device_display_name: spec.deviceName,
        ...(deviceId ? { device_id: deviceId } : {}),
        inhibit_login: false,
        ...(auth ? { auth } : {}),
      } as Parameters<MatrixClient['registerRequest']>[0])) as Registered;
    } catch (err) {
      if (!(err instanceof MatrixError)) throw describeFailure(ctx, 'registering an account', err);
      if (err.errcode === 'M_USER_IN_USE') throw err;
      const data = err.data as UiaData;
      if (err.httpStatus === 403)
        throw new RegistrationRejectedError(
          ctx.baseUrl,
          `${err.errcode}: ${err.data?.error ?? 'registration is disabled'}`,
          { cause: err },
        );
      if (err.httpStatus !== 401 || !data.flows) throw describeFailure(ctx, 'registering an account', err);
      if (
        auth?.type === 'm.login.registration_token' &&
        !(data.completed ?? []).includes('m.login.registration_token')
      ) {
        throw new RegistrationRejectedError(
          ctx.baseUrl,
          `the registration token was not accepted (${err.errcode ?? 'M_FORBIDDEN'}: ${err.data?.error ?? ''})`,
          { cause: err },
        );
      }
      const stage = nextRegistrationStage(data);
      if (!stage)
        throw new RegistrationRejectedError(
          ctx.baseUrl,
          `it asks for steps this app cannot do: ${JSON.stringify(data.flows)}`,
          { cause: err },
        );
      if (stage === 'm.login.registration_token' && !ctx.registrationToken)
        throw new RegistrationRejectedError(ctx.baseUrl, 'it needs a registration token and none is known', {
          cause: err,
        });
      auth = {
        type: stage,
        session: data.session,
        ...(stage === 'm.login.registration_token' ? { token: ctx.registrationToken } : {}),
      };
    }
  }
  throw new RegistrationRejectedError(ctx.baseUrl, 'the registration steps never completed');
}

async function login(ctx: MatrixContext, spec: AccountSpec, password: string, deviceId?: string): Promise<Registered> {
  try {
    return (await newClient(ctx).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: spec.localpart },
      password,
      ...(deviceId ? { device_id: deviceId } : {}),
      initial_device_display_name: spec.deviceName,
    })) as Registered;
  } catch (err) {
    if (err instanceof MatrixError && err.errcode === 'M_FORBIDDEN') throw err;
    throw describeFailure(ctx, `logging in as ${spec.localpart}`, err);
  }
}

/** A working session for the account: the stored one if whoami accepts it, else a login (same device), else a registration. */
export async function ensureAccount(ctx: MatrixContext, spec: AccountSpec): Promise<AccountSession> {
  const names = accountSecretNames(spec.key);
  const [token, deviceId, userId] = await Promise.all([
    ctx.secrets.get(names.accessToken),
    ctx.secrets.get(names.deviceId),
    ctx.secrets.get(names.userId),
  ]);
  // A saved session of another account (the owner was switched to another name in settings) is not reused.
  const sameAccount = userId !== undefined && userId.slice(1, userId.indexOf(':')) === spec.localpart;
  if (token && deviceId && userId && sameAccount) {
    const client = newClient(ctx, { userId, deviceId, accessToken: token });
    try {
      const who = await client.whoami();
      if (who.user_id === userId) return { userId, deviceId, accessToken: token, passwordCreated: false, client };
    } catch (err) {
      if (!(err instanceof MatrixError && (err.errcode === 'M_UNKNOWN_TOKEN' || err.httpStatus === 401)))
        throw describeFailure(ctx, `checking the session of ${userId}`, err);
    }
  }
  let password = await ctx.secrets.get(names.password);
  if (!password) {
    // Stored before registering: if the app dies right after the server creates the account, the next run can log in.
    password = randomBytes(18).toString('base64url');
    await ctx.secrets.set(names.password, password);
  }
  let session: Registered;
  // "Created" means this run made the account: its password has not been shown to anyone yet.
  let passwordCreated = false;
  try {
    session = await register(ctx, spec, password, sameAccount ? deviceId : undefined);
    passwordCreated = true;
  } catch (err) {
    if (!(err instanceof MatrixError && err.errcode === 'M_USER_IN_USE')) throw err;
    try {
      session = await login(ctx, spec, password, sameAccount ? deviceId : undefined);
    } catch (loginErr) {
      if (loginErr instanceof MatrixError) throw new AccountPasswordUnknownError(`@${spec.localpart}`);
      throw loginErr;
    }
  }
  if (!session.access_token || !session.device_id)
    throw new ProvisionHomeserverError(
      `signing in ${spec.localpart}`,
      'the homeserver returned no access token or device id',
    );
  await ctx.secrets.set(names.accessToken, session.access_token);
  await ctx.secrets.set(names.deviceId, session.device_id);
  await ctx.secrets.set(names.userId, session.user_id);
  const client = newClient(ctx, {
    userId: session.user_id,
    deviceId: session.device_id,
    accessToken: session.access_token,
  });
  return {
    userId: session.user_id,
    deviceId: session.device_id,
    accessToken: session.access_token,
    passwordCreated,
    client,
  };
}
