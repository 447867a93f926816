// The sidebar: the team room and direct messages with unread counts, invites to accept, and the panels.
import type { MatrixClient } from 'matrix-js-sdk';
import { useRooms, type RoomSummary } from '../matrix/hooks.ts';

export type View = { kind: 'room'; roomId: string } | { kind: 'status' | 'models' | 'bots' | 'audit' | 'settings' };

const PANELS = [
  { kind: 'status', label: 'Status' },
  { kind: 'models', label: 'Models' },
  { kind: 'bots', label: 'Bots' },
  { kind: 'audit', label: 'Audit' },
  { kind: 'settings', label: 'Settings' },
] as const;

/** A room in the list: opens it, or accepts the invite and opens it; its unread count. */
function RoomItem({
  client,
  room: r,
  current,
  onView,
}: {
  client: MatrixClient;
  room: RoomSummary;
  current: boolean;
  onView: (v: View) => void;
}) {
  if (r.membership === 'invite') {
    return (
      <li>
        <button
          type="button"
          className="nav-item"
          onClick={() => void client.joinRoom(r.roomId).then(() => onView({ kind: 'room', roomId: r.roomId }))}
          aria-label={`Accept invite to ${r.name}`}
        >
          <span className="nav-label">{r.name}</span>
          <span className="badge">invite</span>
        </button>
      </li>
    );
  }
  return (
    <li>
      <button
        type="button"
        className={`nav-item${current ? ' current' : ''}${r.unread > 0 ? ' unread' : ''}`}
        aria-current={current ? 'page' : undefined}
        onClick={() => onView({ kind: 'room', roomId: r.roomId })}
        aria-label={`${r.name}${r.unread ? `, ${r.unread} unread` : ''}`}
      >
        <span className="nav-label">{r.name}</span>
        {r.unread > 0 && (
          <span className="count" aria-hidden="true">
            {r.unread}
          </span>
        )}
      </button>
    </li>
  );
}

export function Sidebar({
  client,
  teamRoomId,
  view,
  onView,
  downloads,
}: {
  client: MatrixClient;
  teamRoomId: string;
  view: View;
  onView: (v: View) => void;
  downloads: number;
}) {
  const rooms = useRooms(client, teamRoomId);
  const team = rooms.filter((r) => !r.isDirect);
  const direct = rooms.filter((r) => r.isDirect);
  const roomButton = (r: RoomSummary) => (
    <RoomItem
      key={r.roomId}
      client={client}
      room={r}
      current={view.kind === 'room' && view.roomId === r.roomId}
      onView={onView}
    />
  );
  return (
    <nav className="sidebar" aria-label="Rooms and panels">
      <div className="brand">Agent Room</div>
      <h2 className="nav-heading">Rooms</h2>
      <ul className="nav-list">{team.map(roomButton)}</ul>
      {direct.length > 0 && (
        <>
          <h2 className="nav-heading">Direct messages</h2>
          <ul className="nav-list">{direct.map(roomButton)}</ul>
        </>
      )}
      <h2 className="nav-heading">App</h2>
      <ul className="nav-list">
        {PANELS.map((p) => (
          <li key={p.kind}>
            <button
              type="button"
              className={`nav-item${view.kind === p.kind ? ' current' : ''}`}
              aria-current={view.kind === p.kind ? 'page' : undefined}
              onClick={() => onView({ kind: p.kind })}
            >
              <span className="nav-label">{p.label}</span>
              {p.kind === 'models' && downloads > 0 && (
                <span className="count" aria-label={`${downloads} downloads running`}>
                  {downloads}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
