// Accounts and the team room on the test homeserver, through the client-server API as a provisioner would.

export interface Account {
  userId: string;
  accessToken: string;
  deviceId: string;
}

async function cs<T>(base: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/_matrix/client/v3${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T & { errcode?: string; error?: string; session?: string };
  if (!res.ok && !(res.status === 401 && json.session)) throw new Error(`${method} ${path} → ${res.status} ${json.errcode ?? ''} ${json.error ?? ''}`);
  return json;
}

export function client(base: string, token: string) {
  return {
    get: <T>(path: string) => cs<T>(base, 'GET', path, token),
    post: <T>(path: string, body: unknown) => cs<T>(base, 'POST', path, token, body),
    put: <T>(path: string, body: unknown) => cs<T>(base, 'PUT', path, token, body),
  };
}

/** Registers a user with the dummy flow (the test homeserver's registration without a token). */
export async function register(base: string, username: string, displayName: string): Promise<Account> {
  const first = await cs<{ session?: string; access_token?: string; user_id?: string; device_id?: string }>(base, 'POST', '/register', undefined, {
    username,
    password: `pw-${username}-e2e`,
  });
  const done = first.access_token
    ? first
    : await cs<{ access_token: string; user_id: string; device_id: string }>(base, 'POST', '/register', undefined, {
        username,
        password: `pw-${username}-e2e`,
        auth: { type: 'm.login.dummy', session: first.session },
      });
  const account = { userId: done.user_id!, accessToken: done.access_token!, deviceId: done.device_id! };
  await client(base, account.accessToken).put(`/profile/${encodeURIComponent(account.userId)}/displayname`, { displayname: displayName });
  return account;
}

/** The owner creates the team room and invites the bots; each bot joins. */
export async function createTeamRoom(base: string, owner: Account, bots: Account[], name: string, topic: string): Promise<string> {
  const { room_id } = await client(base, owner.accessToken).post<{ room_id: string }>('/createRoom', {
    name,
    topic,
    preset: 'private_chat',
    invite: bots.map((b) => b.userId),
  });
  for (const bot of bots) await client(base, bot.accessToken).post(`/rooms/${encodeURIComponent(room_id)}/join`, {});
  return room_id;
}
