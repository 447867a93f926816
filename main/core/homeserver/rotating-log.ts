// The homeserver's stdout and stderr, appended to <data>/logs/homeserver.log and rotated by size
// (homeserver.log → homeserver.1.log → …), so a chatty or crash-looping child cannot fill the disk.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface RotatingLogOptions {
  file: string;
  maxBytes?: number;
  /** Rotated files kept besides the current one. */
  keep?: number;
}

export class RotatingLog {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  #fd: number | undefined;
  #size = 0;

  constructor(options: RotatingLogOptions) {
    this.file = options.file;
    this.#maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.#keep = options.keep ?? 3;
  }

  rotatedName(n: number): string {
    return this.file.replace(/(\.log)?$/, `.${n}$1`);
  }

  write(chunk: Buffer | string): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#fd === undefined) this.#open();
    if (this.#size > 0 && this.#size + data.length > this.#maxBytes) this.#rotate();
    writeSync(this.#fd!, data);
    this.#size += data.length;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #open(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    this.#fd = openSync(this.file, 'a');
    this.#size = statSync(this.file).size;
  }

  #rotate(): void {
    this.close();
    rmSync(this.rotatedName(this.#keep), { force: true });
    for (let n = this.#keep - 1; n >= 1; n--) {
      if (existsSync(this.rotatedName(n))) renameSync(this.rotatedName(n), this.rotatedName(n + 1));
    }
    if (this.#keep >= 1) renameSync(this.file, this.rotatedName(1));
    else rmSync(this.file, { force: true });
    this.#open();
  }
}
