// Allow and Deny on a bot's request to run a tool that changes something (its notice carries
// org.agentroom.approval with state "pending"): each sends the reaction the bot waits for, ✅ or ❌, as Element's
// reaction picker would; the bot then edits the notice with the outcome and the buttons go.
import { useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import type { DisplayMessage } from '../lib/timeline.ts';

export const APPROVAL_KEY = 'org.agentroom.approval';

/** The pending request's tool ("server/tool"), or undefined when the message is no pending approval. */
export function pendingApproval(content: Record<string, unknown>): string | undefined {
  const a = content[APPROVAL_KEY] as { state?: unknown; server?: unknown; tool?: unknown } | undefined;
  if (a?.state !== 'pending') return undefined;
  return `${String(a.server ?? '')}/${String(a.tool ?? '')}`;
}

export function ApprovalButtons({ msg, client }: { msg: DisplayMessage; client: MatrixClient }) {
  const [sent, setSent] = useState<'allow' | 'deny' | undefined>();
  const [error, setError] = useState<string | undefined>();
  const tool = pendingApproval(msg.content);
  if (!tool || msg.redacted) return null;
  const room = client.getRooms().find((r) => r.findEventById(msg.eventId));
  const decide = (choice: 'allow' | 'deny') => {
    if (!room) return;
    setSent(choice);
    setError(undefined);
    client
      .sendEvent(
        room.roomId,
        'm.reaction' as never,
        {
          'm.relates_to': { rel_type: 'm.annotation', event_id: msg.eventId, key: choice === 'allow' ? '✅' : '❌' },
        } as never,
      )
      .catch((err: unknown) => {
        setSent(undefined);
        setError(err instanceof Error ? err.message : String(err));
      });
  };
  return (
    <div className="msg-approval" role="group" aria-label={`Approve ${tool}`}>
      <button type="button" className="button" disabled={sent !== undefined || !room} onClick={() => decide('allow')}>
        {sent === 'allow' ? 'Allowing…' : 'Allow'}
      </button>
      <button type="button" className="button" disabled={sent !== undefined || !room} onClick={() => decide('deny')}>
        {sent === 'deny' ? 'Denying…' : 'Deny'}
      </button>
      {error && <span className="msg-error">Not sent: {error}</span>}
    </div>
  );
}
