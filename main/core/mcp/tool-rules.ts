// Decisions about tools as pure functions: which of a server's tools a bot may use, which run without asking, the
// name a model sees for each, and a call's result as text the prompt can hold.

/** True when the bot's `tools` list names the server or this one tool of it. */
export function botMayUse(botTools: readonly string[] | undefined, server: string, tool: string): boolean {
  return (botTools ?? []).some((t) => t === server || t === `${server}/${tool}`);
}

/**
 * Read-only (runs without asking) when settings list it so, else when the server's annotations say readOnlyHint;
 * settings' writeTools wins over both. A tool the server says nothing about changes things, as MCP's default says.
 */
export function isReadOnly(
  overrides: { readOnlyTools: readonly string[]; writeTools: readonly string[] },
  tool: string,
  annotations: { readOnlyHint?: unknown } | undefined,
): boolean {
  if (overrides.writeTools.includes(tool)) return false;
  if (overrides.readOnlyTools.includes(tool)) return true;
  return annotations?.readOnlyHint === true;
}

/** The function name a model sees: `<server>__<tool>`, in the letters every backend accepts, at most 64. */
export function modelToolName(server: string, tool: string, taken: ReadonlySet<string> = new Set()): string {
  const base = `${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const name = `${base.slice(0, 60)}_${i}`;
    if (!taken.has(name)) return name;
  }
}

interface ContentItem {
  type?: unknown;
  text?: unknown;
  mimeType?: unknown;
  data?: unknown;
  uri?: unknown;
  resource?: { uri?: unknown; text?: unknown; mimeType?: unknown };
}

/** A tool result's content as text: text items as they are, images and other binary data by their kind and size. */
export function contentText(result: { content?: unknown; structuredContent?: unknown }): string {
  const items = Array.isArray(result.content) ? (result.content as ContentItem[]) : [];
  const parts = items.map((c) => {
    if (c.type === 'text' && typeof c.text === 'string') return c.text;
    if ((c.type === 'image' || c.type === 'audio') && typeof c.data === 'string')
      return `[${c.type}: ${String(c.mimeType ?? 'unknown type')}, ${Math.floor((c.data.length * 3) / 4)} bytes]`;
    if (c.type === 'resource_link') return `[resource: ${String(c.uri ?? '')}]`;
    if (c.type === 'resource' && c.resource) {
      return typeof c.resource.text === 'string' ? c.resource.text : `[resource: ${String(c.resource.uri ?? '')}]`;
    }
    return `[${String(c.type ?? 'unknown')} content]`;
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join('\n');
}

/** The text cut to `maxChars`, with a note saying how much there was, so the model knows it saw only a part. */
export function cutText(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  return {
    text: `${text.slice(0, maxChars)}\n[cut: the result was ${text.length} characters; only the first ${maxChars} are shown]`,
    truncated: true,
  };
}

/**
 * An environment from settings: literals as they are, `secret:<name>` from the secret store, `env:VAR` from the
 * app's environment. A reference that resolves to nothing throws, naming it (never its value).
 */
export async function resolveEnv(
  env: Readonly<Record<string, string>>,
  resolveSecret: (name: string) => Promise<string | undefined>,
  appEnv: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    let resolved: string | undefined = value;
    if (value.startsWith('secret:')) resolved = await resolveSecret(value.slice(7));
    else if (value.startsWith('env:')) resolved = appEnv[value.slice(4)];
    if (resolved === undefined)
      throw new Error(
        `${key} refers to ${value}, which is not set${value.startsWith('secret:') ? ' in the secret store' : ' in the environment'}`,
      );
    out[key] = resolved;
  }
  return out;
}
