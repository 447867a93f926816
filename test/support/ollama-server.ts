// A protocol-faithful local Ollama server (docs/api.md of ollama/ollama) for tests: NDJSON streaming,
// the real error bodies and status codes, pull progress, /api/ps with keep_alive, and injectable faults.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { json as sendJson, closeServer, readBody, sleep, takeFault, write } from './http-helpers.ts';
import { jsonPieces, sampleOf } from './json-sample.ts';
import type { ToolScript } from './tool-script.ts';

export interface FakeOllamaModel {
  name: string;
  size: number;
  digest: string;
  family: string;
  parameterSize: string;
  quantization: string;
  /** The model has an image projector: /api/show lists "vision", and chat messages may carry `images`. */
  vision?: boolean;
  /** The model's template supports tools (Ollama's "tools" capability). */
  tools?: boolean;
}

export type OllamaFault =
  | { kind: 'delay'; ms: number }
  /** Sends this many NDJSON lines, then destroys the socket without a final object. */
  | { kind: 'cut'; afterChunks: number }
  /** Sends this many NDJSON lines (headers with the first, as Ollama does), then nothing, keeping the connection open until the client closes it. */
  | { kind: 'stall'; afterChunks: number }
  | { kind: 'status'; status: number; error: string }
  /** 200 with bytes that are not JSON. */
  | { kind: 'garbage' };

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  at: number;
}

export interface OllamaServerOptions {
  version?: string;
  models?: FakeOllamaModel[];
  /** Models that /api/pull can fetch. */
  registry?: FakeOllamaModel[];
  /** Pause between pull progress lines, so a test can cancel mid-pull. */
  pullStepMs?: number;
  /** Pause between chat tokens. */
  tokenDelayMs?: number;
  /** Tool calling: per request, text and/or tool calls (sent as a message with tool_calls before the final object). */
  script?: ToolScript;
}

export function fakeModel(name: string, size = 1_000_000): FakeOllamaModel {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const digest = h.toString(16).padStart(8, '0').repeat(8).slice(0, 64);
  return { name: normalizeName(name), size, digest, family: 'llama', parameterSize: '1B', quantization: 'Q4_0' };
}

/** Ollama's name rule: a missing tag means :latest. */
export function normalizeName(name: string): string {
  const lastPart = name.split('/').pop() ?? name;
  return lastPart.includes(':') ? name : `${name}:latest`;
}

/** The reply the server generates: deterministic words derived from the last user message. */
export function ollamaReplyWords(lastUser: string): string[] {
  const words = lastUser.split(/\s+/).filter(Boolean);
  return ['Echo:', ...(words.length ? words : ['nothing'])];
}

export class OllamaTestServer {
  readonly requests: RecordedRequest[] = [];
  /** Faults applied in order to matching requests; each is used once. */
  readonly faults: Array<{ path?: string; fault: OllamaFault }> = [];
  readonly models = new Map<string, FakeOllamaModel>();
  readonly registry = new Map<string, FakeOllamaModel>();
  /** Loaded models as /api/ps shows them, with the keep_alive expiry. */
  readonly loaded = new Map<string, { expiresAt: number; keepAlive: unknown }>();
  /** Pulls the client abandoned by closing the connection. */
  cancelledPulls = 0;
  /** Stalled chats whose connection the client closed; 'stall-closed' is emitted for each. */
  closedStalls = 0;
  readonly events = new EventEmitter();
  url = '';
  #server: Server;
  readonly #options: OllamaServerOptions;

  private constructor(options: OllamaServerOptions) {
    this.#options = options;
    for (const m of options.models ?? []) this.models.set(m.name, m);
    for (const m of options.registry ?? []) this.registry.set(m.name, m);
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: OllamaServerOptions = {}): Promise<OllamaTestServer> {
    const s = new OllamaTestServer(options);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.#server.address() as AddressInfo).port}`;
    return s;
  }

  addFault(fault: OllamaFault, path?: string): void {
    this.faults.push({ fault, path });
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    return closeServer(this.#server);
  }

  #takeFault(path: string): OllamaFault | undefined {
    return takeFault(this.faults, path);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const raw = await readBody(req);
    let body: Record<string, unknown> | undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        this.requests.push({ method: req.method ?? '', path, body: undefined, at: Date.now() });
        return json(res, 400, { error: 'invalid character looking for beginning of value' });
      }
    }
    this.requests.push({ method: req.method ?? '', path, body, at: Date.now() });
    let fault = this.#takeFault(path);
    if (fault?.kind === 'delay') {
      await sleep(fault.ms);
      fault = undefined;
    }
    if (fault?.kind === 'status') return json(res, fault.status, { error: fault.error });
    if (fault?.kind === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      return void res.end('<html>not ollama</html>\n');
    }
    const cutAfter = fault?.kind === 'cut' ? fault.afterChunks : undefined;
    const stallAfter = fault?.kind === 'stall' ? fault.afterChunks : undefined;
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /':
      case 'HEAD /':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('Ollama is running');
      case 'GET /api/version':
        return json(res, 200, { version: this.#options.version ?? '0.6.5' });
      case 'GET /api/tags':
        return json(res, 200, { models: [...this.models.values()].map((m) => tagEntry(m)) });
      case 'GET /api/ps':
        return json(res, 200, { models: this.#ps() });
      case 'POST /api/show':
        return this.#show(res, body);
      case 'POST /api/chat':
        return this.#chat(req, res, body, cutAfter, stallAfter);
      case 'POST /api/pull':
        return this.#pull(res, body, cutAfter);
      default:
        // gin's default for unknown routes and methods.
        res.writeHead(404, { 'content-type': 'text/plain' });
        return void res.end('404 page not found');
    }
  }

  #ps(): unknown[] {
    const now = Date.now();
    const out = [];
    for (const [name, l] of this.loaded) {
      const m = this.models.get(name);
      if (!m || l.expiresAt <= now) continue;
      out.push({ ...tagEntry(m), expires_at: new Date(l.expiresAt).toISOString(), size_vram: m.size });
    }
    return out;
  }

  #show(res: ServerResponse, body: Record<string, unknown> | undefined): void {
    const name = String(body?.model ?? body?.name ?? '');
    if (!name) return json(res, 400, { error: 'model is required' });
    const m = this.models.get(normalizeName(name));
    if (!m) return json(res, 404, { error: `model '${name}' not found` });
    json(res, 200, {
      modelfile: `FROM ${m.name}\n`,
      parameters: 'stop "<|im_end|>"',
      template: '{{ .Prompt }}',
      details: details(m),
      model_info: {
        'general.architecture': m.family,
        'general.parameter_count': 1_000_000_000,
        'llama.context_length': 4096,
      },
      capabilities: ['completion', ...(m.vision ? ['vision'] : []), ...(m.tools ? ['tools'] : [])],
      modified_at: new Date(0).toISOString(),
    });
  }

  /** Waits, sending nothing more, until the client closes the connection. */
  async #stall(res: ServerResponse): Promise<void> {
    if (!res.destroyed) await new Promise((resolve) => res.once('close', resolve));
    this.closedStalls++;
    this.events.emit('stall-closed');
  }

  async #chat(
    req: IncomingMessage,
    res: ServerResponse,
    body: Record<string, unknown> | undefined,
    cutAfter: number | undefined,
    stallAfter?: number,
  ): Promise<void> {
    const name = typeof body?.model === 'string' ? body.model : '';
    if (!name) return json(res, 400, { error: 'model is required' });
    const m = this.models.get(normalizeName(name));
    if (!m) return json(res, 404, { error: `model "${name}" not found, try pulling it first` });
    const messages = Array.isArray(body?.messages)
      ? (body.messages as Array<{ role?: string; content?: string; images?: unknown }>)
      : [];
    const keepAlive = body?.keep_alive ?? '5m';
    const keepMs = keepAliveMs(keepAlive);
    const stream = body?.stream !== false;
    const created = () => new Date().toISOString();
    if (messages.length === 0) {
      // An empty chat loads (or with keep_alive 0 unloads) the model.
      if (keepMs === 0) this.loaded.delete(m.name);
      else this.loaded.set(m.name, { expiresAt: Date.now() + keepMs, keepAlive });
      return json(res, 200, {
        model: name,
        created_at: created(),
        message: { role: 'assistant', content: '' },
        done_reason: keepMs === 0 ? 'unload' : 'load',
        done: true,
      });
    }
    const imageError = imagesError(messages, m);
    if (imageError) return json(res, imageError.status, { error: imageError.error });
    const format = body?.format;
    // As Ollama's llm server: "" and null mean no format, "json" any JSON, an object a JSON schema.
    if (format !== undefined && format !== null && format !== '' && format !== 'json' && typeof format !== 'object')
      return json(res, 500, {
        error: `invalid format: ${JSON.stringify(JSON.stringify(format))}; expected "json" or a valid JSON Schema object`,
      });
    const lastUser = [...messages].reverse().find((x) => x.role === 'user')?.content ?? '';
    const tools = Array.isArray(body?.tools) ? (body.tools as Array<{ function?: { name?: string } }>) : [];
    if (tools.length > 0 && !m.tools)
      return json(res, 400, { error: `registry.ollama.ai/library/${m.name} does not support tools` });
    const turn = this.#options.script?.({
      messages: messages as Array<Record<string, unknown>>,
      tools: tools.map((t) => String(t.function?.name ?? '')),
      lastUser,
    });
    const calls = (turn?.toolCalls ?? []).map((c) => ({
      function: { name: c.name, arguments: typeof c.arguments === 'string' ? parseArgs(c.arguments) : c.arguments },
    }));
    // Held to the format, the model answers JSON: here the simplest value of the schema.
    let words = turn
      ? (turn.text ?? '').split(/\s+/).filter(Boolean)
      : typeof format === 'object' && format !== null
        ? jsonPieces(JSON.stringify(sampleOf(format)))
        : format === 'json'
          ? ['{}']
          : ollamaReplyWords(lastUser);
    const options = (body?.options ?? {}) as { num_predict?: number };
    const limit = typeof options.num_predict === 'number' && options.num_predict > 0 ? options.num_predict : Infinity;
    const doneReason = words.length > limit ? 'length' : 'stop';
    words = words.slice(0, limit);
    const pieces = format ? words : words.map((w, i) => (i === 0 ? w : ` ${w}`));
    const promptTokens = messages.reduce(
      (n, x) =>
        n +
        4 +
        String(x.content ?? '')
          .split(/\s+/)
          .filter(Boolean).length,
      0,
    );
    const wasLoaded = this.loaded.has(m.name);
    if (keepMs === 0) this.loaded.delete(m.name);
    else this.loaded.set(m.name, { expiresAt: keepMs < 0 ? Number.MAX_SAFE_INTEGER : Date.now() + keepMs, keepAlive });
    const evalNs = pieces.length * 10_000_000;
    const final = {
      model: name,
      created_at: created(),
      message: { role: 'assistant', content: '' },
      done_reason: doneReason,
      done: true,
      total_duration: evalNs + 50_000_000,
      load_duration: wasLoaded ? 1_000_000 : 30_000_000,
      prompt_eval_count: promptTokens,
      prompt_eval_duration: 20_000_000,
      eval_count: pieces.length,
      eval_duration: evalNs,
    };
    if (!stream) {
      return json(res, 200, {
        ...final,
        message: { role: 'assistant', content: pieces.join(''), ...(calls.length ? { tool_calls: calls } : {}) },
      });
    }
    if (stallAfter === 0) return this.#stall(res);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let sent = 0;
    for (const piece of pieces) {
      if (cutAfter !== undefined && sent >= cutAfter) return void req.socket.destroy();
      if (stallAfter !== undefined && sent >= stallAfter) return this.#stall(res);
      if (res.destroyed) return;
      await write(
        res,
        `${JSON.stringify({ model: name, created_at: created(), message: { role: 'assistant', content: piece }, done: false })}\n`,
      );
      sent++;
      if (this.#options.tokenDelayMs) await sleep(this.#options.tokenDelayMs);
    }
    if (cutAfter !== undefined) return void req.socket.destroy();
    if (stallAfter !== undefined) return this.#stall(res);
    if (calls.length > 0)
      await write(
        res,
        `${JSON.stringify({ model: name, created_at: created(), message: { role: 'assistant', content: '', tool_calls: calls }, done: false })}\n`,
      );
    res.end(`${JSON.stringify(final)}\n`);
  }

  async #pull(
    res: ServerResponse,
    body: Record<string, unknown> | undefined,
    cutAfter: number | undefined,
  ): Promise<void> {
    // The real server still accepts the deprecated `name` field, which ollama-js sends.
    const name = String(body?.model ?? body?.name ?? '');
    if (!name) return json(res, 400, { error: 'model is required' });
    const stream = body?.stream !== false;
    const m = this.registry.get(normalizeName(name)) ?? this.models.get(normalizeName(name));
    if (!stream) {
      if (!m) return json(res, 500, { error: 'pull model manifest: file does not exist' });
      this.models.set(m.name, m);
      return json(res, 200, { status: 'success' });
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let closed = false;
    res.on('close', () => {
      if (!res.writableEnded) closed = true;
    });
    const lines: unknown[] = [{ status: 'pulling manifest' }];
    if (!m) lines.push({ error: 'pull model manifest: file does not exist' });
    else {
      const short = m.digest.slice(0, 12);
      const steps = 4;
      for (let i = 0; i <= steps; i++) {
        lines.push({
          status: `pulling ${short}`,
          digest: `sha256:${m.digest}`,
          total: m.size,
          ...(i > 0 ? { completed: Math.round((m.size * i) / steps) } : {}),
        });
      }
      lines.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' });
    }
    let sent = 0;
    for (const line of lines) {
      if (closed || res.destroyed) {
        this.cancelledPulls++;
        return;
      }
      if (cutAfter !== undefined && sent >= cutAfter) return void res.socket?.destroy();
      // The manifest is written before "success" is sent, as the real server does.
      if (m && (line as { status?: string }).status === 'success') this.models.set(m.name, m);
      await write(res, `${JSON.stringify(line)}\n`);
      sent++;
      if (this.#options.pullStepMs) await sleep(this.#options.pullStepMs);
    }
    res.end();
  }
}

/** Ollama's checks of `images`: base64 (Go's decoder and its message), and a model that can take them. */
function imagesError(
  messages: Array<{ images?: unknown }>,
  m: FakeOllamaModel,
): { status: number; error: string } | undefined {
  for (const msg of messages) {
    if (msg.images === undefined) continue;
    if (!Array.isArray(msg.images)) return { status: 400, error: 'json: cannot unmarshal images' };
    for (const img of msg.images) {
      const bad = typeof img === 'string' ? /[^A-Za-z0-9+/=]/.exec(img) : { index: 0 };
      if (bad) return { status: 400, error: `illegal base64 data at input byte ${bad.index}` };
    }
    if (msg.images.length > 0 && !m.vision)
      return { status: 500, error: 'this model is missing data required for image input' };
  }
  return undefined;
}

function details(m: FakeOllamaModel) {
  return {
    parent_model: '',
    format: 'gguf',
    family: m.family,
    families: [m.family],
    parameter_size: m.parameterSize,
    quantization_level: m.quantization,
  };
}

function tagEntry(m: FakeOllamaModel) {
  return {
    name: m.name,
    model: m.name,
    modified_at: new Date(0).toISOString(),
    size: m.size,
    digest: m.digest,
    details: details(m),
  };
}

/** keep_alive as Ollama reads it: a number of seconds or a Go duration ("5m", "1h", "30s"); negative = forever. */
export function keepAliveMs(v: unknown): number {
  if (typeof v === 'number') return v < 0 ? -1 : v * 1000;
  if (typeof v === 'string') {
    const m = /^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
    if (m) {
      const n = Number(m[1]);
      if (n < 0) return -1;
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
      return n * unit;
    }
  }
  return 300_000;
}

/** A model's argument text as Ollama's parser reads it: JSON, or {} when it is not an object. */
function parseArgs(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, {}, 'application/json; charset=utf-8');
}
