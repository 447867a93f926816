// Small display helpers: sizes, initials, model names.
import { formatBytes as formatByteSize, WINDOW_BYTES } from '../../../main/common/format-bytes.ts';

/** 1536 → "1.5 KiB" (powers of 1024, one decimal below 10 of a unit): the app's one formatter, window labels. */
export function formatBytes(bytes: number | undefined): string {
  return formatByteSize(bytes, WINDOW_BYTES);
}

export function initials(name: string): string {
  const words = name
    .replace(/^@/, '')
    .split(/[\s_.:-]+/)
    .filter(Boolean);
  const letters = words.length > 1 ? words[0]![0]! + words[1]![0]! : (words[0] ?? '?').slice(0, 1);
  return letters.toUpperCase();
}

/** A short model name for a badge: "ollama:qwen2.5:7b" → "qwen2.5:7b", "llama:/m/x-Q4.gguf" → "x-Q4". */
export function shortModelName(ref: string): string {
  const rest = ref.replace(/^(llama|ollama|openai):/, '');
  const hf = /^hf:[^/]+\/([^:]+)(?::(.+))?$/.exec(rest);
  if (hf) return hf[2] ? `${hf[1]!.replace(/-GGUF$/i, '')}:${hf[2]}` : hf[1]!.replace(/-GGUF$/i, '');
  const last = rest.split(/[\\/]/).pop() ?? rest;
  return last.replace(/\.gguf$/i, '');
}

/** A bot for a model picked on first run: "Qwen" from a Qwen model, else a name from the file. */
export function botFromModel(ref: string, taken: readonly string[] = []): { id: string; displayName: string } {
  const base = shortModelName(ref).toLowerCase();
  const family = /^[a-z]+/.exec(base)?.[0] ?? 'assistant';
  let id = family.slice(0, 32) || 'assistant';
  for (let n = 2; taken.includes(id); n++) id = `${family}${n}`;
  const displayName = id.charAt(0).toUpperCase() + id.slice(1);
  return { id, displayName };
}

export function localpart(userId: string): string {
  return userId.replace(/^@/, '').split(':')[0] ?? userId;
}
