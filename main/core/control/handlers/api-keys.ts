// The OpenAI-compatible API's keys from the window (Settings → API): list, make (shown once), revoke. The same
// store as `agent-room api-key`, so keys made either way take effect at once.
import { ControlError, type Handlers } from '../../../common/contract.ts';
import { ApiKeyError } from '../../api/api-keys.ts';
import type { HandlerContext } from './context.ts';

type ApiKeyHandlers = Pick<Handlers, 'apiKeys.list' | 'apiKeys.create' | 'apiKeys.revoke'>;

export function apiKeyHandlers({ apiKeys, apiBaseUrl }: HandlerContext): ApiKeyHandlers {
  return {
    'apiKeys.list': async () => {
      const url = apiBaseUrl();
      return { keys: await apiKeys.list(), ...(url ? { baseUrl: url } : {}) };
    },
    'apiKeys.create': async ({ name }) => {
      try {
        const { key, createdAt } = await apiKeys.create(name);
        return { name, key, createdAt, prefix: key.slice(0, 7) };
      } catch (err) {
        if (err instanceof ApiKeyError)
          throw new ControlError('BadRequest', err.message, err.hint ? { hint: err.hint } : {});
        throw err;
      }
    },
    'apiKeys.revoke': async ({ name }) => ({ revoked: await apiKeys.revoke(name) }),
  };
}
