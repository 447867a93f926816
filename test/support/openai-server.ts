// A protocol-faithful local OpenAI-compatible server for tests: /v1/models and /v1/chat/completions
// (SSE with `data: [DONE]`, or one JSON body), Bearer auth, the OpenAI error body, 429 with
// Retry-After, 5xx, a connection cut mid-stream and garbage, all injectable as faults.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { json, closeServer, readBody, sleep, takeFault, write } from './http-helpers.ts';
import { jsonPieces, sampleOf } from './json-sample.ts';
import { argumentPieces, argumentText, openaiToolsProblem, type ScriptedTurn, type ToolScript } from './tool-script.ts';

export type OpenAIFault =
  | { kind: 'delay'; ms: number }
  /** Sends this many content chunks, then destroys the socket without [DONE]. */
  | { kind: 'cut'; afterChunks: number }
  | { kind: 'rate-limit'; retryAfterSeconds?: number }
  | { kind: 'status'; status: 500 | 502 | 503 }
  /** 200 text/event-stream whose data lines are not JSON. */
  | { kind: 'garbage' };

export interface OpenAIRecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown> | undefined;
}

export interface OpenAIServerOptions {
  models?: string[];
  /** When set, every /v1 request needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  tokenDelayMs?: number;
  /**
   * The answer's text, scripted per request (e.g. JSON that depends on the question), streamed in pieces of a few
   * characters. Without it: "Echo: …", or the simplest JSON of the requested json_schema response format.
   */
  reply?: (request: { lastUser: string; body: Record<string, unknown> }) => string;
  /** Models that take `image_url` content parts; others answer 400 as OpenAI does. */
  visionModels?: string[];
  /** Tool calling: per request, text and/or tool calls (streamed as OpenAI streams tool_calls deltas). */
  script?: ToolScript;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openaiError(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** Deterministic reply pieces: "Echo:" then the words of the last user message. */
export function openaiReplyPieces(lastUser: string): string[] {
  const words = lastUser.split(/\s+/).filter(Boolean);
  return ['Echo:', ...(words.length ? words : ['nothing'])].map((w, i) => (i === 0 ? w : ` ${w}`));
}

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export class OpenAITestServer {
  readonly requests: OpenAIRecordedRequest[] = [];
  readonly faults: Array<{ path?: string; fault: OpenAIFault }> = [];
  url = '';
  #server: Server;
  #counter = 0;
  readonly #options: OpenAIServerOptions;

  private constructor(options: OpenAIServerOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: OpenAIServerOptions = {}): Promise<OpenAITestServer> {
    const s = new OpenAITestServer(options);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.#server.address() as AddressInfo).port}/v1`;
    return s;
  }

  addFault(fault: OpenAIFault, path?: string): void {
    this.faults.push({ fault, path });
  }

  chatRequests(): OpenAIRecordedRequest[] {
    return this.requests.filter((r) => r.path === '/v1/chat/completions');
  }

  close(): Promise<void> {
    return closeServer(this.#server);
  }

  #takeFault(path: string): OpenAIFault | undefined {
    return takeFault(this.faults, path);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const raw = await readBody(req);
    let body: Record<string, unknown> | undefined;
    let parseFailed = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        parseFailed = true;
      }
    }
    this.requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
    const auth = this.#checkAuth(req.headers.authorization);
    if (auth) return json(res, 401, auth);
    let fault = this.#takeFault(path);
    if (fault?.kind === 'delay') {
      await sleep(fault.ms);
      fault = undefined;
    }
    if (fault?.kind === 'rate-limit') {
      const secs = fault.retryAfterSeconds ?? 1;
      const model = typeof body?.model === 'string' ? body.model : 'the model';
      return json(
        res,
        429,
        openaiError(
          `Rate limit reached for ${model} in organization org-test on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${secs}s.`,
          'requests',
          null,
          'rate_limit_exceeded',
        ),
        { 'retry-after': String(secs), 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': '0' },
      );
    }
    if (fault?.kind === 'status') {
      const message =
        fault.status === 503
          ? 'The engine is currently overloaded, please try again later'
          : 'The server had an error while processing your request. Sorry about that!';
      return json(res, fault.status, openaiError(message, 'server_error'));
    }
    const route = `${req.method} ${path}`;
    if (route === 'GET /v1/models') {
      return json(res, 200, {
        object: 'list',
        data: (this.#options.models ?? []).map((id) => ({
          id,
          object: 'model',
          created: 1686935002,
          owned_by: 'organization-owner',
        })),
      });
    }
    if (route !== 'POST /v1/chat/completions') {
      return json(res, 404, openaiError(`Invalid URL (${req.method} ${path})`, 'invalid_request_error'));
    }
    if (parseFailed) {
      return json(
        res,
        400,
        openaiError(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
          'invalid_request_error',
        ),
      );
    }
    return this.#chat(req, res, body ?? {}, fault);
  }

  #checkAuth(header: string | undefined): OpenAIErrorBody | undefined {
    const key = this.#options.apiKey;
    if (!key) return undefined;
    if (!header?.startsWith('Bearer ')) {
      return openaiError(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        'invalid_request_error',
      );
    }
    const given = header.slice(7);
    if (given !== key) {
      const masked = given.length > 8 ? `${given.slice(0, 3)}*****${given.slice(-4)}` : '*****';
      return openaiError(
        `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        null,
        'invalid_api_key',
      );
    }
    return undefined;
  }

  /** The answer in stream pieces: scripted, JSON of the requested schema, or the echo. */
  #pieces(lastUser: string, body: Record<string, unknown>): string[] {
    if (this.#options.reply) return jsonPieces(this.#options.reply({ lastUser, body }));
    const format = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
    if (format?.type === 'json_schema') return jsonPieces(JSON.stringify(sampleOf(format.json_schema?.schema)));
    if (format?.type === 'json_object') return ['{}'];
    return openaiReplyPieces(lastUser);
  }

  async #chat(
    req: IncomingMessage,
    res: ServerResponse,
    body: Record<string, unknown>,
    fault: OpenAIFault | undefined,
  ): Promise<void> {
    const model = body.model;
    if (typeof model !== 'string')
      return json(
        res,
        400,
        openaiError(
          "Missing required parameter: 'model'.",
          'invalid_request_error',
          'model',
          'missing_required_parameter',
        ),
      );
    if (!Array.isArray(body.messages)) {
      return json(
        res,
        400,
        openaiError(
          "Missing required parameter: 'messages'.",
          'invalid_request_error',
          'messages',
          'missing_required_parameter',
        ),
      );
    }
    const messages = body.messages as Array<{ role?: unknown; content?: unknown; name?: unknown }>;
    for (const [i, m] of messages.entries()) {
      if (m.name !== undefined && (typeof m.name !== 'string' || !NAME_PATTERN.test(m.name))) {
        return json(
          res,
          400,
          openaiError(
            `Invalid 'messages[${i}].name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
            'invalid_request_error',
            `messages[${i}].name`,
            'invalid_value',
          ),
        );
      }
    }
    const stream = body.stream === true;
    if (body.stream_options !== undefined && !stream) {
      return json(
        res,
        400,
        openaiError(
          "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
          'invalid_request_error',
          'stream_options',
          null,
        ),
      );
    }
    if (!(this.#options.models ?? []).includes(model)) {
      return json(
        res,
        404,
        openaiError(
          `The model \`${model}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          null,
          'model_not_found',
        ),
      );
    }
    const formatError = responseFormatError(body.response_format);
    if (formatError) return json(res, 400, formatError);
    const partsError = contentError(messages, (this.#options.visionModels ?? []).includes(model));
    if (partsError) return json(res, 400, partsError);
    const toolsProblem = openaiToolsProblem(body);
    if (toolsProblem)
      return json(
        res,
        400,
        openaiError(toolsProblem.message, 'invalid_request_error', toolsProblem.param, toolsProblem.code),
      );
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const lastUserText = contentText(lastUser?.content);
    const offered = ((body.tools ?? []) as Array<{ function: { name: string } }>).map((t) => t.function.name);
    const turn = this.#options.script?.({
      messages: messages as Array<Record<string, unknown>>,
      tools: offered,
      lastUser: lastUserText,
    });
    let pieces = turn ? scriptedPieces(turn) : this.#pieces(lastUserText, body);
    const max =
      typeof body.max_tokens === 'number'
        ? body.max_tokens
        : typeof body.max_completion_tokens === 'number'
          ? body.max_completion_tokens
          : Infinity;
    const calls = (turn?.toolCalls ?? []).map((c, i) => ({
      id: `call_${this.#counter + 1}_${i}`,
      name: c.name,
      arguments: argumentText(c.arguments),
    }));
    const finishReason = pieces.length > max ? 'length' : calls.length ? 'tool_calls' : 'stop';
    pieces = pieces.slice(0, max);
    const usage = {
      prompt_tokens: messages.reduce((n, m) => n + 4 + contentText(m.content).split(/\s+/).filter(Boolean).length, 0),
      completion_tokens: pieces.length,
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = `chatcmpl-test${++this.#counter}`;
    const created = Math.floor(Date.now() / 1000);
    if (!stream) {
      return json(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: pieces.length ? pieces.join('') : null,
              refusal: null,
              ...(calls.length
                ? {
                    tool_calls: calls.map((c) => ({
                      id: c.id,
                      type: 'function',
                      function: { name: c.name, arguments: c.arguments },
                    })),
                  }
                : {}),
            },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
        system_fingerprint: 'fp_test',
      });
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    if (fault?.kind === 'garbage') {
      res.end('data: {this is not json\n\ndata: <html>\n\n');
      return;
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_test',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const send = (data: unknown) => write(res, `data: ${JSON.stringify(data)}\n\n`);
    await send(chunk({ role: 'assistant', content: '', refusal: null }, null));
    let sent = 0;
    for (const piece of pieces) {
      if (fault?.kind === 'cut' && sent >= fault.afterChunks) return void req.socket.destroy();
      if (res.destroyed) return;
      await send(chunk({ content: piece }, null));
      sent++;
      if (this.#options.tokenDelayMs) await sleep(this.#options.tokenDelayMs);
    }
    if (fault?.kind === 'cut') return void req.socket.destroy();
    for (const [index, c] of calls.entries()) {
      // The first delta names the call; the arguments follow in pieces (what a client must put together).
      await send(
        chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }, null),
      );
      for (const piece of argumentPieces(c.arguments))
        await send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
    }
    await send(chunk({}, finishReason));
    if (includeUsage)
      await send({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint: 'fp_test',
        choices: [],
        usage,
      });
    res.end('data: [DONE]\n\n');
  }
}

/** A message's text: a string, or its `text` parts joined. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p): p is { type: 'text'; text: string } => p?.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text)
    .join('\n');
}

/** OpenAI's checks of content parts: known types, `image_url` only for vision models and only as an image URL. */
function contentError(messages: Array<{ content?: unknown }>, vision: boolean): OpenAIErrorBody | undefined {
  for (const [i, m] of messages.entries()) {
    if (!Array.isArray(m.content)) continue;
    for (const [j, part] of (m.content as Array<Record<string, unknown>>).entries()) {
      if (part?.type === 'text') continue;
      if (part?.type !== 'image_url')
        return invalid(
          `Invalid value: '${String(part?.type)}'. Supported values are: 'text' and 'image_url'.`,
          `messages[${i}].content[${j}].type`,
          'invalid_value',
        );
      if (!vision)
        return invalid(
          'Invalid content type. image_url is only supported by certain models.',
          `messages[${i}].content[${j}].type`,
        );
      const url = (part.image_url as { url?: unknown } | undefined)?.url;
      if (
        typeof url !== 'string' ||
        !/^(https?:\/\/|data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*$)/.test(url)
      )
        return invalid(
          "Invalid image URL: 'url' must be an http(s) URL or a base64 data URL of a PNG, JPEG, GIF or WebP image.",
          `messages[${i}].content[${j}].image_url.url`,
          'invalid_image_url',
        );
    }
  }
  return undefined;
}

/** A scripted turn's text as stream pieces (a word each). */
function scriptedPieces(turn: ScriptedTurn): string[] {
  const words = (turn.text ?? '').split(/(?=\s)/).filter(Boolean);
  return words;
}

const invalid = (message: string, param: string, code: string | null = null): OpenAIErrorBody =>
  openaiError(message, 'invalid_request_error', param, code);

/** OpenAI's checks of `response_format`, with its messages: the type, the json_schema's name, and strict's rules. */
function responseFormatError(format: unknown): OpenAIErrorBody | undefined {
  if (format === undefined) return undefined;
  const f = (format ?? {}) as { type?: unknown; json_schema?: Record<string, unknown> };
  if (f.type !== 'text' && f.type !== 'json_object' && f.type !== 'json_schema')
    return invalid(
      `Invalid value: '${String(f.type)}'. Supported values are: 'text', 'json_object', and 'json_schema'.`,
      'response_format.type',
      'invalid_value',
    );
  if (f.type !== 'json_schema') return undefined;
  const js = f.json_schema;
  if (!js) return invalid("Missing required parameter: 'response_format.json_schema'.", 'response_format.json_schema');
  if (typeof js.name !== 'string' || !NAME_PATTERN.test(js.name))
    return invalid(
      "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
      'response_format.json_schema.name',
      'invalid_value',
    );
  const problem = js.strict === true ? strictProblem(js.schema, []) : undefined;
  return problem
    ? invalid(`Invalid schema for response_format '${js.name}': ${problem}`, 'response_format', 'invalid_json_schema')
    : undefined;
}

/** Strict mode's rule for every object: additionalProperties false, and every property required. */
function strictProblem(schema: unknown, context: string[]): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Record<string, unknown>;
  const where = `In context=(${context.map((c) => `'${c}'`).join(', ')})`;
  const props = (s.properties ?? {}) as Record<string, unknown>;
  if (s.type === 'object') {
    if (s.additionalProperties !== false)
      return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const required = Array.isArray(s.required) ? (s.required as unknown[]) : [];
    const missing = Object.keys(props).find((k) => !required.includes(k));
    if (missing !== undefined)
      return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
  }
  for (const [k, v] of Object.entries(props)) {
    const p = strictProblem(v, [...context, 'properties', k]);
    if (p) return p;
  }
  return s.items === undefined ? undefined : strictProblem(s.items, [...context, 'items']);
}

/**
 * A fetch that sends requests for some hosts to local servers, as DNS would: lets a test give an
 * endpoint a remote URL (so it counts as remote for privacy) while a local server answers it.
 */
export function hostMappingFetch(map: Record<string, string>, base: typeof fetch = fetch): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const target = map[url.host];
    if (target) {
      const t = new URL(target);
      url.protocol = t.protocol;
      url.host = t.host;
    }
    return base(url, init);
  };
}
