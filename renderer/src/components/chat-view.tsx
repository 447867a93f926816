// A room: header (name, topic, status dot), timeline with edits applied live, typing line, composer,
// and a thread panel beside it, a lock in the header of an encrypted room. Reads receipts as the person reads.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import type { AppStatus, BotInfo } from '../../../main/common/contract.ts';
import type { MentionCandidate } from '../lib/autocomplete.ts';
import { localpart, shortModelName } from '../lib/format.ts';
import { buildMessageContent, type MessageContent } from '../lib/mention-content.ts';
import { latestBySender, ReplyTracker } from '../lib/replying.ts';
import { firstUnreadIndex, messageText, projectTimeline, type DisplayMessage } from '../lib/timeline.ts';
import { useRoomEncrypted, useRoomEvents, useScrollback, useTyping } from '../matrix/hooks.ts';
import { useVerifiedUsers } from '../matrix/use-encryption.ts';
import { Composer } from './composer.tsx';
import { LockIcon } from './lock-icon.tsx';
import type { SenderInfo } from './message.tsx';
import { StatusDot } from './status-dot.tsx';
import { Timeline } from './timeline.tsx';

export interface ChatViewProps {
  client: MatrixClient;
  roomId: string;
  bots: BotInfo[];
  status?: AppStatus;
  /** This window's encryption: what failed, and whether this device is cross-signed (trusted by the app's devices). */
  encryption?: EncryptionState;
}

export interface EncryptionState {
  /** Encryption did not start in this window. */
  error?: string;
  /** Cross-signing or the key backup could not be set up for this device. */
  trustError?: string;
  crossSigned?: boolean;
}

/** The header's lock: what it says about the room and this device. */
export function encryptionLabel(encrypted: boolean, state: EncryptionState | undefined): { text: string; title: string; warn: boolean } | undefined {
  if (!encrypted) return undefined;
  if (state?.error) return { text: 'Encrypted', title: `End-to-end encrypted, but not readable here: ${state.error}`, warn: true };
  if (state?.trustError) return { text: 'Encrypted', title: `End-to-end encrypted. This window could not be verified: ${state.trustError}`, warn: true };
  if (state?.crossSigned) return { text: 'Encrypted', title: 'End-to-end encrypted. This window is a verified device of yours (cross-signed).', warn: false };
  return { text: 'Encrypted', title: 'End-to-end encrypted. This window is not verified yet.', warn: false };
}

export function typingLine(names: { name: string; isBot: boolean }[]): string {
  if (names.length === 0) return '';
  const allBots = names.every((n) => n.isBot);
  const verb = allBots ? 'thinking' : 'typing';
  if (names.length === 1) return `${names[0]!.name} is ${verb}…`;
  if (names.length === 2) return `${names[0]!.name} and ${names[1]!.name} are ${verb}…`;
  return `${names.length} participants are ${verb}…`;
}

export function ChatView({ client, roomId, bots, status, encryption }: ChatViewProps) {
  const room = client.getRoom(roomId);
  const me = client.getUserId() ?? '';
  const events = useRoomEvents(room, client);
  const lock = encryptionLabel(useRoomEncrypted(room), encryption);
  const timeline = useMemo(() => projectTimeline(events), [events]);
  const typing = useTyping(client, room);
  const scroll = useScrollback(client, room);
  const [replyTo, setReplyTo] = useState<DisplayMessage>();
  const [threadRoot, setThreadRoot] = useState<string>();
  const [readMarkerAtOpen, setReadMarkerAtOpen] = useState<string | undefined>();
  const [, setMembersLoaded] = useState(0);

  useEffect(() => {
    setReplyTo(undefined);
    setThreadRoot(undefined);
    setReadMarkerAtOpen(room?.getEventReadUpTo(me) ?? undefined);
    room?.loadMembersIfNeeded().then(() => setMembersLoaded((n) => n + 1), () => undefined);
  }, [room, me]);

  // Read receipt for the newest event while this room is open and the window is visible.
  const lastEvent = room?.getLiveTimeline().getEvents().at(-1);
  useEffect(() => {
    if (!lastEvent || lastEvent.status !== null || document.visibilityState === 'hidden') return;
    if (room?.getEventReadUpTo(me) === lastEvent.getId()) return;
    client.sendReadReceipt(lastEvent).catch(() => undefined);
  }, [client, room, me, lastEvent]);

  const botByUser = useMemo(() => new Map(bots.filter((b) => b.userId).map((b) => [b.userId!, b])), [bots]);
  const verifiedBots = useVerifiedUsers(client, [...botByUser.keys()]);
  const senderInfo = (userId: string): SenderInfo => {
    const bot = botByUser.get(userId);
    const member = room?.getMember(userId);
    return {
      name: member?.name ?? bot?.config.displayName ?? localpart(userId),
      avatarMxc: member?.getMxcAvatarUrl() ?? null,
      model: bot ? shortModelName(bot.status.model || bot.config.model) : undefined,
      verified: verifiedBots.has(userId),
    };
  };

  const candidates: MentionCandidate[] = useMemo(() => {
    const list: MentionCandidate[] = bots
      .filter((b) => b.userId)
      .map((b) => ({ userId: b.userId!, displayName: b.config.displayName, detail: shortModelName(b.config.model), isBot: true }));
    for (const m of room?.getJoinedMembers() ?? []) {
      if (m.userId !== me && !botByUser.has(m.userId)) list.push({ userId: m.userId, displayName: m.name, isBot: false });
    }
    return list;
  }, [bots, room, me, botByUser, events.length]);

  // Replying in this room only: a bot busy elsewhere, or whose typing outlasts its final edit, shows no Stop here.
  const replies = useRef(new ReplyTracker());
  const streamingSenders = replies.current.observe(typing.filter((id) => botByUser.has(id)), latestBySender(timeline.byId.values()));
  const typingNames = typing.filter((id) => !botByUser.has(id) || streamingSenders.has(id)).map((id) => ({ name: senderInfo(id).name, isBot: botByUser.has(id) }));

  const send = (content: MessageContent) => {
    client.sendEvent(roomId, 'm.room.message' as never, content as never).catch(() => undefined);
    setReplyTo(undefined);
  };
  const stop = () => send({ msgtype: 'm.text', body: '!stop', 'm.mentions': {} });

  if (!room) return <main className="chat-empty">Joining the room…</main>;
  const topic = room.currentState.getStateEvents('m.room.topic', '')?.getContent().topic as string | undefined;
  const thread = threadRoot ? timeline.byId.get(threadRoot) : undefined;
  const threadMessages = thread ? [thread, ...(timeline.threads.get(thread.eventId) ?? [])] : [];

  return (
    <div className={`chat${thread ? ' with-thread' : ''}`}>
      <main className="chat-main" aria-label={`Room ${room.name}`}>
        <header className="room-header">
          <div>
            <div className="room-title">
              <h1 className="room-name">{room.name}</h1>
              {lock && (
                <span className={`badge badge-e2e${lock.warn ? ' badge-warn' : ''}`} title={lock.title} role="img" aria-label={lock.title} data-testid="room-encrypted">
                  <span aria-hidden="true">
                    <LockIcon warn={lock.warn} /> {lock.text}
                  </span>
                </span>
              )}
            </div>
            {topic && <p className="room-topic">{topic}</p>}
          </div>
          <StatusDot status={status} client={client} />
        </header>
        <Timeline
          label={`Messages in ${room.name}`}
          timeline={timeline}
          messages={timeline.main}
          senderInfo={senderInfo}
          client={client}
          firstUnread={firstUnreadIndex(timeline.main, readMarkerAtOpen, me)}
          streamingSenders={streamingSenders}
          atStart={scroll.atStart}
          loadingOlder={scroll.loading}
          onLoadOlder={() => void scroll.loadOlder()}
          onReply={setReplyTo}
          onOpenThread={setThreadRoot}
        />
        <div className="typing" aria-live="polite">
          {typingLine(typingNames)}
        </div>
        <Composer
          candidates={candidates}
          onSend={send}
          build={(parts) => buildMessageContent(parts, replyTo ? { replyTo: { eventId: replyTo.eventId, sender: replyTo.sender } } : {})}
          streaming={streamingSenders.size > 0}
          onStop={stop}
          replyingTo={replyTo ? { senderName: senderInfo(replyTo.sender).name, text: messageText(replyTo) } : undefined}
          onCancelReply={() => setReplyTo(undefined)}
        />
      </main>
      {thread && (
        <aside className="thread-panel" aria-label="Thread">
          <header className="room-header">
            <h2 className="room-name">Thread</h2>
            <button type="button" className="icon-button" onClick={() => setThreadRoot(undefined)} aria-label="Close thread">
              ×
            </button>
          </header>
          <Timeline label="Thread messages" timeline={timeline} messages={threadMessages} senderInfo={senderInfo} client={client} streamingSenders={streamingSenders} />
          <Composer
            label="Reply in thread"
            placeholder="Reply in thread"
            candidates={candidates}
            onSend={send}
            build={(parts) => buildMessageContent(parts, { thread: { rootId: thread.eventId, latestEventId: thread.latestThreadEventId ?? thread.eventId } })}
          />
        </aside>
      )}
    </div>
  );
}
