// POST /v1/embeddings: vectors from a llama: model's embedding context (a bot id uses its chain's first llama
// model), as float arrays or, as OpenAI's own client asks by default, base64 of little-endian float32.
import type { ServerResponse } from 'node:http';
import type { Settings } from '../../common/settings-schema.ts';
import type { EmbedRequest } from '../inference/embeddings.ts';
import type { EmbedResult, InferenceBackend } from '../inference/types.ts';
import type { ApiCall } from './api-chat.ts';
import { ApiError, badRequest, fromZod, sendJson } from './api-errors.ts';
import { resolveModel } from './api-models.ts';
import { embeddingsBodySchema } from './api-requests.ts';

export interface EmbeddingsDeps {
  settings: () => Settings;
  backendFor: (model: string) => InferenceBackend | undefined;
  embed: (request: EmbedRequest) => Promise<EmbedResult & { model: string }>;
}

export async function embeddings(
  deps: EmbeddingsDeps,
  call: ApiCall,
  raw: unknown,
  res: ServerResponse,
): Promise<void> {
  const parsed = embeddingsBodySchema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error);
  const body = parsed.data;
  const model = resolveModel(deps.settings(), deps.backendFor, body.model, `api:${call.keyName}`);
  if (model instanceof ApiError) throw model;
  const inputs = typeof body.input === 'string' ? [body.input] : body.input;
  if (inputs.some((t) => t.length === 0)) throw badRequest("'input' cannot hold an empty string.", 'input');
  const result = await deps.embed({
    bot: model.bot,
    inputs,
    signal: call.signal,
    context: { roomId: 'api', eventId: call.requestId, caller: `api:${call.keyName}` },
  });
  const dims = body.dimensions ?? undefined;
  const size = result.vectors[0]?.length ?? 0;
  if (dims !== undefined && dims > size)
    throw badRequest(`'dimensions' can be at most ${size} for ${body.model}.`, 'dimensions');
  const base64 = body.encoding_format === 'base64';
  sendJson(
    res,
    200,
    {
      object: 'list',
      data: result.vectors.map((v, index) => {
        const vector = dims === undefined ? v : normalize(v.slice(0, dims));
        return { object: 'embedding', index, embedding: base64 ? toBase64(vector) : vector };
      }),
      model: body.model,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    },
    { 'X-Request-Id': call.requestId, 'X-Agent-Room-Model': result.model },
  );
}

/** A shortened vector is scaled back to length 1, as OpenAI's `dimensions` does. */
function normalize(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm > 0 ? v.map((x) => x / norm) : v;
}

function toBase64(v: number[]): string {
  const f = Float32Array.from(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}
