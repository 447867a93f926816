// The OpenAI-compatible API under /v1: every request needs one of the keys (`Authorization: Bearer ar-…`);
// chat completions and embeddings then wait for their key's turn (api-admission.ts) and run through the router.
// Mounted on serve's control server and on the desktop app's API server; neither's control token nor Origin
// check applies here, and no CORS headers are sent (the API is for programs on this machine, not web pages).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelInfo } from '../../common/inference-types.ts';
import type { Settings } from '../../common/settings-schema.ts';
import type { EmbedRequest } from '../inference/embeddings.ts';
import type { InferenceRouter } from '../inference/router.ts';
import type { EmbedResult } from '../inference/types.ts';
import type { Logger } from '../logging/logger.ts';
import { ApiAdmission, type AdmissionStats } from './api-admission.ts';
import { chatCompletions, type ApiCall } from './api-chat.ts';
import { embeddings } from './api-embeddings.ts';
import { ApiError, badRequest, sendApiError, sendJson, toApiError } from './api-errors.ts';
import type { ApiKeyStore } from './api-keys.ts';
import { modelObjects } from './api-models.ts';

/** What the API needs of inference (the InferenceService). */
export interface ApiInference {
  /** Throws until inference started. */
  readonly router: InferenceRouter;
  listModels(signal?: AbortSignal): Promise<ModelInfo[]>;
  embed(request: EmbedRequest): Promise<EmbedResult & { model: string }>;
}

export interface ApiHandlerOptions {
  settings: () => Settings;
  keys: ApiKeyStore;
  inference: ApiInference;
  logger?: Logger;
  /** Largest request body, bytes. Default 8 MiB. */
  maxBodyBytes?: number;
}

export class ApiHandler {
  readonly admission: ApiAdmission;
  /** Where the API answers, once a server mounted it (shown in Settings → API). */
  baseUrl: string | undefined;
  readonly #created = Math.floor(Date.now() / 1000);

  constructor(private readonly o: ApiHandlerOptions) {
    this.admission = new ApiAdmission({ limits: () => o.settings().api });
  }

  /** True for the paths this handler answers. */
  static handles(pathname: string): boolean {
    return pathname === '/v1' || pathname.startsWith('/v1/');
  }

  stats(): AdmissionStats {
    return this.admission.stats();
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const requestId = randomBytes(12).toString('hex');
    const started = Date.now();
    const abort = new AbortController();
    // The request's work follows the client: a closed connection stops the generation and frees its sequence.
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let keyName: string | undefined;
    try {
      keyName = await this.#authenticate(req);
      await this.#route(req, res, pathname, { keyName, requestId, signal: abort.signal });
    } catch (err) {
      if (abort.signal.aborted) return;
      const e = toApiError(err);
      if (e.status >= 500)
        this.o.logger?.warn({ requestId, err: err instanceof Error ? err.message : String(err) }, 'API request failed');
      sendApiError(res, e);
    } finally {
      this.o.logger?.info(
        {
          requestId,
          key: keyName,
          method: req.method,
          path: pathname,
          status: abort.signal.aborted ? 499 : res.statusCode,
          ms: Date.now() - started,
        },
        'API request',
      );
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse, pathname: string, call: ApiCall): Promise<void> {
    const method = req.method ?? 'GET';
    const route = `${method} ${pathname.replace(/\/+$/, '')}`;
    if (route === 'GET /v1/models') {
      sendJson(res, 200, { object: 'list', data: await this.#models(call.signal) });
      return;
    }
    if (method === 'GET' && pathname.startsWith('/v1/models/')) {
      const id = decodeURIComponent(pathname.slice('/v1/models/'.length));
      const found = (await this.#models(call.signal)).find((m) => m.id === id);
      if (!found) throw badModel(id);
      sendJson(res, 200, found);
      return;
    }
    const run =
      route === 'POST /v1/chat/completions' ? 'chat' : route === 'POST /v1/embeddings' ? 'embeddings' : undefined;
    if (!run)
      throw new ApiError(
        404,
        `Unknown request URL: ${method} ${pathname}. This server answers GET /v1/models, POST /v1/chat/completions and POST /v1/embeddings.`,
        'invalid_request_error',
        'unknown_url',
      );
    const body = await readJson(req, this.o.maxBodyBytes ?? 8 * 1024 * 1024);
    this.#router(); // 503 while inference starts, before taking a place in the queue
    const ticket = await this.admission.admit(call.keyName, call.signal);
    try {
      if (run === 'chat')
        await chatCompletions({ settings: this.o.settings, router: () => this.#router() }, call, body, res);
      else
        await embeddings(
          {
            settings: this.o.settings,
            backendFor: (m) => this.#router().backendFor(m),
            embed: (r) => this.o.inference.embed(r),
          },
          call,
          body,
          res,
        );
    } finally {
      ticket.release();
    }
  }

  /** The ids GET /v1/models lists (a peer hears them when it pairs). */
  async modelIds(signal: AbortSignal): Promise<string[]> {
    return (await this.#models(signal)).map((m) => m.id);
  }

  async #models(signal: AbortSignal) {
    return modelObjects(this.o.settings(), await this.o.inference.listModels(signal), this.#created);
  }

  #router(): InferenceRouter {
    try {
      return this.o.inference.router;
    } catch {
      throw new ApiError(503, 'Inference is starting; try again in a moment.', 'server_error', 'starting', null, 2);
    }
  }

  /** The key's name; 401 in OpenAI's words for a missing or wrong key (the key itself is never logged). */
  async #authenticate(req: IncomingMessage): Promise<string> {
    const auth = req.headers.authorization;
    const given = auth?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const name = given ? await this.o.keys.verify(given) : undefined;
    if (name !== undefined) return name;
    const shown = given ? `${given.slice(0, 6)}…${given.slice(-4)}` : undefined;
    throw new ApiError(
      401,
      shown
        ? `Incorrect API key provided: ${shown}. Create a key with \`agent-room api-key create <name>\` (or in Settings → API).`
        : "You didn't provide an API key. Send it as `Authorization: Bearer ar-…`; create one with `agent-room api-key create <name>`.",
      'invalid_request_error',
      'invalid_api_key',
    );
  }
}

function badModel(id: string): ApiError {
  return new ApiError(
    404,
    `The model \`${id}\` does not exist here.`,
    'invalid_request_error',
    'model_not_found',
    'model',
  );
}

function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ApiError(413, `The request body is larger than ${limit} bytes.`, 'invalid_request_error'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(
          badRequest(
            'We could not parse the JSON body of your request. The API expects a JSON body (Content-Type: application/json).',
            null,
            'invalid_json',
          ),
        );
      }
    });
    req.on('error', reject);
  });
}
