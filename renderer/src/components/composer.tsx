// The message composer: a contentEditable line where "@" opens an autocomplete of bots and people and
// a choice becomes a pill (as in Element); Enter sends, Shift+Enter adds a line, Stop halts a stream.
import { useRef, useState, type KeyboardEvent } from 'react';
import { findMentionQuery, matchCandidates, type MentionCandidate } from '../lib/autocomplete.ts';
import { buildMessageContent, pillSuffix, type ComposerPart, type MessageContent } from '../lib/mention-content.ts';

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
      parts.push({ kind: 'pill', userId: node.dataset.userId, displayName: node.dataset.displayName ?? node.textContent ?? '' });
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

function caretText(): { node: Text; offset: number } | undefined {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0) return undefined;
  const node = sel.anchorNode;
  if (!node || node.nodeType !== Node.TEXT_NODE) return undefined;
  return { node: node as Text, offset: sel.anchorOffset };
}

export function Composer(props: ComposerProps) {
  const { candidates, onSend, build, streaming, onStop, replyingTo, onCancelReply } = props;
  const editor = useRef<HTMLDivElement>(null);
  const [query, setQuery] = useState<{ text: string; node: Text; start: number; end: number }>();
  const [active, setActive] = useState(0);
  const [empty, setEmpty] = useState(true);
  const suggestions = query ? matchCandidates(query.text, candidates) : [];

  const refresh = () => {
    const root = editor.current;
    setEmpty(!root || (root.textContent ?? '') === '' && !root.querySelector('[data-user-id]'));
    const caret = caretText();
    if (!caret || !root?.contains(caret.node)) return setQuery(undefined);
    const found = findMentionQuery((caret.node.nodeValue ?? '').slice(0, caret.offset));
    if (!found) return setQuery(undefined);
    setQuery({ text: found.query, node: caret.node, start: found.start, end: caret.offset });
    setActive(0);
  };

  const insertPill = (c: MentionCandidate) => {
    const root = editor.current;
    if (!query || !root) return;
    const { node, start, end } = query;
    const before = (node.nodeValue ?? '').slice(0, start);
    const after = (node.nodeValue ?? '').slice(end);
    const atStart = before.trim() === '' && node === firstTextNode(root);
    node.nodeValue = before;
    const pill = document.createElement('span');
    pill.className = 'pill';
    pill.setAttribute('contenteditable', 'false');
    pill.dataset.userId = c.userId;
    pill.dataset.displayName = c.displayName;
    pill.textContent = c.displayName;
    const rest = document.createTextNode(pillSuffix(atStart) + after.replace(/^\s/, ''));
    node.after(pill, rest);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    const range = document.createRange();
    range.setStart(rest, Math.min(pillSuffix(atStart).length, rest.length));
    range.collapse(true);
    sel?.addRange(range);
    setQuery(undefined);
    setEmpty(false);
    root.focus();
  };

  const send = () => {
    const root = editor.current;
    if (!root) return;
    const parts = readParts(root);
    const content = build ? build(parts) : buildMessageContent(parts);
    if (!content) return;
    onSend(content);
    root.replaceChildren();
    setEmpty(true);
    setQuery(undefined);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (suggestions.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        insertPill(suggestions[Math.min(active, suggestions.length - 1)]!);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setQuery(undefined);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && replyingTo) onCancelReply?.();
  };

  const listId = 'mention-suggestions';
  return (
    <div className="composer">
      {replyingTo && (
        <div className="composer-reply">
          <span>
            Replying to <strong>{replyingTo.senderName}</strong>: {replyingTo.text.slice(0, 120)}
          </span>
          <button type="button" className="icon-button" onClick={onCancelReply} aria-label="Cancel reply">
            ×
          </button>
        </div>
      )}
      {suggestions.length > 0 && (
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
                insertPill(c);
              }}
            >
              <span className="suggestion-name">{c.displayName}</span>
              <span className="suggestion-id">{c.userId}</span>
              {c.detail && <span className="badge badge-model">{c.detail}</span>}
            </li>
          ))}
        </ul>
      )}
      <div className="composer-row">
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
          onKeyUp={(e) => (e.key.startsWith('Arrow') || e.key === 'Home' || e.key === 'End') && suggestions.length === 0 && refresh()}
          onClick={refresh}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            // Paste as plain text: no foreign markup in the composer.
            e.preventDefault();
            document.execCommand('insertText', false, e.clipboardData.getData('text/plain'));
          }}
        />
        {streaming && (
          <button type="button" className="button button-stop" onClick={onStop} aria-label="Stop the bot's reply">
            Stop
          </button>
        )}
        <button type="button" className="button button-primary" onClick={send} aria-label="Send message" disabled={empty}>
          Send
        </button>
      </div>
    </div>
  );
}

function firstTextNode(root: Node): Node | null {
  let n: Node | null = root.firstChild;
  while (n && n.nodeType !== Node.TEXT_NODE && n.firstChild) n = n.firstChild;
  return n;
}
