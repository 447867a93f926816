// The domain-method object derived from the contract: api.status.get(), api.bots.setModel({...}),
// api.onStatusChanged(cb) → unsubscribe. The preload builds it over IPC and the renderer's HTTP/WS
// transport builds the same shape, so the chat window cannot tell which shell it runs in.
import {
  CHANNELS,
  EVENTS,
  type Channel,
  type EventListener,
  type EventName,
  type ReqInput,
  type Res,
  type Unsubscribe,
} from './contract.ts';

type Namespace<K extends string> = K extends `${infer N}.${string}` ? N : never;
type MethodOf<K extends string, N extends string> = K extends `${N}.${infer M}` ? M : never;

/** A method takes no argument when its request may be undefined. */
export type ApiMethod<K extends Channel> =
  undefined extends ReqInput<K>
    ? (request?: ReqInput<K>) => Promise<Res<K>>
    : (request: ReqInput<K>) => Promise<Res<K>>;

export type ApiNamespaces = {
  [N in Namespace<Channel>]: { [M in MethodOf<Channel, N>]: ApiMethod<Extract<`${N}.${M}`, Channel>> };
};

/** 'status.changed' → 'onStatusChanged'. */
export type SubscriptionName<E extends string> = E extends `${infer N}.${infer M}`
  ? `on${Capitalize<N>}${Capitalize<M>}`
  : never;

export type ApiSubscriptions = {
  [E in EventName as SubscriptionName<E>]: (listener: EventListener<E>) => Unsubscribe;
};

/** window.agentRoom in the desktop shell; the renderer's transport object in serve. */
export type AgentRoomApi = ApiNamespaces & ApiSubscriptions;

/** Sends one request; resolves with the response or rejects with a ControlErrorPayload / ControlError. */
export type Call = <K extends Channel>(channel: K, request: ReqInput<K>) => Promise<Res<K>>;
export type Subscribe = <E extends EventName>(event: E, listener: EventListener<E>) => Unsubscribe;

export function subscriptionName<E extends EventName>(event: E): SubscriptionName<E> {
  const [ns = '', method = ''] = event.split('.');
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return `on${cap(ns)}${cap(method)}` as SubscriptionName<E>;
}

/**
 * Builds the domain-method object over a transport. Only named methods come out: `call` and
 * `subscribe` stay inside, so the page never gets a generic send.
 */
export function createApi(call: Call, subscribe: Subscribe): AgentRoomApi {
  const api: Record<string, unknown> = {};
  for (const channel of CHANNELS) {
    const [ns = '', method = ''] = channel.split('.');
    const group = (api[ns] ??= {}) as Record<string, unknown>;
    group[method] = (request?: unknown) => call(channel, request as ReqInput<typeof channel>);
  }
  for (const event of EVENTS) {
    api[subscriptionName(event)] = (listener: EventListener<typeof event>) => {
      if (typeof listener !== 'function') throw new TypeError(`${subscriptionName(event)} needs a function.`);
      return subscribe(event, listener);
    };
  }
  return api as AgentRoomApi;
}
