// The control contract over HTTP and a WebSocket (serve mode): the same api object the preload gives.
import {
  ControlError,
  isControlErrorPayload,
  type Channel,
  type EventName,
  type Events,
  type ReqInput,
  type Res,
} from '../../../main/common/contract.ts';
import { createApi, type AgentRoomApi } from '../../../main/common/contract-api.ts';

export interface HttpTransportOptions {
  baseUrl: string;
  token: string;
  fetchFn?: typeof fetch;
  WebSocketImpl?: typeof WebSocket;
}

export function createHttpApi(options: HttpTransportOptions): AgentRoomApi {
  const fetchFn = options.fetchFn ?? fetch.bind(globalThis);
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let socket: WebSocket | undefined;
  let retry = 500;

  const connect = () => {
    const WS = options.WebSocketImpl ?? WebSocket;
    const url = new URL('/api/events', options.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', options.token);
    const ws = new WS(url.toString());
    socket = ws;
    ws.onopen = () => {
      retry = 500;
    };
    ws.onmessage = (msg) => {
      let parsed: { channel?: string; payload?: unknown };
      try {
        parsed = JSON.parse(String(msg.data)) as { channel?: string; payload?: unknown };
      } catch {
        return;
      }
      const set = listeners.get(parsed.channel as EventName);
      if (set) for (const l of [...set]) l(parsed.payload as never);
    };
    ws.onclose = () => {
      socket = undefined;
      if (listeners.size === 0) return;
      // The server restarts or the laptop sleeps: reconnect with a capped backoff.
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10_000);
    };
  };

  const call = async <K extends Channel>(channel: K, request: ReqInput<K>): Promise<Res<K>> => {
    const res = await fetchFn(new URL(`/api/${channel}`, options.baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${options.token}` },
      body: request === undefined ? '' : JSON.stringify(request),
    });
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new ControlError('Internal', `The app answered ${res.status} without JSON.`);
    }
    const result = body as { ok?: boolean; value?: unknown; error?: unknown };
    if (result.ok) return result.value as Res<K>;
    if (isControlErrorPayload(result.error)) throw ControlError.fromPayload(result.error);
    throw new ControlError('Internal', `The app answered ${res.status}.`);
  };

  const subscribe = <E extends EventName>(event: E, listener: (payload: Events[E]) => void) => {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    if (!socket) connect();
    return () => {
      set.delete(listener as (payload: never) => void);
      if (set.size === 0) listeners.delete(event);
      if (listeners.size === 0) socket?.close();
    };
  };

  return createApi(call, subscribe);
}
