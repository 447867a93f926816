// One fake control API for the renderer tests: the real createApi over canned handlers, one per channel a test
// needs (a channel without one rejects, as an unknown channel would), a log of the calls made, and emit() to push
// an event to the subscribed hooks inside act().
import { act, render, type RenderResult } from '@testing-library/react';
import { createElement, type ReactNode } from 'react';
import { createApi, type AgentRoomApi } from '../../../main/common/contract-api.ts';
import type { Channel, EventName, Events, ReqInput, Res } from '../../../main/common/contract.ts';
import { ApiContext } from '../../../renderer/src/hooks/control.ts';

/** A canned answer to one channel: a value, a promise of one, or a throw (a rejection). */
export type FakeHandler<K extends Channel> = (request: ReqInput<K>) => Res<K> | Promise<Res<K>>;
export type FakeHandlers = { [K in Channel]?: FakeHandler<K> };

export interface FakeApi {
  api: AgentRoomApi;
  /** Every call made, in order: [channel, request]. */
  calls: [Channel, unknown][];
  /** Delivers an event to its current subscribers, inside act(). */
  emit: <E extends EventName>(event: E, payload: Events[E]) => void;
}

export function fakeApi(handlers: FakeHandlers = {}): FakeApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const calls: [Channel, unknown][] = [];
  const api = createApi(
    async (channel, request) => {
      calls.push([channel, request]);
      const handler = handlers[channel] as FakeHandler<typeof channel> | undefined;
      if (!handler) throw new Error(`no handler for ${channel}`);
      return await handler(request);
    },
    (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: unknown) => void);
      return () => set.delete(listener as (payload: unknown) => void);
    },
  );
  const emit = <E extends EventName>(event: E, payload: Events[E]) =>
    act(() => listeners.get(event)?.forEach((l) => l(payload)));
  return { api, calls, emit };
}

/** Renders `ui` inside the API context, as the app does. */
export function renderWithApi(api: AgentRoomApi, ui: ReactNode): RenderResult {
  return render(createElement(ApiContext.Provider, { value: api }, ui));
}
