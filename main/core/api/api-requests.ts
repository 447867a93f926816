// The request bodies /v1 accepts, as zod schemas: what OpenAI's chat completions and embeddings take that this
// server can honour. Fields it ignores (penalties, logit_bias, user…) pass; fields it cannot honour (tools, n > 1,
// images, logprobs) are refused by name rather than silently dropped.
import { z } from 'zod';
import type { ChatMessage } from '../inference/types.ts';
import { badRequest, type ApiError } from './api-errors.ts';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart), z.null()]);

const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: content.optional(),
  name: z.string().max(64).optional(),
});

const optionalInt = z.number().int().min(1).nullish();

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export const chatBodySchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: optionalInt,
  max_completion_tokens: optionalInt,
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  n: z.literal(1).nullish(),
  response_format: responseFormat.nullish(),
  logprobs: z.literal(false).nullish(),
  tools: z.array(z.unknown()).max(0, 'tools are not supported here').nullish(),
  functions: z.array(z.unknown()).max(0, 'functions are not supported here').nullish(),
});
export type ChatBody = z.infer<typeof chatBodySchema>;

export const embeddingsBodySchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});
export type EmbeddingsBody = z.infer<typeof embeddingsBodySchema>;

/** The messages as the router takes them (developer → system; text parts joined). */
export function toChatMessages(body: ChatBody): ChatMessage[] {
  return body.messages.map((m) => {
    const text = typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text).join('');
    return {
      role: m.role === 'developer' ? 'system' : m.role,
      content: text,
      ...(m.name ? { name: m.name } : {}),
    };
  });
}

/** The JSON schema the answer must follow: json_schema's own, or any JSON object for json_object. */
export function answerSchema(body: ChatBody): Record<string, unknown> | ApiError | undefined {
  const f = body.response_format;
  if (!f || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'object', additionalProperties: true };
  if (!f.json_schema.schema)
    return badRequest(
      "Missing required parameter: 'response_format.json_schema.schema'.",
      'response_format.json_schema.schema',
    );
  return f.json_schema.schema;
}
