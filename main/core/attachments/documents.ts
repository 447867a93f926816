// Documents to text, in memory: PDF through unpdf (PDF.js: its text layer, page by page), DOCX through mammoth (raw
// text), HTML through sanitize-html with every tag dropped (scripts and styles with their content), Markdown and text
// as they are. A PDF with no text layer is said to be a scan; one that PDF.js cannot open is said to be damaged.
import mammoth from 'mammoth';
import sanitizeHtml from 'sanitize-html';
import { extractText, getDocumentProxy } from 'unpdf';
import { AttachmentError } from './attachment-errors.ts';

export async function pdfText(bytes: Uint8Array, name: string): Promise<string> {
  let pages: string[];
  try {
    // A copy: PDF.js takes the buffer over. No warnings on the console.
    const doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      pages = (await extractText(doc, { mergePages: false })).text;
    } finally {
      await doc.loadingTask.destroy();
    }
  } catch (err) {
    throw new AttachmentError(
      'Damaged',
      `${name} could not be opened as a PDF (${(err as Error).message}); it may be damaged or protected. ` +
        'Send it again, or as text.',
      { cause: err },
    );
  }
  const text = pages
    .map((p) => p.trim())
    .filter(Boolean)
    .join('\n\n');
  if (!text)
    throw new AttachmentError(
      'NoText',
      `${name} has no text layer (it looks like a scan), so I cannot read it. ` +
        'Send its pages as images to a bot with a vision model, or a PDF with text (run it through OCR first).',
    );
  return text;
}

export async function docxText(bytes: Uint8Array, name: string): Promise<string> {
  try {
    const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) });
    return value.trim();
  } catch (err) {
    throw new AttachmentError(
      'Damaged',
      `${name} could not be read as a Word document (${(err as Error).message}). Send it again, or as PDF or text.`,
      { cause: err },
    );
  }
}

const BLOCK_END =
  /<\/(?:p|div|h[1-6]|li|tr|blockquote|pre|section|article|header|footer|table|ul|ol|dt|dd)\s*>|<br\s*\/?>/gi;
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The text a person reads on the page: tags gone, scripts and styles gone with their content, blocks on lines. */
export function htmlText(html: string): string {
  const clean = sanitizeHtml(
    html.replace(BLOCK_END, (m) => `${m}\n`),
    {
      allowedTags: [],
      allowedAttributes: {},
      nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'head', 'title', 'template', 'svg', 'math'],
    },
  );
  return tidy(clean.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e));
}

/** Lines without trailing space, at most one empty line in a row. */
export function tidy(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** UTF-8 text as written (a byte-order mark dropped). */
export function plainText(bytes: Uint8Array): string {
  return tidy(new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, ''));
}
