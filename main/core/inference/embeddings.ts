// Embeddings for the API: the first model of the bot's chain (its model, then its fallbacks) whose backend embeds
// (node-llama-cpp models only, all on this machine), with the call recorded in the audit trail like a chat.
import type { BotConfig } from '../../common/settings-schema.ts';
import type { AuditSink } from '../audit/audit-types.ts';
import { CallAudit, type CallContext } from './router-audit.ts';
import { isInferenceError, type EmbedResult, type InferenceBackend } from './types.ts';

export interface EmbedRequest {
  bot: BotConfig;
  inputs: string[];
  signal?: AbortSignal;
  context?: CallContext;
}

/** None of the bot's models can embed: the request names the wrong model (the API answers 400). */
export class NoEmbeddingModelError extends Error {
  constructor(readonly models: string[]) {
    super(
      `Embeddings need a llama: model (node-llama-cpp, on this machine); ${models.join(', ')} cannot embed here. ` +
        'Use a model reference llama:/path/model.gguf, or a bot whose model is one.',
    );
    this.name = 'NoEmbeddingModelError';
  }
}

export interface EmbedDeps {
  backendFor(model: string): InferenceBackend | undefined;
  audit: AuditSink | undefined;
  now: () => number;
}

export async function embedFor(deps: EmbedDeps, request: EmbedRequest): Promise<EmbedResult & { model: string }> {
  const { bot } = request;
  const chain = [bot.model, ...bot.fallback];
  const model = chain.find((m) => deps.backendFor(m)?.embed !== undefined);
  const backend = model === undefined ? undefined : deps.backendFor(model);
  if (model === undefined || !backend?.embed) throw new NoEmbeddingModelError(chain);
  const audit = new CallAudit(
    deps.audit,
    { bot, context: request.context, sensitive: [], prompt: request.inputs.join('\n'), task: null },
    deps.now,
  );
  const started = deps.now();
  const call = audit.attempt(
    model,
    backend.kind,
    backend.isLocal(model),
    `embeddings: ${bot.id}'s first model that embeds`,
  );
  try {
    const result = await backend.embed(model, request.inputs, request.signal);
    const totalMs = deps.now() - started;
    call.done(
      {
        promptTokens: result.promptTokens,
        completionTokens: 0,
        timeToFirstTokenMs: totalMs,
        tokensPerSecond: 0,
        totalMs,
        backend: backend.kind,
        model,
      },
      '',
    );
    return { ...result, model };
  } catch (err) {
    call.failed(isInferenceError(err) ? err.code : 'BadResponse', Boolean(request.signal?.aborted));
    throw err;
  } finally {
    call.end('aborted');
  }
}
