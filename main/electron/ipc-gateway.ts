// The one place that talks ipcMain: a handler per contract channel that first checks who is calling
// (our window, our page, its top frame), then validates the request with the channel's schema, and
// only then runs the handler. Answers are ControlResults, so errors keep their code and hint.
import { ipcMain, type IpcMainInvokeEvent, type WebFrameMain } from 'electron';
import {
  CHANNELS,
  EVENTS,
  ControlError,
  dispatchChannel,
  ipcChannelName,
  ipcEventName,
  type Channel,
  type ControlErrorPayload,
  type ControlResult,
  type EventSource,
  type Handlers,
  type Res,
  type Unsubscribe,
} from '../common/contract.ts';
import { isAppUrl } from './web-security.ts';

/** The one page allowed to call: its webContents id, top frame and URL. Undefined while no window exists. */
export interface TrustedPage {
  webContentsId: number;
  mainFrame: WebFrameMain;
  /** The URL the window loaded: app://agent-room/index.html, or the dev server's page in development. */
  appUrl: string;
}

export interface GatewayLogger {
  warn(obj: object, msg: string): void;
}

/** The facts of an invoke event the check needs (IpcMainInvokeEvent has them all). */
export interface SenderFacts {
  sender: { id: number };
  senderFrame: Pick<WebFrameMain, 'url' | 'parent'> | null;
}

/** Why a sender is refused, or undefined when it is our window's top frame on our page. */
export function senderRefusal(event: SenderFacts, trusted: TrustedPage | undefined): string | undefined {
  if (!trusted) return 'no chat window is open';
  if (event.sender.id !== trusted.webContentsId) return 'the call came from another web contents';
  const frame = event.senderFrame;
  if (!frame) return 'the calling frame is gone';
  // Identity with mainFrame is the check that counts; parent === null guards against a stale cache.
  if (frame !== trusted.mainFrame || frame.parent !== null) return 'the call came from a subframe';
  // Our origin only (app://agent-room): file:, http(s) and other custom schemes are never the app.
  if (!isAppUrl(frame.url, trusted.appUrl)) return `the page ${safeUrl(frame.url)} is not the app`;
  return undefined;
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export interface IpcGatewayOptions {
  handlers: Handlers;
  trusted: () => TrustedPage | undefined;
  logger?: GatewayLogger;
}

export class IpcGateway {
  #registered = false;

  constructor(private readonly options: IpcGatewayOptions) {}

  /** Registers ipcMain.handle for every channel of the contract. */
  register(): void {
    if (this.#registered) return;
    for (const channel of CHANNELS) {
      ipcMain.handle(ipcChannelName(channel), (event: IpcMainInvokeEvent, ...args: unknown[]) =>
        this.handle(channel, event, args),
      );
    }
    this.#registered = true;
  }

  /** One call: sender check, then argument count and schema, then the handler. Never throws. */
  async handle<K extends Channel>(channel: K, event: SenderFacts, args: unknown[]): Promise<ControlResult<Res<K>>> {
    const refusal = senderRefusal(event, this.options.trusted());
    if (refusal) {
      this.options.logger?.warn({ channel, reason: refusal }, 'ipc: refused a call');
      return { ok: false, error: refused(refusal) };
    }
    if (args.length > 1) {
      return {
        ok: false,
        error: new ControlError(
          'BadRequest',
          `${channel} takes one request object, got ${args.length} arguments.`,
        ).toPayload(),
      };
    }
    return dispatchChannel(this.options.handlers, channel, args[0]);
  }

  dispose(): void {
    for (const channel of CHANNELS) ipcMain.removeHandler(ipcChannelName(channel));
    this.#registered = false;
  }
}

function refused(reason: string): ControlErrorPayload {
  return new ControlError('Forbidden', `Refused: ${reason}.`).toPayload();
}

/** Forwards every contract event to the page (webContents.send on our window only). */
export function forwardEvents(events: EventSource, send: (channel: string, payload: unknown) => void): Unsubscribe {
  const offs = EVENTS.map((event) => events.on(event, (payload) => send(ipcEventName(event), payload)));
  return () => {
    for (const off of offs) off();
  };
}
