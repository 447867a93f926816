// The message composer: a contentEditable line where "@" opens an autocomplete of bots and people and
// a choice becomes a pill (as in Element); Enter sends, Shift+Enter adds a line, Stop halts a stream. A file attached
// (the button, a paste, a drop on the room) is sent with the text as its caption.
import { useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import type { MentionCandidate } from '../lib/autocomplete.ts';
import { buildMessageContent, type ComposerPart, type MessageContent } from '../lib/mention-content.ts';
import { AttachButton, AttachmentDraftView, firstFile, type AttachmentDraft } from './attachment-draft.tsx';
import { useMentionAutocomplete } from './use-composer-autocomplete.ts';

export interface ComposerProps {
  candidates: MentionCandidate[];
  onSend: (content: MessageContent) => void;
  /** Builds the content with reply/thread context; defaults to buildMessageContent(parts). */
  build?: (parts: ComposerPart[]) => MessageContent | undefined;
  streaming?: boolean;
  onStop?: () => void;
  replyingTo?: { senderName: string; text: string };
  onCancelReply?: () => void;
  placeholder?: string;
  label?: string;
  /** The file about to be sent (shared with the room view, where files can be dropped). */
  draft?: AttachmentDraft;
  /** Uploads and sends the file with the text as its caption, telling the upload's progress. */
  onSendFile?: (file: File, parts: ComposerPart[], onProgress: (fraction: number) => void) => Promise<void>;
}

/** Reads the editor's DOM back into parts: text, pills (spans with data-user-id) and line breaks. */
export function readParts(root: Node): ComposerPart[] {
  const parts: ComposerPart[] = [];
  const pushText = (text: string) => {
    const last = parts[parts.length - 1];
    if (last?.kind === 'text') last.text += text;
    else parts.push({ kind: 'text', text });
  };
  const walk = (node: Node, first: boolean) => {
    if (node.nodeType === Node.TEXT_NODE) {
      pushText((node.nodeValue ?? '').replace(/\u00a0/g, ' '));
      return;
    }
    if (!(node instanceof HTMLElement)) return;
    if (node.dataset.userId) {
      parts.push({
        kind: 'pill',
        userId: node.dataset.userId,
        displayName: node.dataset.displayName ?? node.textContent ?? '',
      });
      return;
    }
    if (node.tagName === 'BR') {
      pushText('\n');
      return;
    }
    // Browsers wrap new lines in <div> or <p>.
    if ((node.tagName === 'DIV' || node.tagName === 'P') && !first) pushText('\n');
    node.childNodes.forEach((child, i) => walk(child, i === 0));
  };
  root.childNodes.forEach((child, i) => walk(child, i === 0));
  return parts;
}

/** Sending what the editor holds: the attached file with the text as its caption, or the message. */
function composerSend(
  editor: RefObject<HTMLDivElement | null>,
  { build, onSend, draft, onSendFile }: ComposerProps,
  reset: () => void,
): () => void {
  return () => {
    const root = editor.current;
    if (!root) return;
    const parts = readParts(root);
    if (draft?.file && onSendFile) {
      void draft.send((file, onProgress) => onSendFile(file, parts, onProgress)).then((sent) => sent && reset());
      return;
    }
    const content = build ? build(parts) : buildMessageContent(parts);
    if (!content) return;
    onSend(content);
    reset();
  };
}

const listId = 'mention-suggestions';

export function Composer(props: ComposerProps) {
  const { candidates, streaming, onStop, replyingTo, onCancelReply } = props;
  const editor = useRef<HTMLDivElement>(null);
  const [empty, setEmpty] = useState(true);
  const mention = useMentionAutocomplete(editor, candidates, () => setEmpty(false));
  const { suggestions, active } = mention;

  const refresh = () => {
    const root = editor.current;
    setEmpty(!root || ((root.textContent ?? '') === '' && !root.querySelector('[data-user-id]')));
    mention.track();
  };

  const { draft, onSendFile } = props;
  const send = composerSend(editor, props, () => {
    editor.current?.replaceChildren();
    setEmpty(true);
    mention.close();
  });

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (mention.onKeyDown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && replyingTo) onCancelReply?.();
  };

  return (
    <div className="composer">
      {replyingTo && <ReplyingTo replyingTo={replyingTo} onCancel={onCancelReply} />}
      {suggestions.length > 0 && <Suggestions suggestions={suggestions} active={active} onChoose={mention.choose} />}
      {draft && <AttachmentDraftView draft={draft} />}
      <div className="composer-row">
        {draft && onSendFile && <AttachButton onFile={draft.set} />}
        <div
          ref={editor}
          className={`composer-input${empty ? ' is-empty' : ''}`}
          contentEditable
          suppressContentEditableWarning
          role="textbox"
          aria-multiline="true"
          aria-label={props.label ?? 'Message'}
          aria-autocomplete="list"
          aria-controls={suggestions.length > 0 ? listId : undefined}
          aria-activedescendant={suggestions.length > 0 ? `${listId}-${active}` : undefined}
          data-placeholder={props.placeholder ?? 'Message the team; @ mentions a bot'}
          tabIndex={0}
          onInput={refresh}
          onKeyUp={(e) =>
            (e.key.startsWith('Arrow') || e.key === 'Home' || e.key === 'End') && suggestions.length === 0 && refresh()
          }
          onClick={refresh}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            // A pasted file (a screenshot) becomes the attachment; text is pasted as plain text, no foreign markup.
            e.preventDefault();
            const file = firstFile(e.clipboardData);
            if (file && draft && onSendFile) draft.set(file);
            else document.execCommand('insertText', false, e.clipboardData.getData('text/plain'));
          }}
        />
        {streaming && (
          <button type="button" className="button button-stop" onClick={onStop} aria-label="Stop the bot's reply">
            Stop
          </button>
        )}
        <button
          type="button"
          className="button button-primary"
          onClick={send}
          aria-label="Send message"
          disabled={empty && !draft?.file}
        >
          Send
        </button>
      </div>
    </div>
  );
}

/** The message being replied to, above the editor, with its cancel button. */
function ReplyingTo({
  replyingTo,
  onCancel,
}: {
  replyingTo: { senderName: string; text: string };
  onCancel?: () => void;
}) {
  return (
    <div className="composer-reply">
      <span>
        Replying to <strong>{replyingTo.senderName}</strong>: {replyingTo.text.slice(0, 120)}
      </span>
      <button type="button" className="icon-button" onClick={onCancel} aria-label="Cancel reply">
        ×
      </button>
    </div>
  );
}

/** The "@" autocomplete list; a mouse press chooses without taking the focus from the editor. */
function Suggestions({
  suggestions,
  active,
  onChoose,
}: {
  suggestions: MentionCandidate[];
  active: number;
  onChoose: (c: MentionCandidate) => void;
}) {
  return (
    <ul className="suggestions" id={listId} role="listbox" aria-label="Mention suggestions">
      {suggestions.map((c, i) => (
        <li
          key={c.userId}
          id={`${listId}-${i}`}
          role="option"
          aria-selected={i === active}
          className={i === active ? 'active' : ''}
          onMouseDown={(e) => {
            e.preventDefault();
            onChoose(c);
          }}
        >
          <span className="suggestion-name">{c.displayName}</span>
          <span className="suggestion-id">{c.userId}</span>
          {c.detail && <span className="badge badge-model">{c.detail}</span>}
        </li>
      ))}
    </ul>
  );
}
