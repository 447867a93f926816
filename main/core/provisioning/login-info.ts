// What `agent-room status` and `agent-room login-info` show: read from provision.json and the secret
// store, so it works whether or not the app is running. The password is included only when asked for.
import type { SecretStore } from '../settings/secret-store.ts';
import { OWNER_SECRETS } from './accounts.ts';
import { readProvisionState } from './state.ts';

export interface LoginInfo {
  homeserverUrl: string;
  serverName: string;
  /** The owner's Matrix user id, to sign in from Element or a phone. */
  userId: string;
  roomId?: string;
  bots: Array<{ id: string; userId: string; displayName: string }>;
  /** Only with showPassword. */
  password?: string;
  /** Where the password is kept, for a person who wants to find it themselves. */
  passwordSecretName: string;
}

/** undefined until provisioning has run once. */
export async function readLoginInfo(
  stateDir: string,
  secrets: SecretStore,
  options: { showPassword?: boolean } = {},
): Promise<LoginInfo | undefined> {
  const state = await readProvisionState(stateDir);
  if (!state?.owner) return undefined;
  const info: LoginInfo = {
    homeserverUrl: state.homeserverUrl,
    serverName: state.serverName,
    userId: state.owner.userId,
    roomId: state.roomId,
    bots: state.bots.map((b) => ({ id: b.id, userId: b.userId, displayName: b.displayName })),
    passwordSecretName: OWNER_SECRETS.password,
  };
  if (options.showPassword) info.password = await secrets.get(OWNER_SECRETS.password);
  return info;
}
