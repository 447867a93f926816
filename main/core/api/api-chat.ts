// POST /v1/chat/completions: the body checked, the model resolved (a bot id or a model reference), the prompt
// measured against the model's context, then the router streams the answer (priority 'low': a local model's
// sequences go to the bots' replies first) as server-sent events or one JSON body, with usage.
import type { ServerResponse } from 'node:http';
import type { Settings } from '../../common/settings-schema.ts';
import { grammarSchema, JsonGrammarError } from '../inference/llama/json-grammar.ts';
import type { InferenceRouter } from '../inference/router.ts';
import type { ChatChunk, ChatMessage, GenerationStats, SamplingOptions } from '../inference/types.ts';
import { badRequest, fromZod, sendJson, toApiError, ApiError } from './api-errors.ts';
import { resolveModel, type ApiModel } from './api-models.ts';
import { answerSchema, chatBodySchema, toChatMessages, type ChatBody } from './api-requests.ts';
import { SseWriter } from './sse.ts';

export interface ApiCall {
  keyName: string;
  requestId: string;
  /** Aborted when the client closes the connection. */
  signal: AbortSignal;
}

export interface ChatDeps {
  settings: () => Settings;
  router: () => InferenceRouter;
}

interface Prepared {
  body: ChatBody;
  model: ApiModel;
  messages: ChatMessage[];
  sampling: SamplingOptions;
  jsonSchema: Record<string, unknown> | undefined;
  /** The answer's token limit the request runs with (finish_reason 'length' when reached). */
  maxTokens: number;
}

export async function chatCompletions(deps: ChatDeps, call: ApiCall, raw: unknown, res: ServerResponse): Promise<void> {
  const p = await prepare(deps, call, raw);
  let answered: string | undefined;
  const chunks = textAndDone(
    deps.router().chat({
      bot: p.model.bot,
      messages: p.messages,
      sampling: p.sampling,
      signal: call.signal,
      ...(p.jsonSchema ? { jsonSchema: p.jsonSchema } : {}),
      context: { roomId: 'api', eventId: call.requestId, caller: `api:${call.keyName}` },
      priority: 'low',
      onDecision: (d) => (answered = d.model),
    }),
  );
  const head = () => ({ 'X-Request-Id': call.requestId, ...(answered ? { 'X-Agent-Room-Model': answered } : {}) });
  if (p.body.stream) await streamOut(p, call, chunks, res, head);
  else {
    let text = '';
    let stats: GenerationStats | undefined;
    for await (const c of chunks) {
      if (c.type === 'text') text += c.text;
      else {
        text = c.text || text;
        stats = c.stats;
      }
    }
    sendJson(
      res,
      200,
      {
        ...envelope(p, call, 'chat.completion'),
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: finishReason(stats, p.maxTokens),
          },
        ],
        usage: usage(stats),
      },
      head(),
    );
  }
}

async function streamOut(
  p: Prepared,
  call: ApiCall,
  chunks: AsyncIterable<{ type: 'text'; text: string } | { type: 'done'; stats: GenerationStats }>,
  res: ServerResponse,
  head: () => Record<string, string>,
): Promise<void> {
  const sse = new SseWriter(res);
  const includeUsage = p.body.stream_options?.include_usage === true;
  const base = envelope(p, call, 'chat.completion.chunk');
  const event = (delta: Record<string, unknown>, finish: string | null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  let stats: GenerationStats | undefined;
  try {
    for await (const c of chunks) {
      if (!sse.open) {
        // Headers wait for the first chunk: a request refused before any text still gets its own status.
        sse.start(head());
        await sse.send(event({ role: 'assistant', content: '' }, null));
      }
      if (c.type === 'text') {
        if (c.text) await sse.send(event({ content: c.text }, null));
      } else stats = c.stats;
    }
  } catch (err) {
    if (!sse.open || call.signal.aborted) throw err;
    // Mid-stream failure: OpenAI's clients raise an error event's body as an APIError.
    await sse.send(toApiError(err).body());
    res.end();
    return;
  }
  if (!sse.open) sse.start(head());
  await sse.send(event({}, finishReason(stats, p.maxTokens)));
  if (includeUsage) await sse.send({ ...base, choices: [], usage: usage(stats) });
  await sse.end();
}

async function prepare(deps: ChatDeps, call: ApiCall, raw: unknown): Promise<Prepared> {
  const parsed = chatBodySchema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error);
  const body = parsed.data;
  const router = deps.router();
  const model = resolveModel(deps.settings(), (m) => router.backendFor(m), body.model, `api:${call.keyName}`);
  if (model instanceof ApiError) throw model;
  const jsonSchema = answerSchema(body);
  if (jsonSchema instanceof ApiError) throw jsonSchema;
  const messages = toChatMessages(body);
  const asked = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const stop = typeof body.stop === 'string' ? [body.stop] : (body.stop ?? undefined);
  const sampling: SamplingOptions = {
    ...(asked !== undefined ? { maxTokens: asked } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { topP: body.top_p } : {}),
    ...(body.seed != null ? { seed: body.seed } : {}),
    ...(stop?.length ? { stop } : {}),
  };
  await checkFits(router, model, messages, asked, jsonSchema, call.signal);
  return { body, model, messages, sampling, jsonSchema, maxTokens: asked ?? model.bot.maxTokens };
}

/**
 * The prompt (with the chat template's tokens) and the asked completion must fit the context of the model the
 * rules choose first, as OpenAI checks; a JSON schema a llama grammar cannot express is the request's fault too.
 */
async function checkFits(
  router: InferenceRouter,
  model: ApiModel,
  messages: ChatMessage[],
  asked: number | undefined,
  jsonSchema: Record<string, unknown> | undefined,
  signal: AbortSignal,
): Promise<void> {
  const { plan } = await router.decide({ bot: model.bot, messages, signal });
  const first = plan.candidates[0]?.model;
  if (first === undefined) return; // the router refuses with its reason
  if (jsonSchema && router.backendFor(first)?.kind === 'llama') {
    try {
      grammarSchema(jsonSchema);
    } catch (err) {
      if (err instanceof JsonGrammarError)
        throw badRequest(`Invalid schema for response_format: ${err.message}`, 'response_format.json_schema.schema');
      throw err;
    }
  }
  const window = await router.contextWindow(first, signal).catch((err: unknown) => {
    throw toApiError(err);
  });
  let prompt = window.templateTokens;
  for (const m of messages) prompt += window.perMessageTokens + (await router.countTokens(first, m.content));
  const requested = prompt + (asked ?? 0);
  if (prompt < window.contextTokens && requested <= window.contextTokens) return;
  throw badRequest(
    `This model's maximum context length is ${window.contextTokens} tokens. However, you requested ${requested} tokens ` +
      `(${prompt} in the messages, ${asked ?? 0} in the completion). Please reduce the length of the messages or completion.`,
    'messages',
    'context_length_exceeded',
  );
}

function envelope(p: Prepared, call: ApiCall, object: string) {
  return {
    id: `chatcmpl-${call.requestId}`,
    object,
    created: Math.floor(Date.now() / 1000),
    model: p.body.model,
    system_fingerprint: null,
  };
}

function finishReason(stats: GenerationStats | undefined, maxTokens: number): 'stop' | 'length' {
  return stats && stats.completionTokens >= maxTokens ? 'length' : 'stop';
}

function usage(stats: GenerationStats | undefined) {
  const prompt = stats?.promptTokens ?? 0;
  const completion = stats?.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** The answer's text and its end: /v1 offers no tools, so no tool calls can come; any that did are left out. */
async function* textAndDone(
  chunks: AsyncIterable<ChatChunk>,
): AsyncIterable<Exclude<ChatChunk, { type: 'tool_calls' }>> {
  for await (const c of chunks) if (c.type !== 'tool_calls') yield c;
}
