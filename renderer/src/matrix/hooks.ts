// React hooks over matrix-js-sdk: rooms, a room's events (re-read on every timeline change and decryption, so
// edits, local echoes and late room keys show at once), typing members, unread counts, scrollback.
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import {
  ClientEvent,
  Direction,
  EventStatus,
  KnownMembership,
  MatrixEventEvent,
  RoomEvent,
  RoomMemberEvent,
  RoomStateEvent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from 'matrix-js-sdk';
import type { RawEvent } from '../lib/timeline.ts';

function decryptionState(ev: MatrixEvent, failed: boolean): NonNullable<RawEvent['decryption']> {
  if (!failed) return 'pending';
  // Sent before this device existed: only the key backup can still bring its key.
  return String(ev.decryptionFailureReason ?? '').startsWith('HISTORICAL_MESSAGE') ? 'historical' : 'failed';
}

export function toRawEvent(ev: MatrixEvent): RawEvent {
  // An encrypted event without clear content (its keys have not arrived, or decryption failed) is shown as
  // m.room.encrypted with its wire content; m.relates_to stays readable there, so an edit is still known as one.
  const failed = ev.isDecryptionFailure();
  const undecrypted = failed || (ev.isEncrypted() && ev.getClearContent() === null);
  const wire = ev.getWireContent() as Record<string, unknown>;
  // The original content: the timeline projection applies edits itself, the same way for every source.
  const clear = undecrypted ? wire : ((ev.getOriginalContent() ?? {}) as Record<string, unknown>);
  const content =
    clear['m.relates_to'] === undefined && wire['m.relates_to'] !== undefined
      ? { ...clear, 'm.relates_to': wire['m.relates_to'] }
      : clear;
  return {
    eventId: ev.getId() ?? ev.getTxnId() ?? '',
    type: undecrypted ? 'm.room.encrypted' : ev.getType(),
    sender: ev.getSender() ?? '',
    ts: ev.getTs(),
    content,
    ...(ev.isEncrypted() ? { e2e: true } : {}),
    ...(undecrypted ? { decryption: decryptionState(ev, failed) } : {}),
    redacted: ev.isRedacted(),
    pending: ev.status !== null && ev.status !== EventStatus.SENT,
    failed: ev.status === EventStatus.NOT_SENT,
  };
}

/** Emitters typed per event; these hooks listen to several with one callback that takes no arguments. */
interface LooseEmitter {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}
function listenAll(emitter: unknown, events: readonly string[], listener: () => void): () => void {
  const e = emitter as LooseEmitter;
  for (const name of events) e.on(name, listener);
  return () => {
    for (const name of events) e.off(name, listener);
  };
}

/** A counter that changes whenever one of the given emitter events fires. */
function useVersion(subscribe: (bump: () => void) => () => void): number {
  const [version, setVersion] = useState(0);
  useEffect(() => subscribe(() => setVersion((v) => v + 1)), [subscribe]);
  return version;
}

export interface RoomSummary {
  roomId: string;
  name: string;
  membership: string;
  isDirect: boolean;
  unread: number;
}

function directRoomIds(client: MatrixClient): Set<string> {
  const content = client.getAccountData('m.direct' as never)?.getContent() as Record<string, string[]> | undefined;
  return new Set(Object.values(content ?? {}).flat());
}

/** Messages from others after my read receipt. */
export function unreadCount(room: Room, me: string): number {
  const readUpTo = room.getEventReadUpTo(me);
  const events = room.getLiveTimeline().getEvents();
  let count = 0;
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!;
    if (ev.getId() === readUpTo) break;
    const rel = ev.getOriginalContent()['m.relates_to'] as { rel_type?: string } | undefined;
    if (ev.getType() === 'm.room.message' && ev.getSender() !== me && rel?.rel_type !== 'm.replace') count++;
  }
  return count;
}

export function useRooms(client: MatrixClient, teamRoomId: string): RoomSummary[] {
  const subscribe = useCallback(
    (bump: () => void) => {
      return listenAll(
        client,
        [
          ClientEvent.Room,
          ClientEvent.DeleteRoom,
          ClientEvent.AccountData,
          RoomEvent.MyMembership,
          RoomEvent.Name,
          RoomEvent.Timeline,
          RoomEvent.Receipt,
        ],
        bump,
      );
    },
    [client],
  );
  useVersion(subscribe);
  const me = client.getUserId() ?? '';
  const direct = directRoomIds(client);
  return client
    .getRooms()
    .filter((r) => r.getMyMembership() === KnownMembership.Join || r.getMyMembership() === KnownMembership.Invite)
    .map((r) => ({
      roomId: r.roomId,
      name: r.name || r.roomId,
      membership: r.getMyMembership(),
      isDirect: direct.has(r.roomId) || (r.roomId !== teamRoomId && r.getJoinedMemberCount() <= 2),
      unread: unreadCount(r, me),
    }))
    .sort((a, b) => Number(b.roomId === teamRoomId) - Number(a.roomId === teamRoomId) || a.name.localeCompare(b.name));
}

/** The room's loaded events, re-read whenever the timeline, an echo, a redaction or a decryption changes. */
export function useRoomEvents(room: Room | null, client?: MatrixClient): RawEvent[] {
  const subscribe = useCallback(
    (bump: () => void) => {
      if (!room) return () => undefined;
      const off = listenAll(
        room,
        [
          RoomEvent.Timeline,
          RoomEvent.TimelineReset,
          RoomEvent.LocalEchoUpdated,
          RoomEvent.Redaction,
          RoomEvent.RedactionCancelled,
        ],
        bump,
      );
      // A message (or a streaming edit) that arrives encrypted is decrypted after it joined the timeline; a
      // room key that arrives later (to-device, key backup) decrypts it again: both re-render.
      const onDecrypted = (ev: MatrixEvent) => {
        if (ev.getRoomId() === room.roomId) bump();
      };
      client?.on(MatrixEventEvent.Decrypted, onDecrypted);
      return () => {
        off();
        client?.off(MatrixEventEvent.Decrypted, onDecrypted);
      };
    },
    [room, client],
  );
  const version = useVersion(subscribe);
  void version;
  if (!room) return [];
  return room.getLiveTimeline().getEvents().map(toRawEvent);
}

/** Whether the room is end-to-end encrypted (its m.room.encryption state); re-read on state changes. */
export function useRoomEncrypted(room: Room | null): boolean {
  const subscribe = useCallback(
    (bump: () => void) => (room ? listenAll(room, [RoomStateEvent.Events], bump) : () => undefined),
    [room],
  );
  useVersion(subscribe);
  return room?.hasEncryptionStateEvent() ?? false;
}

/** User ids typing in the room, me excluded. */
export function useTyping(client: MatrixClient, room: Room | null): string[] {
  const subscribe = useCallback(
    (bump: () => void) => {
      client.on(RoomMemberEvent.Typing, bump);
      return () => void client.off(RoomMemberEvent.Typing, bump);
    },
    [client],
  );
  useVersion(subscribe);
  if (!room) return [];
  const me = client.getUserId();
  return room.currentState
    .getMembers()
    .filter((m) => m.typing && m.userId !== me)
    .map((m) => m.userId);
}

/** True once the room's first event is loaded (or the server has nothing older). */
function isAtStart(room: Room): boolean {
  const timeline = room.getLiveTimeline();
  return (
    timeline.getPaginationToken(Direction.Backward) === null || timeline.getEvents()[0]?.getType() === 'm.room.create'
  );
}

/** Scrollback: loads older events; `atStart` once the room's creation is reached. */
export function useScrollback(
  client: MatrixClient,
  room: Room | null,
): { loading: boolean; atStart: boolean; loadOlder: () => Promise<void> } {
  const [loading, setLoading] = useState(false);
  const [, setTick] = useState(0);
  const atStart = room ? isAtStart(room) : true;
  const loadOlder = useCallback(async () => {
    if (!room || loading || isAtStart(room)) return;
    setLoading(true);
    try {
      await client.scrollback(room, 30);
    } finally {
      setLoading(false);
      setTick((t) => t + 1);
    }
  }, [client, room, loading]);
  return { loading, atStart, loadOlder };
}

/** Re-renders on the client's sync state (for the connection dot). */
export function useSyncState(client: MatrixClient): string | null {
  return useSyncExternalStore(
    (cb) => {
      client.on(ClientEvent.Sync, cb);
      return () => void client.off(ClientEvent.Sync, cb);
    },
    () => client.getSyncState(),
  );
}
