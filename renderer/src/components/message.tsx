// One message in the timeline: avatar, sender with a model badge for bots, sanitized rich body, the
// quoted message it replies to, "edited", actions (reply, open thread), and Allow / Deny on a tool approval request.
import { memo, useMemo } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { shownAttachment, type ShownAttachment } from '../lib/attachments.ts';
import { renderMessageHtml } from '../lib/markdown.ts';
import { messageText, type DisplayMessage } from '../lib/timeline.ts';
import { AttachmentImage, AttachmentView } from './attachment-view.tsx';
import { ApprovalButtons } from './approval-buttons.tsx';
import { Avatar } from './avatar.tsx';
import { LockIcon } from './lock-icon.tsx';

export interface SenderInfo {
  name: string;
  avatarMxc?: string | null;
  /** The model of a bot, shown as a badge. */
  model?: string;
  /** The sender's identity is signed by the owner's keys (the app vouches for its bots). */
  verified?: boolean;
}

export interface MessageProps {
  msg: DisplayMessage;
  sender: SenderInfo;
  /** The message this one replies to; `image`: the picture the reply is about (shown beside the quote). */
  quoted?: { msg: DisplayMessage | undefined; senderName: string; image?: ShownAttachment | undefined };
  client?: MatrixClient;
  streaming?: boolean;
  onReply?: (msg: DisplayMessage) => void;
  onOpenThread?: (rootId: string) => void;
  onJumpTo?: (eventId: string) => void;
}

function MessageBody({ content, client }: { content: Record<string, unknown>; client?: MatrixClient | undefined }) {
  const attachment = useMemo(() => shownAttachment(content), [content]);
  const html = useMemo(() => renderMessageHtml(content), [content]);
  // An attachment shows as itself, with its caption (MSC2530) below; a bare file name is not repeated as text.
  const text = !attachment || attachment.caption !== undefined;
  return (
    <>
      {attachment && <AttachmentView client={client} attachment={attachment} />}
      {/* Sanitized by renderMessageHtml (DOMPurify, Matrix's allowed tags). */}
      {text && <div className="msg-body" dangerouslySetInnerHTML={{ __html: html }} />}
    </>
  );
}

/** A message whose keys are missing: matrix-js-sdk decrypts it again when they arrive, and this placeholder goes. */
function EncryptedPlaceholder({ decryption }: { decryption: DisplayMessage['decryption'] }) {
  if (decryption === 'pending')
    return (
      <div className="msg-body msg-utd" role="status">
        Decrypting…
      </div>
    );
  if (decryption === 'failed') {
    return (
      <div
        className="msg-body msg-utd"
        title="The keys for this message have not reached this window yet. It shows as soon as they arrive (from the sender or the key backup)."
      >
        <LockIcon /> Unable to decrypt this message yet: waiting for its keys.
      </div>
    );
  }
  if (decryption === 'historical') {
    return (
      <div
        className="msg-body msg-utd"
        title="This message was sent before this window's device could receive its key, and the key is not in your key backup."
      >
        <LockIcon /> Unable to decrypt: sent before this window could read the room.
      </div>
    );
  }
  return <div className="msg-body msg-deleted">Encrypted message (this window cannot decrypt it)</div>;
}

/** Sender, badges (verified, model), time, and whether it was edited or not sent. */
function MessageHead({ msg, sender, time }: { msg: DisplayMessage; sender: SenderInfo; time: string }) {
  return (
    <header className="msg-head">
      <span className="msg-sender">{sender.name}</span>
      {sender.verified && (
        <span
          className="badge badge-verified"
          data-testid="sender-verified"
          title="Verified: Agent Room signed this bot's identity with your keys, so your devices trust it."
        >
          Verified
        </span>
      )}
      {sender.model && (
        <span className="badge badge-model" title={`Model: ${sender.model}`}>
          {sender.model}
        </span>
      )}
      <time className="msg-time" dateTime={new Date(msg.ts).toISOString()}>
        {time}
      </time>
      {msg.edited && <span className="msg-edited">(edited)</span>}
      {msg.failed && <span className="msg-error">Not sent</span>}
    </header>
  );
}

/** Reply, and open a thread when the message has none yet. */
function MessageActions({
  msg,
  senderName,
  onReply,
  onOpenThread,
}: {
  msg: DisplayMessage;
  senderName: string;
  onReply: MessageProps['onReply'];
  onOpenThread: MessageProps['onOpenThread'];
}) {
  return (
    <div className="msg-actions">
      {onReply && (
        <button
          type="button"
          className="link-button"
          onClick={() => onReply(msg)}
          aria-label={`Reply to ${senderName}`}
        >
          Reply
        </button>
      )}
      {onOpenThread && msg.threadReplies === 0 && (
        <button
          type="button"
          className="link-button"
          onClick={() => onOpenThread(msg.eventId)}
          aria-label={`Open thread of ${senderName}'s message`}
        >
          Thread
        </button>
      )}
    </div>
  );
}

export const Message = memo(function Message({
  msg,
  sender,
  quoted,
  client,
  streaming,
  onReply,
  onOpenThread,
  onJumpTo,
}: MessageProps) {
  const time = new Date(msg.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return (
    <article
      className={`msg${msg.pending ? ' msg-pending' : ''}${msg.failed ? ' msg-failed' : ''}${streaming ? ' msg-streaming' : ''}`}
      data-event-id={msg.eventId}
      data-sender={msg.sender}
      data-final={msg.final || undefined}
      data-msgtype={typeof msg.content.msgtype === 'string' ? msg.content.msgtype : undefined}
      aria-label={`${sender.name} at ${time}`}
      tabIndex={-1}
    >
      <Avatar client={client} mxc={sender.avatarMxc} name={sender.name} />
      <div className="msg-main">
        <MessageHead msg={msg} sender={sender} time={time} />
        {msg.replyTo && quoted && (
          <button
            type="button"
            className="msg-quote"
            onClick={() => onJumpTo?.(msg.replyTo!)}
            aria-label={`In reply to ${quoted.senderName}`}
          >
            {quoted.image && (
              <AttachmentImage client={client} attachment={quoted.image} size={96} className="quote-image" />
            )}
            <span className="msg-quote-sender">{quoted.senderName}</span>
            <span className="msg-quote-text">{messageText(quoted.msg).slice(0, 200) || 'an earlier message'}</span>
          </button>
        )}
        {msg.redacted ? (
          <div className="msg-body msg-deleted">Message deleted</div>
        ) : msg.encrypted ? (
          <EncryptedPlaceholder decryption={msg.decryption} />
        ) : (
          <MessageBody content={msg.content} client={client} />
        )}
        {client && <ApprovalButtons msg={msg} client={client} />}
        {onOpenThread && msg.threadReplies > 0 && (
          <button
            type="button"
            className="thread-summary"
            onClick={() => onOpenThread(msg.eventId)}
            aria-label={`Open thread of ${sender.name}'s message, ${msg.threadReplies} ${msg.threadReplies === 1 ? 'reply' : 'replies'}`}
          >
            {msg.threadReplies} {msg.threadReplies === 1 ? 'reply' : 'replies'} in thread
          </button>
        )}
        <MessageActions msg={msg} senderName={sender.name} onReply={onReply} onOpenThread={onOpenThread} />
      </div>
    </article>
  );
});
