// Maps what the `ollama` package throws (ResponseError, fetch failures, stream ends, aborts) to InferenceError.
import { InferenceError, isInferenceError } from '../types.ts';

export interface OllamaErrorContext {
  host: string;
  signal?: AbortSignal;
  /** What was being done, for the message: "chat with qwen2.5:0.5b". */
  what: string;
  tag?: string;
  pulling?: boolean;
  receivedChars?: number;
  receivedParts?: number;
}

export function pullHint(tag: string): string {
  return `Pull it with \`ollama pull ${tag}\` or from the model manager (agent-room models pull ollama:${tag}).`;
}

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** An HTTP error status from Ollama: a missing model, memory it lacks, a server failure or a refused request. */
function fromStatus(err: unknown, status: number, message: string, ctx: OllamaErrorContext): InferenceError {
  if (status === 404 && ctx.tag) {
    return new InferenceError('ModelNotFound', `Ollama at ${ctx.host} has no model "${ctx.tag}": ${message}.`, {
      cause: err,
      hint: pullHint(ctx.tag),
    });
  }
  if (/out of memory|requires more system memory|insufficient memory/i.test(message)) {
    return new InferenceError('OutOfMemory', `Ollama could not load "${ctx.tag ?? '?'}": ${message}.`, {
      cause: err,
    });
  }
  if (status >= 500)
    return new InferenceError(
      'BackendUnavailable',
      `Ollama at ${ctx.host} failed to ${ctx.what} (HTTP ${status}): ${message}.`,
      { cause: err },
    );
  return new InferenceError(
    'BadResponse',
    `Ollama at ${ctx.host} refused to ${ctx.what} (HTTP ${status}): ${message}.`,
    { cause: err },
  );
}

export function mapOllamaError(err: unknown, ctx: OllamaErrorContext): InferenceError {
  if (isInferenceError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  if (ctx.signal?.aborted) {
    const reason: unknown = ctx.signal.reason;
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new InferenceError('Timeout', `Ollama at ${ctx.host} did not answer in time to ${ctx.what}.`, {
        cause: err,
      });
    }
    return new InferenceError('Aborted', `Stopped: ${ctx.what}.`, { cause: err });
  }
  const status = (err as { status_code?: unknown }).status_code;
  if (typeof status === 'number') return fromStatus(err, status, message, ctx);
  const code = causeCode(err);
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    (code === 'ECONNRESET' && !ctx.receivedParts)
  ) {
    return new InferenceError('BackendUnavailable', `Cannot reach Ollama at ${ctx.host} (${code}) to ${ctx.what}.`, {
      cause: err,
      hint: 'Start Ollama (`ollama serve`) or fix its URL in settings; the fallback chain is tried next.',
    });
  }
  if (ctx.pulling && /file does not exist|manifest/i.test(message) && ctx.tag) {
    return new InferenceError('ModelNotFound', `Ollama's registry has no model "${ctx.tag}" (${message}).`, {
      cause: err,
      hint: 'Check the model name on ollama.com/library.',
    });
  }
  if (name === 'SyntaxError') {
    return new InferenceError(
      'BadResponse',
      `${ctx.host} answered something that is not Ollama's JSON while trying to ${ctx.what}.`,
      { cause: err },
    );
  }
  const cut =
    message === 'terminated' ||
    /did not receive done|other side closed|socket|premature/i.test(message) ||
    code === 'UND_ERR_SOCKET';
  if (cut) {
    // Only garbage leaves ollama-js with no parsed line and a cleanly ended body.
    if ((ctx.receivedParts ?? 0) === 0 && /did not receive done/i.test(message)) {
      return new InferenceError(
        'BadResponse',
        `Ollama at ${ctx.host} sent no valid reply to ${ctx.what}: it may not be an Ollama server.`,
        { cause: err },
      );
    }
    return new InferenceError(
      'BackendUnavailable',
      `Ollama at ${ctx.host} closed the connection mid-stream while trying to ${ctx.what}${ctx.receivedChars ? `, after ${ctx.receivedChars} characters` : ''}.`,
      { cause: err },
    );
  }
  if (message === 'fetch failed')
    return new InferenceError('BackendUnavailable', `Cannot reach Ollama at ${ctx.host} to ${ctx.what}.`, {
      cause: err,
    });
  // An {"error": "..."} line inside a stream.
  return new InferenceError('BackendUnavailable', `Ollama failed to ${ctx.what}: ${message}.`, { cause: err });
}
