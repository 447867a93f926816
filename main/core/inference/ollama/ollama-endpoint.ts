// One Ollama endpoint as the backend reaches it: the one a model reference names, its URL as shown in messages, a
// client whose every request carries the caller's signal (ollama-js passes none on its plain calls), and what its
// /api/show says of a model.
import { Ollama } from 'ollama';
import { InferenceError } from '../types.ts';
import { parseOllamaRef } from './ollama-ref.ts';
import type { OllamaEndpoint } from './ollama-stream.ts';

/** The endpoint a reference names (the first for `ollama:<tag>`), its index in settings, and its tag. */
export function resolveOllamaRef(
  endpoints: OllamaEndpoint[],
  ref: string,
): { ep: OllamaEndpoint; index: number; tag: string } {
  const { endpointId, tag } = parseOllamaRef(ref);
  const index = endpointId === undefined ? 0 : endpoints.findIndex((e) => e.id === endpointId);
  const ep = endpoints[index];
  if (!ep) {
    throw new InferenceError(
      'BackendUnavailable',
      endpointId === undefined
        ? `No Ollama server is configured for ${ref}.`
        : `No Ollama endpoint "${endpointId}" in settings for ${ref}.`,
      {
        hint:
          endpointId === undefined
            ? 'Start Ollama (`ollama serve`), or add its URL in settings under endpoints.ollama.'
            : `Add an endpoint with id "${endpointId}" under endpoints.ollama in settings, or fix the reference.`,
      },
    );
  }
  return { ep, index, tag };
}

/** The endpoint's URL without a trailing slash ('' for none). */
export function hostOf(ep: OllamaEndpoint | undefined): string {
  return (ep?.url ?? '').replace(/\/+$/, '');
}

/** A client of the endpoint whose every request also ends with `signal`. */
export function ollamaClient(base: typeof fetch, ep: OllamaEndpoint, signal?: AbortSignal): Ollama {
  return new Ollama({
    host: hostOf(ep),
    fetch: (input, init) =>
      base(input, {
        ...init,
        signal: init?.signal && signal ? AbortSignal.any([init.signal, signal]) : (init?.signal ?? signal),
      }),
  });
}

/** What the backend reads from POST /api/show: the trained context, and whether the model takes images. */
export interface ShownModel {
  trainedContext?: number;
  vision: boolean;
}

export function shownModel(show: { model_info?: unknown; capabilities?: unknown }): ShownModel {
  // Typed as a Map by ollama-js, but JSON gives a plain object.
  const info = show.model_info;
  const entries: Array<[string, unknown]> =
    info instanceof Map ? [...info.entries()] : Object.entries((info ?? {}) as Record<string, unknown>);
  const entry = entries.find(([k, v]) => k.endsWith('.context_length') && typeof v === 'number');
  // `capabilities` (Ollama 0.6.4 and later) lists "vision" for models with an image projector.
  const vision = Array.isArray(show.capabilities) && show.capabilities.includes('vision');
  return { ...(entry ? { trainedContext: entry[1] as number } : {}), vision };
}
