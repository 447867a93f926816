// Markdown to the sanitized HTML a Matrix formatted_body may carry (the spec's recommended tag list),
// so a model's output can never inject markup a client would render unsafely.
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

/** Tags the Matrix client-server spec suggests clients render (m.room.message, org.matrix.custom.html). */
export const MATRIX_ALLOWED_TAGS = [
  'font', 'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub', 'li',
  'b', 'i', 'u', 'strong', 'em', 's', 'strike', 'code', 'hr', 'br', 'div', 'table', 'thead', 'tbody', 'tr', 'th',
  'td', 'caption', 'pre', 'span', 'img', 'details', 'summary',
];

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: MATRIX_ALLOWED_TAGS,
  allowedAttributes: {
    font: ['data-mx-bg-color', 'data-mx-color', 'color'],
    span: ['data-mx-bg-color', 'data-mx-color', 'data-mx-spoiler', 'data-mx-maths'],
    div: ['data-mx-maths'],
    a: ['name', 'target', 'href'],
    img: ['width', 'height', 'alt', 'title', 'src'],
    ol: ['start'],
    code: ['class'],
  },
  allowedSchemes: ['https', 'http', 'ftp', 'mailto', 'magnet'],
  // Images only from the homeserver's media repository: an http(s) image would leak the reader's IP.
  allowedSchemesByTag: { img: ['mxc'] },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  transformTags: { a: sanitizeHtml.simpleTransform('a', { target: '_blank', rel: 'noopener' }) },
  disallowedTagsMode: 'escape',
};

const marked = new Marked({ gfm: true, breaks: true, async: false });

export function sanitizeMatrixHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE);
}

/** Renders Markdown to sanitized HTML for formatted_body. */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false }) as string;
  return sanitizeMatrixHtml(html).trim();
}

/** The body/format/formatted_body triple of a text message. */
export function textContent(markdown: string): { body: string; format: 'org.matrix.custom.html'; formatted_body: string } {
  return { body: markdown, format: 'org.matrix.custom.html', formatted_body: renderMarkdown(markdown) };
}
