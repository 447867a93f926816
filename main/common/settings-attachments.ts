// Settings for images and documents posted in the room: how large an attachment a bot downloads, the side images are
// scaled down to before a model sees them, and which models can see images (Ollama says so itself; an
// OpenAI-compatible endpoint's models are listed here). Spread into settings-schema.ts.
import { z } from 'zod';

export const DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024;
export const DEFAULT_IMAGE_MAX_SIDE = 1568;
export const DEFAULT_VISION_TASK = 'vision';

export const attachmentSettingsSchema = z.object({
  /** Attachments larger than this are refused: before the download when the event says so, during it otherwise. */
  maxBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(DEFAULT_ATTACHMENT_MAX_BYTES),
  /** Images are scaled down so that neither side is longer (most vision models work at about this size). */
  maxImageSide: z.number().int().min(64).max(8192).default(DEFAULT_IMAGE_MAX_SIDE),
  /** The task whose models see images for bots whose own model cannot (when the bot allows it). */
  visionTask: z.string().min(1).default(DEFAULT_VISION_TASK),
  /** Most attachments read for one request (the mention's own, the one replied to, the thread's). */
  maxPerRequest: z.number().int().min(1).max(32).default(8),
});
export type AttachmentSettings = z.infer<typeof attachmentSettingsSchema>;

export const defaultAttachmentSettings: AttachmentSettings = {
  maxBytes: DEFAULT_ATTACHMENT_MAX_BYTES,
  maxImageSide: DEFAULT_IMAGE_MAX_SIDE,
  visionTask: DEFAULT_VISION_TASK,
  maxPerRequest: 8,
};

/** A bot's own attachment settings (spread into the bot schema). */
export const botAttachmentFields = {
  /**
   * When the bot's model cannot see images, the vision task's models answer requests with images (a local-only bot's
   * only those on this machine). Unset: true. False: the bot says it cannot see images and names a model that can.
   */
  visionFallback: z.boolean().optional(),
};

/** An OpenAI-compatible endpoint's vision models (spread into its schema). */
export const endpointVisionFields = {
  /** Models of this endpoint that take images (`image_url` parts): names as after `openai:<endpoint>/`, or `*` for all. */
  vision: z.array(z.string().min(1)).optional(),
};
