// What a bot does about a message it cannot decrypt: says so once in the room, asks for the key (the SDK's
// backup download runs by itself; an m.room_key_request goes to the sender's devices), and hands the message
// back to the runner when its key arrives and the SDK decrypts it.
import { MatrixEventEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';

/** Decision: announce a failure in a room unless it was announced within the cooldown and not recovered since. */
export function shouldAnnounce(lastAnnouncedAt: number | undefined, now: number, cooldownMs: number): boolean {
  return lastAnnouncedAt === undefined || now - lastAnnouncedAt >= cooldownMs;
}

/** Decision: which failed events the bot cares about: others' messages, sent after `notBefore`. */
export function caresAbout(
  event: { sender: string | undefined; ts: number; redacted: boolean },
  ownUserId: string,
  notBefore: number,
): boolean {
  return event.sender !== undefined && event.sender !== ownUserId && !event.redacted && event.ts >= notBefore;
}

export function failureNotice(senderName: string): string {
  return `I can't read a message from ${senderName} yet: its room key hasn't reached me. I've asked for it and will answer as soon as it arrives.`;
}

export interface DecryptionWatcherOptions {
  /** Posts the notice (the runner sends it encrypted, as an m.notice); called at most once per room per cooldown. */
  notify(roomId: string, text: string): Promise<unknown>;
  /** A message that failed earlier is now decrypted: the runner handles it as if it had just arrived. */
  onRecovered(roomId: string, event: MatrixEvent): void;
  /** Failures of events older than this (ms since epoch) are ignored: old history is not news. Default: start time minus 5 minutes. */
  notBefore?: number;
  cooldownMs?: number;
  /** After a hold ends, how long failures keep being retried before one is announced. Default 10 s. */
  holdGraceMs?: number;
  /** Send m.room_key_request to the sender's devices; default true. */
  requestKeys?: boolean;
  now?: () => number;
  logger?: { warn(obj: object, msg?: string): void };
}

export interface DecryptionWatcher {
  /** Event ids that failed and have not been decrypted yet. */
  pending(): string[];
  /** Tries the pending events again (e.g. after a backup key was loaded). */
  retry(): Promise<void>;
  /**
   * Failures in the room wait for `until` (a join that imports the room's history keys) before being announced;
   * then they are tried again, and only what still fails is announced.
   */
  hold(roomId: string, until: Promise<unknown>): void;
  stop(): void;
}

/** Asks the sender's devices for the event's room key (m.room_key_request); nothing when the event names no session. */
async function requestRoomKey(client: MatrixClient, event: MatrixEvent, requestId: () => string): Promise<void> {
  const wire = event.getWireContent() as { algorithm?: string; sender_key?: string; session_id?: string };
  const sender = event.getSender();
  if (!sender || wire.session_id === undefined || wire.algorithm === undefined) return;
  const content = {
    action: 'request',
    body: {
      algorithm: wire.algorithm,
      room_id: event.getRoomId(),
      sender_key: wire.sender_key,
      session_id: wire.session_id,
    },
    request_id: requestId(),
    requesting_device_id: client.getDeviceId(),
  };
  await client.sendToDevice('m.room_key_request', new Map([[sender, new Map([['*', content]])]]));
}

export function watchDecryptionFailures(client: MatrixClient, opts: DecryptionWatcherOptions): DecryptionWatcher {
  const now = opts.now ?? Date.now;
  const notBefore = opts.notBefore ?? now() - 5 * 60_000;
  const cooldownMs = opts.cooldownMs ?? 10 * 60_000;
  const announced = new Map<string, number>();
  const pending = new Map<string, MatrixEvent>();
  const holds = new Map<string, Promise<unknown>>();
  let requestSeq = 0;

  const requestKey = (event: MatrixEvent): Promise<void> =>
    requestRoomKey(client, event, () => `ar${now().toString(36)}${++requestSeq}`);

  const onDecrypted = (event: MatrixEvent): void => {
    const id = event.getId();
    const roomId = event.getRoomId();
    if (id === undefined || roomId === undefined) return;
    if (!event.isDecryptionFailure()) {
      if (pending.delete(id)) {
        announced.delete(roomId);
        opts.onRecovered(roomId, event);
      }
      return;
    }
    if (
      pending.has(id) ||
      !caresAbout(
        { sender: event.getSender(), ts: event.getTs(), redacted: event.isRedacted() },
        client.getUserId() ?? '',
        notBefore,
      )
    )
      return;
    pending.set(id, event);
    if (holds.has(roomId)) return;
    announce(roomId, event);
  };

  const announce = (roomId: string, event: MatrixEvent): void => {
    const id = event.getId() ?? '';
    if (opts.requestKeys !== false)
      requestKey(event).catch((err: unknown) =>
        opts.logger?.warn({ err: String(err), eventId: id }, 'room key request failed'),
      );
    if (!shouldAnnounce(announced.get(roomId), now(), cooldownMs)) return;
    announced.set(roomId, now());
    const sender = event.getSender() ?? 'someone';
    const name = client.getRoom(roomId)?.getMember(sender)?.name ?? sender;
    opts
      .notify(roomId, failureNotice(name))
      .catch((err: unknown) => opts.logger?.warn({ err: String(err), roomId }, 'could not post the decryption notice'));
  };

  client.on(MatrixEventEvent.Decrypted, onDecrypted);
  return {
    pending: () => [...pending.keys()],
    retry: async () => {
      for (const e of [...pending.values()]) await client.decryptEventIfNeeded(e, { isRetry: true });
    },
    hold: (roomId, until) => {
      const settled = until.then(
        () => undefined,
        () => undefined,
      );
      holds.set(roomId, settled);
      void settled.then(async () => {
        if (holds.get(roomId) !== settled) return;
        holds.delete(roomId);
        const waiting = [...pending.values()].filter((e) => e.getRoomId() === roomId);
        const failing = () => waiting.filter((e) => pending.has(e.getId() ?? '') && e.isDecryptionFailure());
        // The history bundle is imported after the join, in the background: give it a moment (longer on a
        // busy machine) before telling the room a message cannot be read.
        const end = now() + (opts.holdGraceMs ?? 10_000);
        do {
          for (const e of failing()) await client.decryptEventIfNeeded(e, { isRetry: true });
          if (failing().length === 0 || now() >= end) break;
          await new Promise((r) => setTimeout(r, 500));
        } while (holds.get(roomId) === undefined);
        for (const e of failing()) announce(roomId, e);
      });
    },
    stop: () => {
      client.off(MatrixEventEvent.Decrypted, onDecrypted);
    },
  };
}

/**
 * The event as the runner should read it: the decrypted clear event for m.room.encrypted (waiting for the
 * decryption under way), the event itself otherwise; undefined when it cannot be decrypted (the watcher handles it).
 */
export async function readableEvent(
  client: MatrixClient,
  event: MatrixEvent,
): Promise<Record<string, unknown> | undefined> {
  await client.decryptEventIfNeeded(event);
  if (event.isDecryptionFailure()) return undefined;
  return structuredClone(event.getEffectiveEvent()) as unknown as Record<string, unknown>;
}
