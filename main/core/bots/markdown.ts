// Markdown to the sanitized HTML a Matrix formatted_body may carry (the spec's recommended tag list, from the
// allowlist shared with the window: main/common/matrix-html.ts), so a model's output can never inject markup a
// client would render unsafely.
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import {
  MATRIX_HTML_ATTRIBUTES,
  MATRIX_HTML_TAGS,
  MATRIX_IMAGE_SCHEMES,
  MATRIX_URL_SCHEMES,
} from '../../common/matrix-html.ts';

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [...MATRIX_HTML_TAGS],
  allowedAttributes: Object.fromEntries(
    Object.entries(MATRIX_HTML_ATTRIBUTES).map(([tag, attrs]) => [tag, [...attrs]]),
  ),
  allowedSchemes: [...MATRIX_URL_SCHEMES],
  // Images only from the homeserver's media repository: an http(s) image would leak the reader's IP.
  allowedSchemesByTag: { img: [...MATRIX_IMAGE_SCHEMES] },
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

/**
 * The plain body of Markdown that holds collapsible blocks (a tool call's details): each block is its summary line
 * alone, so clients without HTML, and the bots reading the room's history, see one compact line per call.
 */
export function plainBody(markdown: string): string {
  return markdown.replace(/<details><summary>([^<]*)<\/summary>[\s\S]*?<\/details>/g, (_m, summary: string) =>
    summary.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
  );
}

/** The body/format/formatted_body triple of a text message. */
export function textContent(markdown: string): {
  body: string;
  format: 'org.matrix.custom.html';
  formatted_body: string;
} {
  return { body: plainBody(markdown), format: 'org.matrix.custom.html', formatted_body: renderMarkdown(markdown) };
}
