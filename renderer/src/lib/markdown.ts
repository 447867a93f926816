// Message bodies to safe HTML: formatted_body sanitized to the Matrix spec's allowed tags (the allowlist shared
// with the bots, main/common/matrix-html.ts), plain bodies rendered as Markdown first; code blocks highlighted.
// Nothing a sender writes can run script here.
import createDOMPurify from 'dompurify';
import type { DOMPurify } from 'dompurify';
import { Marked } from 'marked';
import hljs from 'highlight.js/lib/common';
import {
  isAllowedLinkUrl,
  WINDOW_HTML_ATTRIBUTES,
  WINDOW_HTML_TAGS,
  WINDOW_URL_SCHEMES,
} from '../../../main/common/matrix-html.ts';

/** The tags the Matrix spec lists for org.matrix.custom.html, as the window shows them (the shared allowlist). */
const ALLOWED_TAGS = [...WINDOW_HTML_TAGS];
/** The shared allowlist's attributes, and what the hook below sets: a mention pill's user, a link's target and rel. */
const ALLOWED_ATTR = [...WINDOW_HTML_ATTRIBUTES, 'data-mention-user-id', 'target', 'rel'];
const SAFE_CLASS = /^(?:language-[\w+-]+|hljs(?:-[\w-]+)?|pill)$/;
const MATRIX_TO_USER = /^https:\/\/matrix\.to\/#\/(@[^/?]+)/;

let purifier: DOMPurify | undefined;

function getPurifier(): DOMPurify {
  if (purifier) return purifier;
  const p = createDOMPurify(window);
  p.addHook('afterSanitizeAttributes', (node) => {
    if (!(node instanceof Element)) return;
    const cls = node.getAttribute('class');
    if (cls !== null) {
      const kept = cls.split(/\s+/).filter((c) => SAFE_CLASS.test(c));
      if (kept.length > 0) node.setAttribute('class', kept.join(' '));
      else node.removeAttribute('class');
    }
    if (node.tagName === 'A') {
      const href = node.getAttribute('href') ?? '';
      if (!isAllowedLinkUrl(href, WINDOW_URL_SCHEMES)) node.removeAttribute('href');
      const user = MATRIX_TO_USER.exec(href);
      if (user?.[1]) {
        // A user link is a mention pill (how Element writes them): show it as one.
        node.setAttribute('class', 'pill');
        node.setAttribute('data-mention-user-id', decodeURIComponent(user[1]));
      }
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noreferrer noopener');
    }
  });
  purifier = p;
  return p;
}

/** Sanitizes HTML to the allowed subset; scripts, handlers, styles, iframes and unsafe URLs are removed. */
export function sanitizeHtml(html: string): string {
  return getPurifier().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    KEEP_CONTENT: true,
  });
}

const marked = new Marked({ gfm: true, breaks: true, async: false });

// What a person types: Markdown, with any HTML shown as text (as Element's composer does).
const composerMarked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html: ({ text }) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  },
});

/** Markdown to HTML, unsanitized: callers sanitize. */
export function markdownToHtml(source: string): string {
  return marked.parse(source, { async: false }).trim();
}

/** The composer's Markdown to HTML: raw HTML in the text is escaped, not interpreted. */
export function composerMarkdownToHtml(source: string): string {
  return composerMarked.parse(source, { async: false });
}

/** Removes the reply fallback (spec: <mx-reply> in HTML, leading "> " lines in the body). */
export function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  if (!lines[0]?.startsWith('> <')) return body;
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (lines[i] === '') i++;
  return lines.slice(i).join('\n');
}
export function stripHtmlReplyFallback(html: string): string {
  return html.replace(/^\s*<mx-reply>[\s\S]*?<\/mx-reply>/, '');
}

function highlightCode(html: string): string {
  const tpl = document.createElement('template');
  tpl.innerHTML = html;
  for (const code of tpl.content.querySelectorAll('pre > code')) {
    const text = code.textContent ?? '';
    const lang = /language-([\w+-]+)/.exec(code.className)?.[1];
    const result =
      lang && hljs.getLanguage(lang)
        ? hljs.highlight(text, { language: lang, ignoreIllegals: true })
        : hljs.highlightAuto(text);
    code.innerHTML = result.value;
    code.classList.add('hljs');
  }
  return tpl.innerHTML;
}

export interface MessageBody {
  body?: unknown;
  format?: unknown;
  formatted_body?: unknown;
}

/** The HTML shown for a message: its formatted_body when it has one, else its body read as Markdown. */
export function renderMessageHtml(content: MessageBody): string {
  const formatted =
    content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string'
      ? stripHtmlReplyFallback(content.formatted_body)
      : markdownToHtml(stripReplyFallback(typeof content.body === 'string' ? content.body : ''));
  // Sanitize, highlight the sanitized code's text, and sanitize again (highlight output is escaped text in spans).
  return sanitizeHtml(highlightCode(sanitizeHtml(formatted)));
}
