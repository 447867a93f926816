// The preload: exposes window.agentRoom, the contract's domain methods (agentRoom.status.get(), …) and
// subscriptions (agentRoom.onStatusChanged(cb) → unsubscribe). No generic send or invoke reaches the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { createApi, type AgentRoomApi } from '../common/contract-api.ts';
import {
  ipcChannelName,
  ipcEventName,
  isControlErrorPayload,
  type Channel,
  type ControlResult,
  type EventListener,
  type EventName,
  type ReqInput,
  type Res,
} from '../common/contract.ts';

/**
 * Rejections carry a ControlErrorPayload (plain data: code, message, hint, issues) rather than an Error,
 * because contextBridge copies only an Error's message. The renderer turns it into a ControlError.
 */
async function call<K extends Channel>(channel: K, request: ReqInput<K>): Promise<Res<K>> {
  const result = (await ipcRenderer.invoke(ipcChannelName(channel), request)) as ControlResult<Res<K>> | undefined;
  if (result && result.ok) return result.value;
  if (result && isControlErrorPayload(result.error)) throw result.error;
  throw { name: 'ControlError', code: 'Internal', message: `${channel} answered nothing the app understands.` };
}

function subscribe<E extends EventName>(event: E, listener: EventListener<E>) {
  const channel = ipcEventName(event);
  // The IPC event object stays here: the page gets the payload only (it holds sender internals).
  const wrapped = (_event: IpcRendererEvent, payload: unknown) => listener(payload as Parameters<EventListener<E>>[0]);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.removeListener(channel, wrapped);
  };
}

export const api: AgentRoomApi = createApi(call, subscribe);

contextBridge.exposeInMainWorld('agentRoom', api);
