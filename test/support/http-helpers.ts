// Small HTTP helpers shared by the protocol-faithful local servers (Ollama, OpenAI-compatible).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  res.writeHead(status, { 'content-type': contentType, ...headers });
  res.end(JSON.stringify(body));
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

/** Writes and waits until the bytes left, so a later cut does not swallow them. */
export function write(res: ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => res.write(data, () => resolve()));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Faults waiting to be served: the first one for this path (or for any path) is taken, once. */
export function takeFault<F>(faults: Array<{ path?: string; fault: F }>, path: string): F | undefined {
  const i = faults.findIndex((f) => f.path === undefined || f.path === path);
  return i < 0 ? undefined : faults.splice(i, 1)[0]?.fault;
}

/** Ends open connections (a stream a test cut short, keep-alive sockets) so close never waits on them. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
