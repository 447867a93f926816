// The message list: projected messages (edits applied), a "new messages" divider at the read marker,
// scrollback at the top, sticky scrolling at the bottom while a reply streams in.
import { useLayoutEffect, useRef } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { repliedImage } from '../lib/attachments.ts';
import type { DisplayMessage, ProjectedTimeline } from '../lib/timeline.ts';
import { Message, type SenderInfo } from './message.tsx';

export interface TimelineProps {
  timeline: ProjectedTimeline;
  /** Which messages to show: the main timeline, or a thread's root and replies. */
  messages: DisplayMessage[];
  senderInfo: (userId: string) => SenderInfo;
  client?: MatrixClient;
  /** Index in `messages` of the first unread message, or -1. */
  firstUnread?: number;
  /** Senders whose latest message is still streaming (typing). */
  streamingSenders?: ReadonlySet<string>;
  atStart?: boolean;
  loadingOlder?: boolean;
  onLoadOlder?: () => void;
  onReply?: (msg: DisplayMessage) => void;
  onOpenThread?: (rootId: string) => void;
  label: string;
}

/**
 * Keeps the view at the bottom while it was there (a growing reply), keeps the reading position when older messages
 * are added at the top, and asks for older ones when scrolled to the top.
 */
function useStickyScroll(atStart: boolean, loadingOlder: boolean | undefined, onLoadOlder: (() => void) | undefined) {
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const lastHeight = useRef(0);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (stickToBottom.current) el.scrollTop = el.scrollHeight;
    else if (el.scrollTop < 50 && lastHeight.current) el.scrollTop += el.scrollHeight - lastHeight.current;
    lastHeight.current = el.scrollHeight;
  });

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 40 && !atStart && !loadingOlder) onLoadOlder?.();
  };
  return { scroller, onScroll };
}

export function Timeline(props: TimelineProps) {
  const {
    timeline,
    messages,
    senderInfo,
    client,
    firstUnread = -1,
    streamingSenders,
    atStart = true,
    loadingOlder,
    onLoadOlder,
    onReply,
    onOpenThread,
    label,
  } = props;
  const { scroller, onScroll } = useStickyScroll(atStart, loadingOlder, onLoadOlder);

  const lastBySender = new Map<string, string>();
  for (const m of messages) lastBySender.set(m.sender, m.eventId);

  return (
    <div
      className="timeline"
      ref={scroller}
      onScroll={onScroll}
      role="log"
      aria-label={label}
      aria-live="polite"
      aria-relevant="additions text"
    >
      <div className="timeline-start">
        {atStart ? (
          <span className="muted">This is the beginning of the conversation.</span>
        ) : (
          <button
            type="button"
            className="link-button"
            onClick={onLoadOlder}
            disabled={loadingOlder}
            aria-label="Load older messages"
          >
            {loadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        )}
      </div>
      {messages.map((msg, i) => {
        const quotedMsg = msg.replyTo ? timeline.byId.get(msg.replyTo) : undefined;
        return (
          <div key={msg.eventId} className="timeline-item">
            {i === firstUnread && (
              <div className="unread-divider" role="separator" aria-label="New messages">
                <span>New messages</span>
              </div>
            )}
            <Message
              msg={msg}
              client={client}
              sender={senderInfo(msg.sender)}
              quoted={
                msg.replyTo
                  ? {
                      msg: quotedMsg,
                      senderName: quotedMsg ? senderInfo(quotedMsg.sender).name : 'a message',
                      image: repliedImage(msg, timeline.byId),
                    }
                  : undefined
              }
              streaming={
                !msg.final && Boolean(streamingSenders?.has(msg.sender) && lastBySender.get(msg.sender) === msg.eventId)
              }
              onReply={onReply}
              onOpenThread={msg.threadRoot ? undefined : onOpenThread}
              onJumpTo={(id) =>
                scroller.current?.querySelector<HTMLElement>(`[data-event-id="${CSS.escape(id)}"]`)?.focus()
              }
            />
          </div>
        );
      })}
    </div>
  );
}
