// What an attachment really is, from its bytes (file-type's signatures), with its name and declared type only where
// bytes cannot tell (text formats): a zip named .pdf is a zip, a PNG that is not one is refused, HEIC and SVG are
// said to be unsupported. Each refusal says what the file is and what to send instead.
import { fileTypeFromBuffer } from 'file-type';
import { AttachmentError } from './attachment-errors.ts';

export type ReadAs =
  | { as: 'image'; format: 'jpeg' | 'png' | 'webp' | 'gif' }
  | { as: 'pdf' }
  | { as: 'docx' }
  | { as: 'html' }
  | { as: 'text'; format: 'markdown' | 'plain' };

export interface Declared {
  name: string;
  mimetype?: string | undefined;
  kind: 'image' | 'file';
}

const IMAGE_FORMATS: Record<string, 'jpeg' | 'png' | 'webp' | 'gif'> = {
  jpg: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
};

const SEND_INSTEAD = 'Send a PDF, DOCX, HTML, Markdown or text file, or a JPEG, PNG, WebP or GIF image.';

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** The type the sender claims, in the words a person uses ("PDF", "PNG image"), when it is one we name. */
function claimed(d: Declared): string | undefined {
  const ext = extension(d.name);
  const mime = d.mimetype?.toLowerCase() ?? '';
  if (ext === 'pdf' || mime === 'application/pdf') return 'PDF';
  if (ext === 'png' || mime === 'image/png') return 'PNG image';
  if (['jpg', 'jpeg'].includes(ext) || mime === 'image/jpeg') return 'JPEG image';
  if (ext === 'docx' || mime.includes('wordprocessingml')) return 'Word document';
  if (d.kind === 'image' || mime.startsWith('image/')) return 'image';
  return undefined;
}

function isSvg(d: Declared, bytes: Uint8Array): boolean {
  if (extension(d.name) === 'svg' || d.mimetype?.toLowerCase() === 'image/svg+xml') return true;
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 1024)).toLowerCase();
  return /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/.test(head);
}

function unsupported(name: string, what: string, extra = SEND_INSTEAD): AttachmentError {
  return new AttachmentError('Unsupported', `${name} is ${what}, which I cannot read. ${extra}`);
}

function textFormat(d: Declared, text: string): ReadAs {
  const ext = extension(d.name);
  const mime = d.mimetype?.toLowerCase() ?? '';
  if (['html', 'htm', 'xhtml'].includes(ext) || mime === 'text/html' || mime === 'application/xhtml+xml')
    return { as: 'html' };
  if (!ext && !mime && /^\s*(<!doctype html|<html[\s>])/i.test(text)) return { as: 'html' };
  if (['md', 'markdown'].includes(ext) || mime === 'text/markdown') return { as: 'text', format: 'markdown' };
  return { as: 'text', format: 'plain' };
}

/** How to read the bytes; AttachmentError (Unsupported, Damaged) for what cannot be read. */
export async function readAs(bytes: Uint8Array, d: Declared): Promise<ReadAs> {
  if (isSvg(d, bytes))
    throw unsupported(
      d.name,
      'an SVG image',
      'SVG files can carry scripts, so I do not open them: send a PNG or JPEG.',
    );
  const found = await fileTypeFromBuffer(bytes);
  // XML is text to read (file-type names it by its first bytes).
  const sniffed = found?.ext === 'xml' ? undefined : found;
  const claim = claimed(d);
  if (sniffed) {
    const image = IMAGE_FORMATS[sniffed.ext];
    if (image) return { as: 'image', format: image };
    if (sniffed.ext === 'pdf') return { as: 'pdf' };
    if (sniffed.ext === 'docx') return { as: 'docx' };
    if (['heic', 'heif', 'avif', 'jxl', 'bmp', 'tif', 'ico', 'psd', 'cr2', 'nef', 'dng'].includes(sniffed.ext))
      throw unsupported(
        d.name,
        `${/^[AEFILMNORSX]/.test(sniffed.ext.toUpperCase()) ? 'an' : 'a'} ${sniffed.ext.toUpperCase()} image`,
        'Send it as JPEG or PNG (phones and image viewers can export or share it so).',
      );
    if (claim)
      throw new AttachmentError('Damaged', `${d.name} is not a ${claim}: it is ${describe(sniffed)}. ${SEND_INSTEAD}`);
    throw unsupported(d.name, describe(sniffed));
  }
  if (claim)
    throw new AttachmentError(
      'Damaged',
      `${d.name} is not a ${claim}: its bytes are not one (it may be damaged or have the wrong name). ${SEND_INSTEAD}`,
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw unsupported(d.name, 'neither text nor a type I know');
  }
  if (text.includes('\u0000')) throw unsupported(d.name, 'neither text nor a type I know');
  return textFormat(d, text);
}

function describe(t: { ext: string; mime: string }): string {
  if (t.ext === 'zip') return 'a ZIP archive';
  const ext = t.ext.toUpperCase();
  // "an" before a letter read with a vowel sound: an EXE, an MP4, an XLSX.
  return `${/^[AEFILMNORSX]/.test(ext) ? 'an' : 'a'} ${ext} file (${t.mime})`;
}
