// Draws the tray state icons (starting, ready, working, error) and the app icon as PNG files into
// resources/. Run: node_modules/.bin/node --experimental-strip-types scripts/make-tray-icons.ts
// Plain zlib + CRC, no image library: the shapes are simple and the output is committed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../main/core/provisioning/png.ts';

type Rgba = [number, number, number, number];

/** Renders a square RGBA image from a pixel function. */
function renderPng(size: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const pixels = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) pixels.set(pixel(x, y), (y * size + x) * 4);
  return encodePng(size, size, pixels, 4);
}

/** Coverage of a disc of radius r at pixel (x, y), antialiased over one pixel. */
function disc(x: number, y: number, cx: number, cy: number, r: number): number {
  const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
  return Math.max(0, Math.min(1, r - d + 0.5));
}

const COLORS = {
  starting: [150, 150, 150],
  ready: [46, 160, 67],
  working: [47, 129, 247],
  error: [218, 54, 51],
} as const;

/** A speech bubble (disc) with a state dot in the lower right corner. */
/** macOS template images are one colour, so there the state is a shape: none, filled, ring, or a square. */
const TEMPLATE_BADGE = { starting: 'none', ready: 'filled', working: 'ring', error: 'square' } as const;

function trayIcon(
  size: number,
  dot: readonly [number, number, number],
  template: false | keyof typeof TEMPLATE_BADGE,
): Buffer {
  const s = size / 32;
  return renderPng(size, (x, y) => {
    const bubble = disc(x, y, 14 * s, 14 * s, 11 * s);
    const hole = disc(x, y, 14 * s, 14 * s, 7 * s);
    const badge = disc(x, y, 24 * s, 24 * s, 7 * s);
    const ring = disc(x, y, 24 * s, 24 * s, 8.5 * s);
    if (template) {
      const shape = TEMPLATE_BADGE[template];
      const inSquare = Math.abs(x + 0.5 - 24 * s) <= 6 * s && Math.abs(y + 0.5 - 24 * s) <= 6 * s ? 1 : 0;
      const mark =
        shape === 'filled'
          ? badge
          : shape === 'ring'
            ? Math.max(0, badge - disc(x, y, 24 * s, 24 * s, 4 * s))
            : shape === 'square'
              ? inSquare
              : 0;
      const body = Math.max(0, bubble - hole) * (shape === 'none' ? 1 : 1 - ring);
      return [0, 0, 0, Math.round(255 * Math.max(body, mark))];
    }
    if (badge > 0) return [dot[0], dot[1], dot[2], Math.round(255 * badge)];
    const a = Math.max(0, bubble - hole) * (1 - ring);
    return [60, 60, 60, Math.round(255 * a)];
  });
}

function appIcon(size: number): Buffer {
  const c = size / 2;
  return renderPng(size, (x, y) => {
    const bg = disc(x, y, c, c, size * 0.46);
    const people = [
      disc(x, y, c - size * 0.16, c, size * 0.1),
      disc(x, y, c + size * 0.16, c, size * 0.1),
      disc(x, y, c, c - size * 0.12, size * 0.1),
    ];
    const fg = Math.max(...people);
    const r = Math.round(47 * (1 - fg) + 255 * fg);
    const g = Math.round(129 * (1 - fg) + 255 * fg);
    const b = Math.round(247 * (1 - fg) + 255 * fg);
    return [r, g, b, Math.round(255 * bg)];
  });
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const write = (path: string, data: Buffer) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
};
for (const [state, color] of Object.entries(COLORS)) {
  write(join(root, 'resources/tray', `${state}.png`), trayIcon(32, color, false));
  write(join(root, 'resources/tray', `${state}@2x.png`), trayIcon(64, color, false));
  write(
    join(root, 'resources/tray', `${state}Template.png`),
    trayIcon(16, color, state as keyof typeof TEMPLATE_BADGE),
  );
  write(
    join(root, 'resources/tray', `${state}Template@2x.png`),
    trayIcon(32, color, state as keyof typeof TEMPLATE_BADGE),
  );
}
write(join(root, 'resources/icons/icon.png'), appIcon(512));
console.log('tray and app icons written to resources/');
