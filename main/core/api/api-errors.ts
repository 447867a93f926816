// Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the status OpenAI gives each
// kind, so that clients built for OpenAI (its official SDKs above all) raise the error class a person expects.
import type { ServerResponse } from 'node:http';
import type { z } from 'zod';
import { NoEmbeddingModelError } from '../inference/embeddings.ts';
import { isInferenceError, type ErrorCode } from '../inference/types.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Seconds, sent as Retry-After (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, message, 'invalid_request_error', code, param);

export function modelNotFound(model: string): ApiError {
  return new ApiError(
    404,
    `The model \`${model}\` does not exist here. Use a bot id or a model reference (llama:/path/model.gguf, ` +
      'ollama:<tag>, openai:<endpoint>/<model>); GET /v1/models lists them.',
    'invalid_request_error',
    'model_not_found',
    'model',
  );
}

/** The first problem zod found, as OpenAI names a wrong parameter (`messages.0.role`). */
export function fromZod(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue?.path.map(String).join('.') || null;
  const missing = issue?.code === 'invalid_type' && /received undefined/.test(issue.message);
  return badRequest(
    missing
      ? `Missing required parameter: '${param}'.`
      : `Invalid value for '${param ?? 'body'}': ${issue?.message ?? 'not valid'}.`,
    param,
    missing ? 'missing_required_parameter' : 'invalid_value',
  );
}

const BY_CODE: Record<ErrorCode, { status: number; type: string; code: string }> = {
  ModelNotFound: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  PromptTooLong: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' },
  PolicyRefused: { status: 403, type: 'permission_error', code: 'policy_refused' },
  RateLimited: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  BackendUnavailable: { status: 503, type: 'server_error', code: 'backend_unavailable' },
  OutOfMemory: { status: 503, type: 'server_error', code: 'out_of_memory' },
  Timeout: { status: 504, type: 'server_error', code: 'timeout' },
  InvalidModelFile: { status: 500, type: 'server_error', code: 'invalid_model_file' },
  BadResponse: { status: 502, type: 'server_error', code: 'bad_response' },
  Aborted: { status: 499, type: 'server_error', code: 'aborted' },
};

/** Any failure as the API tells it: inference errors by their code (with their hint), the rest as 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof NoEmbeddingModelError) return badRequest(err.message, 'model', 'model_not_supported');
  if (isInferenceError(err)) {
    const m = BY_CODE[err.code];
    const retry = err.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(err.retryAfterMs / 1000));
    const message = err.code === 'PromptTooLong' ? err.message : `${err.message} ${err.hint}`;
    const param = err.code === 'ModelNotFound' ? 'model' : err.code === 'PromptTooLong' ? 'messages' : null;
    return new ApiError(m.status, message, m.type, m.code, param, retry);
  }
  return new ApiError(500, 'The server had an error while processing your request.', 'server_error', 'internal_error');
}

export function sendApiError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  };
  if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
  res.writeHead(err.status, headers);
  res.end(JSON.stringify(err.body()));
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}
