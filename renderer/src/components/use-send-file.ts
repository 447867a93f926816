// Sending a file from the chat window: its facts (type, size, an image's pixels), the upload (encrypted in an
// encrypted room) with its progress, then the m.image or m.file event with the composer's text as its caption.
import { useCallback } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { attachmentMessage, isPreviewableImage, type FileFacts } from '../lib/attachments.ts';
import { buildMessageContent, type ComposerPart, type SendContext } from '../lib/mention-content.ts';
import { uploadAttachment } from '../matrix/media.ts';

async function fileFacts(file: File): Promise<FileFacts> {
  const facts: FileFacts = { name: file.name, mimetype: file.type || 'application/octet-stream', size: file.size };
  if (!isPreviewableImage(facts.mimetype) || typeof createImageBitmap !== 'function') return facts;
  try {
    const bitmap = await createImageBitmap(file);
    facts.w = bitmap.width;
    facts.h = bitmap.height;
    bitmap.close();
  } catch {
    // Not decodable here: sent without its size; the bots say what is wrong with it.
  }
  return facts;
}

export type SendFile = (
  file: File,
  parts: ComposerPart[],
  context: SendContext,
  onProgress: (fraction: number) => void,
) => Promise<void>;

export function useSendFile(client: MatrixClient, roomId: string): SendFile {
  return useCallback(
    async (file, parts, context, onProgress) => {
      const facts = await fileFacts(file);
      const encrypted = client.getRoom(roomId)?.hasEncryptionStateEvent() ?? false;
      const where = await uploadAttachment(client, file, { encrypted, onProgress });
      const content = attachmentMessage(facts, where, buildMessageContent(parts, context), context);
      await client.sendEvent(roomId, 'm.room.message' as never, content as never);
    },
    [client, roomId],
  );
}
