// The one byte-size formatter, for the terminal and the window: powers of 1024, one decimal for small numbers of
// a unit. Each keeps the labels its readers know: the terminal writes "KB"/"MB" as ls -h, df -h and download
// tools do; the window writes "KiB"/"MiB".

export interface ByteFormat {
  /** 'short': B, KB, MB, GB, TB (the terminal); 'iec': B, KiB, MiB, GiB, TiB (the window). */
  labels: 'short' | 'iec';
  /** Below this many of a unit (above bytes) one decimal is shown; whole numbers from there. */
  decimalsBelow: number;
}

const LABELS: Record<ByteFormat['labels'], readonly string[]> = {
  short: ['B', 'KB', 'MB', 'GB', 'TB'],
  iec: ['B', 'KiB', 'MiB', 'GiB', 'TiB'],
};

/** The terminal's sizes: 1536 → "1.5 KB", 3 GiB → "3.0 GB", 400 MiB → "400 MB". */
export const TERMINAL_BYTES: ByteFormat = { labels: 'short', decimalsBelow: 100 };
/** The window's sizes: 1536 → "1.5 KiB", 3 GiB → "3.0 GiB", 40 MiB → "40 MiB". */
export const WINDOW_BYTES: ByteFormat = { labels: 'iec', decimalsBelow: 10 };

/** A byte count in words; '' when there is none (undefined, NaN, infinite); a negative count reads as 0. */
export function formatBytes(bytes: number | undefined, format: ByteFormat): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '';
  const units = LABELS[format.labels];
  let n = Math.max(0, bytes);
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u > 0 && n < format.decimalsBelow ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
}
