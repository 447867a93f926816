// A local update feed as electron-updater's generic provider reads it, and as the release workflow publishes it:
// latest-linux.yml (and latest-linux-arm64.yml, latest.yml, latest-mac.yml) in electron-builder's format —
// version, files[{url, sha512 (base64), size}], path, sha512, releaseDate — beside the installer files.
// Faults for tests: a feed whose sha512 does not match the file, a server that cuts the download half way.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';

export interface UpdateFeedOptions {
  version: string;
  /** The installer served for the update, e.g. agent-room-0.2.0-linux-x64.AppImage. */
  file: { name: string; data: Buffer };
  /** The feed lists a sha512 that is not the file's. */
  wrongSha512?: boolean;
  /** The server promises the whole file, sends this many bytes, then drops the connection. */
  cutAfterBytes?: number;
}

export interface UpdateFeed {
  /** Base URL: the feed files and the installer are under it. */
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  /** The feed file's text (latest-linux.yml). */
  feedText: string;
  close(): Promise<void>;
}

const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('base64');

export function feedYaml(o: UpdateFeedOptions): string {
  const sum = o.wrongSha512 ? sha512(Buffer.from('not the file')) : sha512(o.file.data);
  return stringify({
    version: o.version,
    files: [{ url: o.file.name, sha512: sum, size: o.file.data.length }],
    path: o.file.name,
    sha512: sum,
    releaseDate: '2026-12-01T10:00:00.000Z',
  });
}

export async function startUpdateFeed(o: UpdateFeedOptions): Promise<UpdateFeed> {
  const requests: string[] = [];
  const feedText = feedYaml(o);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (/^\/latest(-linux(-arm64)?|-mac)?\.yml$/.test(path)) {
      res.writeHead(200, { 'content-type': 'application/x-yaml' });
      return void res.end(feedText);
    }
    if (path === `/${o.file.name}`) {
      if (req.method === 'HEAD') return void res.writeHead(200, { 'content-length': o.file.data.length }).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': o.file.data.length });
      if (o.cutAfterBytes !== undefined) {
        res.write(o.file.data.subarray(0, o.cutAfterBytes), () => res.socket?.destroy());
        return;
      }
      return void res.end(o.file.data);
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    feedText,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
