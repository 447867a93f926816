// Why an attachment could not be read, in words for the room: what failed, why, and what to do. One typed error, so
// the bot says each problem once and keeps running.
import { formatBytes, TERMINAL_BYTES } from '../../common/format-bytes.ts';

export type AttachmentProblem =
  /** Larger than the limit: said by the event (nothing downloaded) or found while downloading (stopped). */
  | 'TooLarge'
  /** The homeserver did not give the file. */
  | 'DownloadFailed'
  /** An encrypted attachment whose bytes do not match its hash, or whose key cannot decrypt it. */
  | 'HashMismatch'
  /** A type the bot does not read (HEIC, SVG, an archive, a program). */
  | 'Unsupported'
  /** The bytes are not what the name or type says, or are cut short. */
  | 'Damaged'
  /** A PDF without a text layer (a scan). */
  | 'NoText';

export class AttachmentError extends Error {
  readonly problem: AttachmentProblem;
  constructor(problem: AttachmentProblem, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AttachmentError';
    this.problem = problem;
  }
}

/** "20 MB", "1.5 MB", "1000 B": the terminal's sizes without a trailing ".0". */
export const bytesText = (n: number): string => formatBytes(n, TERMINAL_BYTES).replace(/\.0 /, ' ');

export function tooLargeBeforeDownload(name: string, size: number, max: number): AttachmentError {
  return new AttachmentError(
    'TooLarge',
    `${name} is ${bytesText(size)}, over the ${bytesText(max)} limit for attachments, so it was not downloaded. ` +
      'Send a smaller file, or raise attachments.maxBytes in the settings.',
  );
}

export function tooLargeWhileDownloading(name: string, max: number, declared: number | undefined): AttachmentError {
  const said = declared === undefined ? '' : ` (its message said ${bytesText(declared)})`;
  return new AttachmentError(
    'TooLarge',
    `${name} is larger than the ${bytesText(max)} limit for attachments${said}, so its download was stopped. ` +
      'Send a smaller file, or raise attachments.maxBytes in the settings.',
  );
}
