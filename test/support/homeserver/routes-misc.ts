// Discovery and small endpoints: versions, capabilities, push rules, presence, user directory, third-party, VoIP.
import { asObject, badJson, forbidden, notFound } from './errors.ts';
import type { Hs } from './context.ts';
import type { Route } from './router.ts';
import { defaultPushRules } from './push-rules.ts';
import { SUPPORTED_ROOM_VERSIONS } from './routes-rooms.ts';

export const SPEC_VERSIONS = [
  'r0.0.1',
  'r0.1.0',
  'r0.2.0',
  'r0.3.0',
  'r0.4.0',
  'r0.5.0',
  'r0.6.0',
  'r0.6.1',
  'v1.1',
  'v1.2',
  'v1.3',
  'v1.4',
  'v1.5',
  'v1.6',
  'v1.7',
  'v1.8',
  'v1.9',
  'v1.10',
  'v1.11',
];

export function miscRoutes(hs: Hs): Route[] {
  const presence = new Map<string, { presence: string; status_msg?: string; ts: number }>();
  return [
    {
      method: 'GET',
      pattern: 'root:/_matrix/client/versions',
      auth: 'optional',
      handler: () => ({ body: { versions: SPEC_VERSIONS, unstable_features: {} } }),
    },
    {
      method: 'GET',
      pattern: 'client:/capabilities',
      auth: 'required',
      handler: () => ({
        body: {
          capabilities: {
            'm.change_password': { enabled: false },
            'm.room_versions': {
              default: hs.config.defaultRoomVersion,
              available: Object.fromEntries(SUPPORTED_ROOM_VERSIONS.map((v) => [v, 'stable'])),
            },
            'm.set_displayname': { enabled: true },
            'm.set_avatar_url': { enabled: true },
            'm.3pid_changes': { enabled: false },
            'm.get_login_token': { enabled: false },
          },
        },
      }),
    },
    {
      method: 'GET',
      pattern: 'client:/pushrules/',
      auth: 'required',
      handler: (ctx) => ({ body: defaultPushRules(ctx.caller.userId) }),
    },
    {
      method: 'GET',
      pattern: 'client:/pushrules/global/',
      auth: 'required',
      handler: (ctx) => ({ body: defaultPushRules(ctx.caller.userId).global }),
    },
    { method: 'GET', pattern: 'client:/pushers', auth: 'required', handler: () => ({ body: { pushers: [] } }) },
    { method: 'GET', pattern: 'client:/thirdparty/protocols', auth: 'required', handler: () => ({ body: {} }) },
    // No TURN server: the spec's response is an object; an empty one tells clients there is none.
    { method: 'GET', pattern: 'client:/voip/turnServer', auth: 'required', handler: () => ({ body: {} }) },
    {
      method: 'POST',
      pattern: 'client:/user_directory/search',
      auth: 'required',
      handler: (ctx) => {
        const body = asObject(ctx.body);
        if (typeof body.search_term !== 'string') throw badJson('search_term must be a string');
        const term = body.search_term.toLowerCase();
        const limit = typeof body.limit === 'number' ? body.limit : 10;
        const all = [...hs.store.users.values()].filter(
          (u) => u.userId.toLowerCase().includes(term) || (u.displayname ?? '').toLowerCase().includes(term),
        );
        return {
          body: {
            limited: all.length > limit,
            results: all
              .slice(0, limit)
              .map((u) => ({ user_id: u.userId, display_name: u.displayname, avatar_url: u.avatarUrl })),
          },
        };
      },
    },
    {
      method: 'PUT',
      pattern: 'client:/presence/:userId/status',
      auth: 'required',
      handler: (ctx) => {
        if (ctx.params.userId !== ctx.caller.userId) throw forbidden('Can only set your own presence');
        const body = asObject(ctx.body);
        if (typeof body.presence !== 'string' || !['online', 'offline', 'unavailable'].includes(body.presence))
          throw badJson('presence must be online, offline or unavailable');
        presence.set(ctx.caller.userId, {
          presence: body.presence,
          status_msg: typeof body.status_msg === 'string' ? body.status_msg : undefined,
          ts: Date.now(),
        });
        return { body: {} };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/presence/:userId/status',
      auth: 'required',
      handler: (ctx) => {
        const userId = ctx.params.userId as string;
        if (!hs.store.users.has(userId)) throw notFound('Unknown user');
        const p = presence.get(userId);
        return {
          body: p
            ? { presence: p.presence, status_msg: p.status_msg, last_active_ago: Date.now() - p.ts }
            : { presence: 'offline' },
        };
      },
    },
  ];
}
