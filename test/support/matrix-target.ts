// The homeserver a Matrix integration test talks to: the in-process test homeserver, or, when
// AGENT_ROOM_TEST_HOMESERVER_URL is set (npm run test:external), a real one such as Synapse from
// scripts/real-synapse.sh. Tests written against this talk the client-server API only, so they run on both.
// Accounts on a real server outlive a run: every localpart gets this run's suffix.
import { createClient } from 'matrix-js-sdk';
import { startHomeserver, type Homeserver } from './homeserver/index.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild: () => quiet };

export interface MatrixTarget {
  url: string;
  /** Given to the product's provisioning (registration with m.login.registration_token). */
  registrationToken: string | undefined;
  /** '' on the test homeserver; fresh per run on a real one. Append it to every localpart a test picks. */
  suffix: string;
  /** The server name part of user ids. */
  serverName: string;
  /** The in-process homeserver, when that is the target (tests may look inside it only then). */
  local: Homeserver | undefined;
  /** Registers `localpart + suffix` with `password`, through the token flow when the server needs it. */
  register(localpart: string, password: string): Promise<{ userId: string; deviceId: string; accessToken: string }>;
  close(): Promise<void>;
}

export const externalTarget = process.env.AGENT_ROOM_TEST_HOMESERVER_URL
  ? {
      url: process.env.AGENT_ROOM_TEST_HOMESERVER_URL.replace(/\/+$/, ''),
      token: process.env.AGENT_ROOM_TEST_REGISTRATION_TOKEN,
    }
  : undefined;

export async function startMatrixTarget(opts: {
  serverName: string;
  registrationToken?: string;
}): Promise<MatrixTarget> {
  const local = externalTarget
    ? undefined
    : await startHomeserver({
        serverName: opts.serverName,
        ...(opts.registrationToken ? { registrationToken: opts.registrationToken } : {}),
      });
  const url = externalTarget?.url ?? local!.url;
  const registrationToken = externalTarget ? externalTarget.token : opts.registrationToken;
  const suffix = externalTarget ? `t${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}` : '';
  let serverName = opts.serverName;
  if (externalTarget) {
    const res = await fetch(`${url}/_matrix/client/versions`);
    if (!res.ok) throw new Error(`AGENT_ROOM_TEST_HOMESERVER_URL=${url} answered /versions with HTTP ${res.status}`);
    serverName = '';
  }
  const register = async (localpart: string, password: string) => {
    const client = createClient({ baseUrl: url, logger: quiet });
    const username = `${localpart}${suffix}`;
    let auth: Record<string, unknown> = { type: 'm.login.dummy' };
    // User-interactive auth: follow the server's flow (registration token, then dummy, on Synapse).
    for (let step = 0; step < 4; step++) {
      try {
        const res = await client.registerRequest({ username, password, auth: auth as never });
        serverName ||= res.user_id.slice(res.user_id.indexOf(':') + 1);
        return { userId: res.user_id, deviceId: res.device_id!, accessToken: res.access_token! };
      } catch (err) {
        const data = (err as { data?: { session?: string; flows?: Array<{ stages: string[] }>; completed?: string[] } })
          .data;
        if (!data?.flows) throw err;
        const done = new Set(data.completed ?? []);
        const next = data.flows[0]!.stages.find((s) => !done.has(s));
        if (!next) throw err;
        auth = {
          type: next,
          session: data.session,
          ...(next === 'm.login.registration_token' ? { token: registrationToken } : {}),
        };
      }
    }
    throw new Error(`registering ${username} did not finish`);
  };
  // The server name is the part after ':' in a user id: a first account tells it.
  if (externalTarget) await register('probe', `probe-${suffix}-0123456789`);
  return {
    url,
    registrationToken,
    suffix,
    get serverName() {
      return serverName;
    },
    local,
    register,
    close: async () => {
      await local?.close();
    },
  };
}
