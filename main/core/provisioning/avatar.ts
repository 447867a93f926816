// A per-bot avatar with no image library: a symmetric 5×5 identicon in a colour derived from the bot id,
// encoded as a PNG (RGB, 8 bits) with node:zlib. The same id always gives the same bytes.
import { createHash } from 'node:crypto';
import { encodePng } from './png.ts';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export { encodePng };

/** HSL (h in degrees, s and l in 0..1) to RGB bytes. */
export function hslToRgb(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return { r: f(0), g: f(8), b: f(4) };
}

/** The 5×5 on/off pattern (left half mirrored) and colour an id maps to. */
export function identiconPattern(id: string): { cells: boolean[][]; color: Rgb } {
  const hash = createHash('sha256').update(id).digest();
  const color = hslToRgb(((hash[0]! << 8) | hash[1]!) % 360, 0.55, 0.5);
  const cells: boolean[][] = [];
  for (let y = 0; y < 5; y++) {
    const row: boolean[] = [];
    for (let x = 0; x < 3; x++) row.push((hash[2 + y * 3 + x]! & 1) === 1);
    cells.push([row[0]!, row[1]!, row[2]!, row[1]!, row[0]!]);
  }
  return { cells, color };
}

/** A size×size PNG identicon for the id (size a multiple of 6 looks best: 5 cells plus a margin). */
export function identiconPng(id: string, size = 96): Buffer {
  const { cells, color } = identiconPattern(id);
  const background: Rgb = { r: 240, g: 240, b: 240 };
  const margin = Math.floor(size / 12);
  const cell = (size - 2 * margin) / 5;
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const cx = Math.floor((x - margin) / cell);
      const cy = Math.floor((y - margin) / cell);
      const on = cx >= 0 && cx < 5 && cy >= 0 && cy < 5 && cells[cy]![cx]!;
      const c = on ? color : background;
      const i = (y * size + x) * 3;
      rgb[i] = c.r;
      rgb[i + 1] = c.g;
      rgb[i + 2] = c.b;
    }
  }
  return encodePng(size, size, rgb);
}
