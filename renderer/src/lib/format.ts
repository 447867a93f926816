// Small display helpers: sizes, initials, model names.

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function initials(name: string): string {
  const words = name.replace(/^@/, '').split(/[\s_.:-]+/).filter(Boolean);
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
