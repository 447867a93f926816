// One chat request to an OpenAI-compatible endpoint: its JSON body, its headers with the endpoint's API key, and the
// POST /chat/completions retried until a stream answers, under a watchdog per HTTP attempt.
import type { Logger } from '../../logging/logger.ts';
import type { Clock, TokenBucket } from '../rate-limit.ts';
import { withRetry, type RetryPolicy } from '../retry.ts';
import { StreamWatchdog } from '../stream-watchdog.ts';
import { InferenceError, type ChatMessage, type ChatRequest } from '../types.ts';
import { errorFromResponse, errorFromThrown, sanitizeName } from './openai-http.ts';

/** The endpoint settings a request reads (an OpenAIEndpoint has them all). */
export interface RequestEndpoint {
  id: string;
  url: string;
  apiKeyRef?: string;
  /** Until the first token (and for each retried connection). */
  timeoutMs: number;
}

/** One attempt's HTTP state: the watchdog of its current connection, and the abort that closes it however it ends. */
export interface Attempt {
  dog: StreamWatchdog | undefined;
  done: AbortController;
}

/** How a request reaches its endpoint: the backend's fetch, clock, retry policy and log, and the endpoint's limits. */
export interface PostOptions {
  fetch: typeof fetch;
  clock: Clock;
  retry: RetryPolicy;
  logger: Logger | undefined;
  /** The endpoint's rate limit, taken before each HTTP attempt. */
  bucket: () => TokenBucket;
  /** Between tokens once they flow. */
  idleTimeoutMs: number;
}

/** The request's headers, with the endpoint's API key read from the environment (`env:VAR`) or the secret store. */
export async function requestHeaders(
  ep: RequestEndpoint,
  env: Record<string, string | undefined>,
  resolveSecret: ((ref: string) => Promise<string | undefined>) | undefined,
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream, application/json',
  };
  const ref = ep.apiKeyRef;
  if (!ref) return headers;
  const key = ref.startsWith('env:') ? env[ref.slice(4)] : await resolveSecret?.(ref);
  if (!key) {
    throw new InferenceError(
      'BackendUnavailable',
      `No API key for endpoint "${ep.id}": ${ref.startsWith('env:') ? `the environment variable ${ref.slice(4)} is not set` : `the secret "${ref}" is empty`}.`,
      {
        hint: ref.startsWith('env:')
          ? `Set ${ref.slice(4)} before starting Agent Room.`
          : 'Enter the API key for this endpoint in settings.',
      },
    );
  }
  headers.authorization = `Bearer ${key}`;
  return headers;
}

/**
 * POST /chat/completions until it answers with a stream (retries on 429/5xx per the retry policy, each after the
 * endpoint's rate limit). One watchdog per HTTP attempt, in `attempt.dog`: its first-token limit covers the wait
 * for headers and for the first token.
 */
export async function postCompletion(
  o: PostOptions,
  ep: RequestEndpoint,
  headers: Record<string, string>,
  model: string,
  request: ChatRequest,
  attempt: Attempt,
): Promise<Response> {
  const where = `endpoint "${ep.id}" (${ep.url})`;
  const body = JSON.stringify(requestBody(model, request));
  const limits = { firstTokenMs: ep.timeoutMs, idleMs: o.idleTimeoutMs };
  const stall = {
    where,
    settingsPath: `endpoints.openai (id "${ep.id}")`,
    firstTokenSetting: 'timeoutMs',
    idleSetting: 'idleTimeoutMs',
  };
  return withRetry(
    async () => {
      await o.bucket().take(request.signal);
      attempt.dog?.stop();
      const dog = new StreamWatchdog(limits, stall);
      attempt.dog = dog;
      const signal = AbortSignal.any([dog.signal, attempt.done.signal, ...(request.signal ? [request.signal] : [])]);
      let r: Response;
      try {
        r = await o.fetch(`${ep.url.replace(/\/+$/, '')}/chat/completions`, {
          method: 'POST',
          headers,
          body,
          signal,
        });
      } catch (err) {
        throw errorFromThrown(err, where, {
          callerSignal: request.signal,
          timedOut: dog.error !== undefined,
          timeoutMs: ep.timeoutMs,
          receivedChars: 0,
        });
      }
      if (!r.ok) throw await errorFromResponse(r, where, model, o.clock.now());
      if (!r.body) throw new InferenceError('BadResponse', `${where} answered without a body.`);
      return r;
    },
    {
      policy: o.retry,
      clock: o.clock,
      signal: request.signal,
      onRetry: ({ attempt: n, delayMs, error }) =>
        o.logger?.info(
          { endpoint: ep.id, attempt: n, delayMs, err: (error as Error).message },
          'retrying openai request',
        ),
    },
  );
}

/** One message as the API takes it: a tool's result answers its call by id; an assistant's calls go as tool_calls. */
function messageBody(m: ChatMessage): Record<string, unknown> {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content };
  const name = m.name ? sanitizeName(m.name) : undefined;
  const calls = m.role === 'assistant' && m.toolCalls?.length ? m.toolCalls : undefined;
  return {
    role: m.role,
    // An assistant turn that only called tools has no text: the API wants null then.
    content: calls && m.content === '' ? null : messageContent(m),
    ...(name ? { name } : {}),
    ...(calls
      ? {
          tool_calls: calls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.arguments },
          })),
        }
      : {}),
  };
}

function requestBody(model: string, request: ChatRequest): Record<string, unknown> {
  const s = request.sampling ?? {};
  return {
    model,
    messages: request.messages.map(messageBody),
    ...(request.tools?.length
      ? {
          tools: request.tools.map((t) => ({
            type: 'function',
            function: { name: t.name, description: t.description ?? '', parameters: t.parameters },
          })),
        }
      : {}),
    stream: true,
    stream_options: { include_usage: true },
    ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
    ...(s.maxTokens !== undefined ? { max_tokens: s.maxTokens } : {}),
    ...(s.topP !== undefined ? { top_p: s.topP } : {}),
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    ...(s.stop !== undefined ? { stop: s.stop } : {}),
    ...(request.jsonSchema
      ? {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'answer', schema: strictSchema(request.jsonSchema), strict: true },
          },
        }
      : {}),
  };
}

/** A message's content: its text, or with images the text part then one `image_url` part (a data URL) per image. */
function messageContent(m: ChatMessage): string | Array<Record<string, unknown>> {
  if (!m.images?.length) return m.content;
  return [
    { type: 'text', text: m.content },
    ...m.images.map((i) => ({
      type: 'image_url',
      image_url: { url: `data:${i.mime};base64,${Buffer.from(i.data).toString('base64')}` },
    })),
  ];
}

/** Keywords whose value is a schema or a list of schemas, and those whose value names schemas. */
const SUBSCHEMAS = ['items', 'prefixItems', 'oneOf', 'anyOf', 'allOf', 'not', 'additionalProperties'] as const;
const NAMED_SUBSCHEMAS = ['properties', '$defs', 'definitions'] as const;

/**
 * The schema as strict structured output needs it: an object that does not say otherwise takes no other properties
 * and requires every one it lists. That is what the node-llama-cpp grammar does with the same schema, so a stage
 * answers alike on every backend; an object that says otherwise is sent as written (and the endpoint says why not).
 */
export function strictSchema(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = { ...schema };
  const each = (v: unknown) => (Array.isArray(v) ? v.map(strictSchema) : strictSchema(v));
  const named = (v: unknown) =>
    typeof v === 'object' && v !== null
      ? Object.fromEntries(Object.entries(v).map(([n, s]) => [n, strictSchema(s)]))
      : v;
  for (const k of SUBSCHEMAS) if (out[k] !== undefined) out[k] = each(out[k]);
  for (const k of NAMED_SUBSCHEMAS) if (out[k] !== undefined) out[k] = named(out[k]);
  const props = out.properties;
  if (out.type === 'object' || (typeof props === 'object' && props !== null)) {
    out.additionalProperties ??= false;
    out.required ??= Object.keys((props ?? {}) as object);
  }
  return out;
}
