// Ollama model references. `ollama:<tag>` is served by the first Ollama endpoint in settings;
// `ollama@<endpoint id>:<tag>` by the endpoint with that id. Endpoint ids have no colon (settings' id rule), so
// the first colon after `ollama@` ends the id, and tags keep their own slashes and colons
// (`ollama@gpu-box:hf.co/user/repo:Q4_K_M`).
import { InferenceError } from '../types.ts';

export const OLLAMA_PREFIX = 'ollama:';
export const OLLAMA_ENDPOINT_PREFIX = 'ollama@';

export interface OllamaRef {
  /** Absent: the first endpoint. */
  endpointId?: string;
  tag: string;
}

/** True for both forms, so callers that route by prefix take named endpoints too. */
export function isOllamaRef(ref: string): boolean {
  return ref.startsWith(OLLAMA_PREFIX) || ref.startsWith(OLLAMA_ENDPOINT_PREFIX);
}

export function parseOllamaRef(ref: string): OllamaRef {
  if (ref.startsWith(OLLAMA_PREFIX)) {
    const tag = ref.slice(OLLAMA_PREFIX.length);
    if (tag) return { tag };
  } else if (ref.startsWith(OLLAMA_ENDPOINT_PREFIX)) {
    const rest = ref.slice(OLLAMA_ENDPOINT_PREFIX.length);
    const colon = rest.indexOf(':');
    if (colon > 0 && colon < rest.length - 1) return { endpointId: rest.slice(0, colon), tag: rest.slice(colon + 1) };
  }
  throw new InferenceError('ModelNotFound', `"${ref}" is not an Ollama model reference.`, {
    hint: 'Write it as ollama:<tag> (the first Ollama endpoint) or ollama@<endpoint id>:<tag>, e.g. ollama@gpu-box:qwen2.5:7b.',
  });
}

/** The reference of a tag on an endpoint: the bare form for the first endpoint, the named form for the others. */
export function formatOllamaRef(tag: string, endpointId: string | undefined): string {
  return endpointId === undefined ? `${OLLAMA_PREFIX}${tag}` : `${OLLAMA_ENDPOINT_PREFIX}${endpointId}:${tag}`;
}

/** The tag of a reference (either form); anything else is taken as a tag already. */
export function ollamaTag(ref: string): string {
  return isOllamaRef(ref) ? parseOllamaRef(ref).tag : ref;
}

/** Ollama's name rule: a missing tag means :latest (`qwen2.5` is `qwen2.5:latest`; `hf.co/u/r` too). */
export function normalizeTag(tag: string): string {
  const lastPart = tag.split('/').pop() ?? tag;
  return lastPart.includes(':') ? tag : `${tag}:latest`;
}
