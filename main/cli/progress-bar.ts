// A download/pull progress bar for the terminal: a pure line renderer (bar, percent, bytes, speed, ETA)
// and a writer that redraws one line on a TTY and prints sparse plain lines when piped or logged.
//
// Hand-written on purpose: the renderer is a small pure function, and the npm candidates are either
// unmaintained (progress, last release 2017) or spinners without byte counts (ora).
import { formatBytes as formatByteSize, TERMINAL_BYTES } from '../common/format-bytes.ts';
import type { ProgressEvent } from '../common/inference-types.ts';

export interface ProgressLine {
  status: string;
  fraction?: number;
  transferredBytes?: number;
  totalBytes?: number;
  /** Bytes per second, when measured. */
  bytesPerSecond?: number;
}

/** 1536 → "1.5 KB" (powers of 1024, one decimal below 100 of a unit): the app's one formatter, terminal labels. */
export function formatBytes(bytes: number): string {
  return formatByteSize(bytes, TERMINAL_BYTES);
}

/** 75 → "1m15s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One line, at most `width` characters: `status [=====>    ]  45%  12.0 MB / 27.0 MB  3.1 MB/s  ETA 5s`. */
export function renderProgressLine(p: ProgressLine, width = 80): string {
  const parts: string[] = [];
  if (p.fraction !== undefined) parts.push(`${String(Math.floor(clamp01(p.fraction) * 100)).padStart(3)}%`);
  if (p.transferredBytes !== undefined)
    parts.push(
      p.totalBytes
        ? `${formatBytes(p.transferredBytes)} / ${formatBytes(p.totalBytes)}`
        : formatBytes(p.transferredBytes),
    );
  if (p.bytesPerSecond && p.bytesPerSecond > 0) {
    parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
    if (p.totalBytes && p.transferredBytes !== undefined && p.transferredBytes < p.totalBytes) {
      parts.push(`ETA ${formatDuration((p.totalBytes - p.transferredBytes) / p.bytesPerSecond)}`);
    }
  }
  const status = p.status.length > 28 ? `${p.status.slice(0, 27)}…` : p.status;
  if (p.fraction === undefined) return [status, ...parts].join('  ').slice(0, width);
  // On a narrow terminal the least needed figures go first (ETA, speed), never the bar or the percent.
  let room = width - status.length - 5 - parts.join('  ').length;
  while (room < 10 && parts.length > 1) {
    parts.pop();
    room = width - status.length - 5 - parts.join('  ').length;
  }
  const barWidth = Math.max(6, Math.min(30, room));
  const filled = Math.round(clamp01(p.fraction) * barWidth);
  const bar =
    filled >= barWidth
      ? '='.repeat(barWidth)
      : `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(barWidth - filled)}`;
  return `${status} [${bar}] ${parts.join('  ')}`;
}

function clamp01(n: number): number {
  return Math.min(1, Math.max(0, n));
}

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  stream?: ProgressStream;
  now?: () => number;
  /** Least milliseconds between TTY redraws. */
  redrawMs?: number;
}

/**
 * Draws progress events. On a TTY one line is redrawn (at most every `redrawMs`); otherwise a plain line
 * is printed when the status changes or another tenth of the total has arrived, so logs stay short.
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #redrawMs: number;
  #lastDraw = -Infinity;
  #lastStatus: string | undefined;
  #lastTenth = -1;
  #drawn = false;
  /** Recent (time, bytes) samples for the speed. */
  #samples: Array<{ at: number; bytes: number }> = [];

  constructor(options: ProgressBarOptions = {}) {
    this.#stream = options.stream ?? process.stderr;
    this.#now = options.now ?? (() => Date.now());
    this.#redrawMs = options.redrawMs ?? 100;
  }

  update(p: ProgressEvent): void {
    const at = this.#now();
    const line: ProgressLine = { ...p, ...this.#speed(at, p.transferredBytes) };
    if (this.#stream.isTTY) {
      const statusChanged = p.status !== this.#lastStatus;
      if (!statusChanged && p.fraction !== 1 && at - this.#lastDraw < this.#redrawMs) return;
      this.#lastDraw = at;
      this.#lastStatus = p.status;
      this.#stream.write(`\r\x1b[2K${renderProgressLine(line, (this.#stream.columns || 80) - 1)}`);
      this.#drawn = true;
      return;
    }
    const tenth = p.fraction === undefined ? -1 : Math.floor(p.fraction * 10);
    if (p.status === this.#lastStatus && tenth <= this.#lastTenth) return;
    this.#lastStatus = p.status;
    this.#lastTenth = tenth;
    this.#stream.write(`${renderProgressLine(line, 100)}\n`);
  }

  /** Ends the redrawn line so that what follows starts on a fresh one. */
  done(): void {
    if (this.#drawn) this.#stream.write('\n');
    this.#drawn = false;
  }

  #speed(at: number, bytes: number | undefined): { bytesPerSecond?: number } {
    if (bytes === undefined) return {};
    this.#samples.push({ at, bytes });
    // A 5-second window: fast enough to follow a change, steady enough to read.
    while (this.#samples.length > 2 && at - this.#samples[0]!.at > 5000) this.#samples.shift();
    const first = this.#samples[0]!;
    const seconds = (at - first.at) / 1000;
    return seconds > 0.2 && bytes >= first.bytes ? { bytesPerSecond: (bytes - first.bytes) / seconds } : {};
  }
}
