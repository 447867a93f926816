// Images as a model gets them, through sharp (libvips), in memory only: decoded strictly (a truncated or damaged
// file fails here, not in the model), turned upright by its EXIF orientation, scaled down so neither side passes the
// limit, and re-encoded without any metadata (EXIF, GPS, XMP, ICC: sharp keeps none unless asked), as PNG when it
// has transparency and JPEG otherwise. Only the first frame of an animation is kept.
import type SharpModule from 'sharp';
import type { ChatImage } from '../inference/types.ts';
import { AttachmentError } from './attachment-errors.ts';

/**
 * Larger images are refused before they are decoded (a "decompression bomb" of a few KB can claim gigapixels). 50
 * megapixels holds a 48 MP phone photo; decoded as RGBA it is 200 MB, under the threshold below.
 */
export const MAX_INPUT_PIXELS = 50_000_000;

let loaded: Promise<{ default: typeof SharpModule }> | undefined;

/**
 * sharp, loaded on first use. libvips keeps an image larger than its "disc threshold" (100 MB by default) in a temporary
 * file: with the threshold above what MAX_INPUT_PIXELS allows, a decoded image never reaches the disk. libvips reads
 * it once, when sharp loads, so it is set before.
 */
function loadSharp(): Promise<{ default: typeof SharpModule }> {
  process.env.VIPS_DISC_THRESHOLD ??= '1g';
  loaded ??= import('sharp');
  return loaded;
}

export async function prepareImage(bytes: Uint8Array, name: string, maxSide: number): Promise<ChatImage> {
  const { default: sharp } = await loadSharp();
  try {
    const input = sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_INPUT_PIXELS, animated: false });
    const { hasAlpha } = await input.metadata();
    const pipeline = input
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true });
    const { data, info } = await (
      hasAlpha ? pipeline.png({ compressionLevel: 6 }) : pipeline.jpeg({ quality: 85, mozjpeg: false })
    ).toBuffer({ resolveWithObject: true });
    return {
      mime: hasAlpha ? 'image/png' : 'image/jpeg',
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      name,
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    const why = (err as Error).message.split('\n')[0] ?? '';
    throw new AttachmentError(
      'Damaged',
      `${name} could not be decoded as an image (${why}): it may be cut short or damaged. Send it again.`,
      { cause: err },
    );
  }
}
