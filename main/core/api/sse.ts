// Server-sent events written by hand on node:http: the stream is one-way `data: <json>\n\n` lines ending with
// `data: [DONE]`, which takes a few lines here, while the SSE libraries on npm are either clients (parsers) or
// frameworks' middleware. A client that reads slowly is waited for (the socket's drain), never buffered without end.
import type { ServerResponse } from 'node:http';

export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  get open(): boolean {
    return this.res.headersSent;
  }

  start(headers: Record<string, string> = {}): void {
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...headers,
    });
    this.res.flushHeaders();
  }

  /** Writes one event; resolves once the socket can take more (or closed). */
  async send(data: unknown): Promise<void> {
    await this.#write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  async end(): Promise<void> {
    await this.#write('data: [DONE]\n\n');
    this.res.end();
  }

  #write(text: string): Promise<void> {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return Promise.resolve();
    if (res.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    });
  }
}
