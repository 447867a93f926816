// A local HTTP file server for download tests: HEAD and GET with single byte ranges (RFC 9110 §14),
// slow streaming, a connection cut after N bytes (once), and a lie about the file's size.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DownloadServerRequest {
  method: string;
  path: string;
  range?: string;
}

export class DownloadServer {
  readonly requests: DownloadServerRequest[] = [];
  /** Milliseconds between 64 KiB chunks; makes a download slow enough to abort mid-way. */
  chunkDelayMs = 0;
  private cutAfterBytes: number | undefined;
  private claimedSize: number | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly files: Map<string, Buffer>,
  ) {}

  /** Serves each file at /<name>. */
  static async start(files: Record<string, Buffer>): Promise<DownloadServer> {
    const map = new Map(Object.entries(files).map(([name, body]) => [`/${name}`, body]));
    const ref: { self?: DownloadServer } = {};
    const server = createServer((req, res) => void ref.self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ref.self = new DownloadServer(server, `http://127.0.0.1:${port}`, map);
    return ref.self;
  }

  fileUrl(name: string): string {
    return `${this.url}/${name}`;
  }

  /** The next GET response is cut (socket destroyed) after this many body bytes; once. */
  cutOnceAfter(bytes: number): void {
    this.cutAfterBytes = bytes;
  }

  /** Report this size in Content-Length and Content-Range while serving the real bytes. */
  lieAboutSize(size: number | undefined): void {
    this.claimedSize = size;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname;
    this.requests.push({
      method: req.method ?? 'GET',
      path,
      ...(req.headers.range ? { range: req.headers.range } : {}),
    });
    const body = this.files.get(path);
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const total = this.claimedSize ?? body.length;
    const common = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', ETag: `"${body.length}"` };
    let start = 0;
    let end = total - 1;
    let partial = false;
    if (req.headers.range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range);
      if (!m || Number(m[1]) >= total) {
        res.writeHead(416, { ...common, 'Content-Range': `bytes */${total}` }).end();
        return;
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), total - 1) : total - 1;
      partial = true;
    }
    res.writeHead(partial ? 206 : 200, {
      ...common,
      'Content-Length': String(end - start + 1),
      ...(partial ? { 'Content-Range': `bytes ${start}-${end}/${total}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = this.cutAfterBytes;
    this.cutAfterBytes = undefined;
    const available = body.subarray(start, Math.min(end + 1, body.length));
    let sent = 0;
    for (let offset = 0; offset < available.length; offset += 65536) {
      let chunk = available.subarray(offset, offset + 65536);
      if (cut !== undefined && sent + chunk.length > cut) chunk = chunk.subarray(0, cut - sent);
      if (chunk.length > 0 && !res.write(chunk)) await new Promise((r) => res.once('drain', r));
      sent += chunk.length;
      if (cut !== undefined && sent >= cut) return destroyAfterFlush(res);
      if (this.chunkDelayMs > 0) await new Promise((r) => setTimeout(r, this.chunkDelayMs));
      if (res.destroyed) return;
    }
    // A size lie promises more bytes than exist: the response ends short, as a truncated upstream does.
    if (sent < end - start + 1) return destroyAfterFlush(res);
    res.end();
  }
}

function destroyAfterFlush(res: ServerResponse): void {
  setTimeout(() => res.socket?.destroy(), 10);
}
