// Typed errors of the control contract: the same payload over IPC, HTTP and WebSocket.
// Transports send ControlErrorPayload (plain data); callers turn it back into a ControlError.

export type ControlErrorCode =
  /** The request did not match the channel's schema. */
  | 'BadRequest'
  /** The sender is not our window, our origin or the top frame; or the token is wrong. */
  | 'Forbidden'
  /** No such channel, bot, model or job. */
  | 'NotFound'
  /** The service that answers is not running (yet), or the channel is desktop-only. */
  | 'Unavailable'
  /** The request conflicts with the current state (e.g. a download of that model is running). */
  | 'Conflict'
  /** A bug or an unexpected failure; the log has the details. */
  | 'Internal';

export interface ControlIssue {
  /** Where in the request, e.g. "bots.0.model". */
  path: string;
  message: string;
}

export interface ControlErrorPayload {
  name: 'ControlError';
  code: ControlErrorCode;
  message: string;
  /** What the person can do. */
  hint?: string;
  issues?: ControlIssue[];
}

const HINTS: Record<ControlErrorCode, string> = {
  BadRequest: 'Check the values sent; the issues list says which field is wrong.',
  Forbidden: 'Only the Agent Room window (or a client holding the session token) may call this.',
  NotFound: 'Refresh the list; it may have been removed.',
  Unavailable: 'Wait until the app has started, or check the status for a failed service.',
  Conflict: 'Wait for the running operation to finish, or cancel it first.',
  Internal: 'Something unexpected failed; the logs folder has the details.',
};

export class ControlError extends Error {
  override readonly name = 'ControlError';
  readonly hint: string;
  readonly issues: ControlIssue[] | undefined;

  constructor(
    readonly code: ControlErrorCode,
    message: string,
    options: { hint?: string; issues?: ControlIssue[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.hint = options.hint ?? HINTS[code];
    this.issues = options.issues;
  }

  toPayload(): ControlErrorPayload {
    const payload: ControlErrorPayload = {
      name: 'ControlError',
      code: this.code,
      message: this.message,
      hint: this.hint,
    };
    if (this.issues) payload.issues = this.issues;
    return payload;
  }

  static fromPayload(payload: ControlErrorPayload): ControlError {
    return new ControlError(payload.code, payload.message, { hint: payload.hint, issues: payload.issues });
  }
}

const CODES: ReadonlySet<string> = new Set(Object.keys(HINTS));

export function isControlErrorPayload(value: unknown): value is ControlErrorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.name === 'ControlError' && typeof v.code === 'string' && CODES.has(v.code) && typeof v.message === 'string';
}

/** Any thrown value as a payload: ControlErrors keep their code, anything else becomes Internal. */
export function toControlErrorPayload(err: unknown): ControlErrorPayload {
  if (err instanceof ControlError) return err.toPayload();
  if (isControlErrorPayload(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ControlError('Internal', message).toPayload();
}

/** What one call returns over a transport: the value, or a typed error. */
export type ControlResult<T> = { ok: true; value: T } | { ok: false; error: ControlErrorPayload };

/** Unwraps a transport result, throwing a ControlError for an error. */
export function unwrapResult<T>(result: ControlResult<T>): T {
  if (result.ok) return result.value;
  throw ControlError.fromPayload(result.error);
}
