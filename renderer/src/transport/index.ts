// Picks the transport: the preload bridge in the desktop app, HTTP/WebSocket with the session token in serve.
import type { AgentRoomApi } from '../../../main/common/contract-api.ts';
import { createHttpApi } from './http-transport.ts';

declare global {
  interface Window {
    agentRoom?: AgentRoomApi;
  }
}

const TOKEN_KEY = 'agent-room.control-token';

/** The serve URL carries the token in its fragment; keep it for reloads and remove it from the address bar. */
export function takeToken(location: Location, storage: Storage, history: History): string | undefined {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (match?.[1]) {
    storage.setItem(TOKEN_KEY, match[1]);
    history.replaceState(null, '', location.pathname + location.search);
    return match[1];
  }
  return storage.getItem(TOKEN_KEY) ?? undefined;
}

export function getApi(): AgentRoomApi | undefined {
  if (window.agentRoom) return window.agentRoom;
  const token = takeToken(window.location, window.sessionStorage, window.history);
  if (!token) return undefined;
  return createHttpApi({ baseUrl: window.location.origin, token });
}
