// The composer's "@" autocomplete: the mention typed at the caret, the bots and people it matches, the highlighted
// choice, the list's keys (arrows, Enter or Tab to choose, Escape to close), and a choice turned into a pill.
import { useState, type KeyboardEvent, type RefObject } from 'react';
import { findMentionQuery, matchCandidates, type MentionCandidate } from '../lib/autocomplete.ts';
import { pillSuffix } from '../lib/mention-content.ts';

/** The "@…" being typed: its text after the "@", and where it sits in its text node. */
interface MentionQuery {
  text: string;
  node: Text;
  start: number;
  end: number;
}

export interface MentionAutocomplete {
  suggestions: MentionCandidate[];
  /** The highlighted suggestion's index. */
  active: number;
  /** Re-reads the mention at the caret: after input, a click or a caret move. */
  track: () => void;
  /** Replaces the typed mention with a pill for the candidate. */
  choose: (candidate: MentionCandidate) => void;
  close: () => void;
  /** Handles a key while the list is open; true when the key was the list's. */
  onKeyDown: (e: KeyboardEvent<HTMLDivElement>) => boolean;
}

/** `onPill` runs after a pill went in (the editor is no longer empty). */
export function useMentionAutocomplete(
  editor: RefObject<HTMLDivElement | null>,
  candidates: MentionCandidate[],
  onPill: () => void,
): MentionAutocomplete {
  const [query, setQuery] = useState<MentionQuery>();
  const [active, setActive] = useState(0);
  const suggestions = query ? matchCandidates(query.text, candidates) : [];

  const track = () => {
    const root = editor.current;
    const caret = caretText();
    if (!caret || !root?.contains(caret.node)) return setQuery(undefined);
    const found = findMentionQuery((caret.node.nodeValue ?? '').slice(0, caret.offset));
    if (!found) return setQuery(undefined);
    setQuery({ text: found.query, node: caret.node, start: found.start, end: caret.offset });
    setActive(0);
  };

  const choose = (candidate: MentionCandidate) => {
    const root = editor.current;
    if (!query || !root) return;
    insertPill(root, query, candidate);
    setQuery(undefined);
    onPill();
    root.focus();
  };

  const close = () => setQuery(undefined);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): boolean => {
    if (suggestions.length === 0) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length);
      return true;
    }
    if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      choose(suggestions[Math.min(active, suggestions.length - 1)]!);
      return true;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
      return true;
    }
    return false;
  };

  return { suggestions, active, track, choose, close, onKeyDown };
}

/** Puts a pill for the candidate where the query was, and the caret after it. */
function insertPill(root: HTMLElement, query: MentionQuery, candidate: MentionCandidate): void {
  const { node, start, end } = query;
  const before = (node.nodeValue ?? '').slice(0, start);
  const after = (node.nodeValue ?? '').slice(end);
  const atStart = before.trim() === '' && node === firstTextNode(root);
  node.nodeValue = before;
  const pill = document.createElement('span');
  pill.className = 'pill';
  pill.setAttribute('contenteditable', 'false');
  pill.dataset.userId = candidate.userId;
  pill.dataset.displayName = candidate.displayName;
  pill.textContent = candidate.displayName;
  const rest = document.createTextNode(pillSuffix(atStart) + after.replace(/^\s/, ''));
  node.after(pill, rest);
  const sel = window.getSelection();
  sel?.removeAllRanges();
  const range = document.createRange();
  range.setStart(rest, Math.min(pillSuffix(atStart).length, rest.length));
  range.collapse(true);
  sel?.addRange(range);
}

function caretText(): { node: Text; offset: number } | undefined {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0) return undefined;
  const node = sel.anchorNode;
  if (!node || node.nodeType !== Node.TEXT_NODE) return undefined;
  return { node: node as Text, offset: sel.anchorOffset };
}

function firstTextNode(root: Node): Node | null {
  let n: Node | null = root.firstChild;
  while (n && n.nodeType !== Node.TEXT_NODE && n.firstChild) n = n.firstChild;
  return n;
}
