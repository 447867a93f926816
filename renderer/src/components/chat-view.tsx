// A room: header (name, topic, status dot), timeline with edits applied live, typing line, composer,
// and a thread panel beside it, a lock in the header of an encrypted room. Reads receipts as the person reads.
import { useMemo, type DragEventHandler } from 'react';
import type { MatrixClient, Room } from 'matrix-js-sdk';
import type { AppStatus, BotInfo } from '../../../main/common/contract.ts';
import type { MentionCandidate } from '../lib/autocomplete.ts';
import { buildMessageContent, type MessageContent } from '../lib/mention-content.ts';
import {
  firstUnreadIndex,
  messageText,
  projectTimeline,
  type DisplayMessage,
  type ProjectedTimeline,
} from '../lib/timeline.ts';
import { useRoomEncrypted, useRoomEvents, useScrollback, useTyping } from '../matrix/hooks.ts';
import type { EncryptionState } from '../matrix/use-encryption.ts';
import { firstFile, useAttachmentDraft, type AttachmentDraft } from './attachment-draft.tsx';
import { Composer } from './composer.tsx';
import { LockIcon } from './lock-icon.tsx';
import type { SenderInfo } from './message.tsx';
import { StatusDot } from './status-dot.tsx';
import { Timeline } from './timeline.tsx';
import { useMentionCandidates, useReadReceipt, useReplying, useRoomViewState, useSenders } from './use-chat-room.ts';
import { useSendFile, type SendFile } from './use-send-file.ts';

export interface ChatViewProps {
  client: MatrixClient;
  roomId: string;
  bots: BotInfo[];
  status?: AppStatus;
  /** This window's encryption: what failed, and whether this device is cross-signed (trusted by the app's devices). */
  encryption?: EncryptionState;
}

/** The header's lock: what it says about the room and this device. */
export function encryptionLabel(
  encrypted: boolean,
  state: EncryptionState | undefined,
): { text: string; title: string; warn: boolean } | undefined {
  if (!encrypted) return undefined;
  if (state?.error)
    return { text: 'Encrypted', title: `End-to-end encrypted, but not readable here: ${state.error}`, warn: true };
  if (state?.trustError)
    return {
      text: 'Encrypted',
      title: `End-to-end encrypted. This window could not be verified: ${state.trustError}`,
      warn: true,
    };
  if (state?.crossSigned)
    return {
      text: 'Encrypted',
      title: 'End-to-end encrypted. This window is a verified device of yours (cross-signed).',
      warn: false,
    };
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
  const { replyTo, setReplyTo, threadRoot, setThreadRoot, readMarkerAtOpen } = useRoomViewState(room, me);
  useReadReceipt(client, room, me);
  const senders = useSenders(client, room, bots);
  const { senderInfo } = senders;
  const candidates = useMentionCandidates(bots, room, me, senders.botByUser, events.length);
  const { streamingSenders, typingNames } = useReplying(typing, timeline, senders);

  const send = (content: MessageContent) => {
    client.sendEvent(roomId, 'm.room.message' as never, content as never).catch(() => undefined);
    setReplyTo(undefined);
  };
  const stop = () => send({ msgtype: 'm.text', body: '!stop', 'm.mentions': {} });
  const draft = useAttachmentDraft();
  const threadDraft = useAttachmentDraft();
  const sendFile = useSendFile(client, roomId);
  const replyContext = replyTo ? { replyTo: { eventId: replyTo.eventId, sender: replyTo.sender } } : {};

  if (!room) return <main className="chat-empty">Joining the room…</main>;
  const thread = threadRoot ? timeline.byId.get(threadRoot) : undefined;

  return (
    <div className={`chat${thread ? ' with-thread' : ''}`}>
      <main className="chat-main" aria-label={`Room ${room.name}`} {...dropFiles(draft)}>
        <RoomHeader room={room} lock={lock} status={status} client={client} />
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
          build={(parts) => buildMessageContent(parts, replyContext)}
          draft={draft}
          onSendFile={(file, parts, onProgress) =>
            sendFile(file, parts, replyContext, onProgress).then(() => setReplyTo(undefined))
          }
          streaming={streamingSenders.size > 0}
          onStop={stop}
          replyingTo={replyTo ? { senderName: senderInfo(replyTo.sender).name, text: messageText(replyTo) } : undefined}
          onCancelReply={() => setReplyTo(undefined)}
        />
      </main>
      {thread && (
        <ThreadPanel
          thread={thread}
          timeline={timeline}
          senderInfo={senderInfo}
          client={client}
          streamingSenders={streamingSenders}
          candidates={candidates}
          onSend={send}
          onClose={() => setThreadRoot(undefined)}
          draft={threadDraft}
          sendFile={sendFile}
        />
      )}
    </div>
  );
}

/** A file dropped on the room becomes the composer's attachment. */
function dropFiles(draft: AttachmentDraft): { onDragOver: DragEventHandler; onDrop: DragEventHandler } {
  return {
    onDragOver: (e) => {
      if (e.dataTransfer.types.includes('Files')) e.preventDefault();
    },
    onDrop: (e) => {
      const file = firstFile(e.dataTransfer);
      if (!file) return;
      e.preventDefault();
      draft.set(file);
    },
  };
}

/** The room's name, its encryption lock, its topic and the status dot. */
function RoomHeader({
  room,
  lock,
  status,
  client,
}: {
  room: Room;
  lock: ReturnType<typeof encryptionLabel>;
  status?: AppStatus;
  client: MatrixClient;
}) {
  const topic = room.currentState.getStateEvents('m.room.topic', '')?.getContent().topic as string | undefined;
  return (
    <header className="room-header">
      <div>
        <div className="room-title">
          <h1 className="room-name">{room.name}</h1>
          {lock && (
            <span
              className={`badge badge-e2e${lock.warn ? ' badge-warn' : ''}`}
              title={lock.title}
              role="img"
              aria-label={lock.title}
              data-testid="room-encrypted"
            >
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
  );
}

interface ThreadPanelProps {
  thread: DisplayMessage;
  timeline: ProjectedTimeline;
  senderInfo: (userId: string) => SenderInfo;
  client: MatrixClient;
  streamingSenders: ReadonlySet<string>;
  candidates: MentionCandidate[];
  onSend: (content: MessageContent) => void;
  onClose: () => void;
  draft: AttachmentDraft;
  sendFile: SendFile;
}

/** A thread beside the room: its root and replies, and a composer that replies in it. */
function ThreadPanel({
  thread,
  timeline,
  senderInfo,
  client,
  streamingSenders,
  candidates,
  onSend,
  onClose,
  draft,
  sendFile,
}: ThreadPanelProps) {
  const threadMessages = [thread, ...(timeline.threads.get(thread.eventId) ?? [])];
  const context = {
    thread: { rootId: thread.eventId, latestEventId: thread.latestThreadEventId ?? thread.eventId },
  };
  return (
    <aside className="thread-panel" aria-label="Thread">
      <header className="room-header">
        <h2 className="room-name">Thread</h2>
        <button type="button" className="icon-button" onClick={onClose} aria-label="Close thread">
          ×
        </button>
      </header>
      <Timeline
        label="Thread messages"
        timeline={timeline}
        messages={threadMessages}
        senderInfo={senderInfo}
        client={client}
        streamingSenders={streamingSenders}
      />
      <Composer
        label="Reply in thread"
        placeholder="Reply in thread"
        candidates={candidates}
        onSend={onSend}
        build={(parts) => buildMessageContent(parts, context)}
        draft={draft}
        onSendFile={(file, parts, onProgress) => sendFile(file, parts, context, onProgress)}
      />
    </aside>
  );
}
