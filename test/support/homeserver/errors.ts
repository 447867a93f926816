// Matrix error bodies and status codes exactly as the client-server spec defines them ("Standard error response").
export class MatrixError extends Error {
  readonly status: number;
  readonly errcode: string;
  readonly extra: Record<string, unknown>;

  constructor(status: number, errcode: string, error: string, extra: Record<string, unknown> = {}) {
    super(error);
    this.status = status;
    this.errcode = errcode;
    this.extra = extra;
  }

  body(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (why: string): MatrixError => new MatrixError(403, 'M_FORBIDDEN', why);
export const notFound = (why: string): MatrixError => new MatrixError(404, 'M_NOT_FOUND', why);
export const badJson = (why: string): MatrixError => new MatrixError(400, 'M_BAD_JSON', why);
export const notJson = (why = 'Content not JSON.'): MatrixError => new MatrixError(400, 'M_NOT_JSON', why);
export const missingParam = (why: string): MatrixError => new MatrixError(400, 'M_MISSING_PARAM', why);
export const invalidParam = (why: string): MatrixError => new MatrixError(400, 'M_INVALID_PARAM', why);
export const unknown = (why: string): MatrixError => new MatrixError(400, 'M_UNKNOWN', why);
export const tooLarge = (why: string): MatrixError => new MatrixError(413, 'M_TOO_LARGE', why);
export const missingToken = (): MatrixError => new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
// soft_logout false: the token is gone for good, the client must log in again (spec: "Soft logout").
export const unknownToken = (): MatrixError =>
  new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token', { soft_logout: false });
export const limitExceeded = (retryAfterMs: number): MatrixError =>
  new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: retryAfterMs });
export const unrecognized = (status: 404 | 405): MatrixError =>
  new MatrixError(status, 'M_UNRECOGNIZED', status === 404 ? 'Unrecognized request' : 'Method not allowed');

/** Reads a JSON object body field by field; wrong types are M_BAD_JSON as a real server answers. */
export function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badJson('Body must be a JSON object');
  return body as Record<string, unknown>;
}

export function optString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badJson(`'${key}' must be a string`);
  return v;
}

export function reqString(obj: Record<string, unknown>, key: string): string {
  const v = optString(obj, key);
  if (v === undefined) throw missingParam(`Missing '${key}'`);
  return v;
}

export function optBool(obj: Record<string, unknown>, key: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badJson(`'${key}' must be a boolean`);
  return v;
}

export function optObject(obj: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badJson(`'${key}' must be an object`);
  return v as Record<string, unknown>;
}

export function optArray(obj: Record<string, unknown>, key: string): unknown[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw badJson(`'${key}' must be an array`);
  return v;
}
