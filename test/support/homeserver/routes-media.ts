// Media repository: upload, legacy unauthenticated download, authenticated (v1.11) download, thumbnails, config.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { notFound, tooLarge } from './errors.ts';
import { randomId, type Hs } from './context.ts';
import type { Ctx, Route } from './router.ts';

export function mediaRoutes(hs: Hs): Route[] {
  const upload = (ctx: Ctx): { body: unknown } => {
    if (ctx.raw.length > hs.config.maxRequestSize) throw tooLarge('Upload too large');
    const mediaId = randomId(18);
    const contentType = ctx.headers['content-type'] ?? 'application/octet-stream';
    if (hs.mediaDir !== undefined) {
      mkdirSync(hs.mediaDir, { recursive: true });
      writeFileSync(join(hs.mediaDir, mediaId), ctx.raw);
    } else hs.mediaBytes.set(mediaId, ctx.raw);
    const filename = ctx.query.get('filename') ?? undefined;
    hs.store.commit({
      k: 'media',
      media: { mediaId, contentType, filename, size: ctx.raw.length, uploader: ctx.caller.userId },
    });
    return { body: { content_uri: `mxc://${hs.config.serverName}/${mediaId}` } };
  };

  const download = (ctx: Ctx): { bytes: Buffer; contentType: string; headers: Record<string, string> } => {
    const media =
      ctx.params.serverName === hs.config.serverName ? hs.store.media.get(ctx.params.mediaId as string) : undefined;
    if (!media) throw notFound('Media not found');
    let bytes = hs.mediaBytes.get(media.mediaId);
    if (!bytes && hs.mediaDir !== undefined) {
      try {
        bytes = readFileSync(join(hs.mediaDir, media.mediaId));
      } catch {
        throw notFound('Media not found');
      }
    }
    if (!bytes) throw notFound('Media not found');
    const name = ctx.params.fileName ?? media.filename;
    const headers: Record<string, string> = {
      // The spec asks for a restrictive CSP on media so an uploaded HTML file cannot run scripts.
      'Content-Security-Policy':
        "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';",
      'Cross-Origin-Resource-Policy': 'cross-origin',
    };
    if (name !== undefined) headers['Content-Disposition'] = `inline; filename*=utf-8''${encodeURIComponent(name)}`;
    return { bytes, contentType: media.contentType, headers };
  };

  const config = (): { body: unknown } => ({ body: { 'm.upload.size': hs.config.maxRequestSize } });

  return [
    { method: 'POST', pattern: 'media:/upload', auth: 'required', raw: true, handler: upload },
    { method: 'GET', pattern: 'media:/config', auth: 'required', handler: config },
    { method: 'GET', pattern: 'authmedia:/config', auth: 'required', handler: config },
    { method: 'GET', pattern: 'media:/download/:serverName/:mediaId/:fileName?', auth: 'none', handler: download },
    {
      method: 'GET',
      pattern: 'authmedia:/download/:serverName/:mediaId/:fileName?',
      auth: 'required',
      handler: download,
    },
    // Thumbnails: the spec lets a server answer with the original when it cannot scale; this one never scales.
    { method: 'GET', pattern: 'media:/thumbnail/:serverName/:mediaId', auth: 'none', handler: download },
    { method: 'GET', pattern: 'authmedia:/thumbnail/:serverName/:mediaId', auth: 'required', handler: download },
  ];
}
