// Small pure helpers for importing a matrix-agent-room config: the typed error, names and ids,
// and how a URL's host is judged (loopback, Docker Compose service name, public host).
import type { z } from 'zod';

export type ImportErrorCode = 'invalid-yaml' | 'not-a-mapping';

/** The file cannot be read as a matrix-agent-room config at all. Carries where and what to do. */
export class AgentRoomImportError extends Error {
  readonly code: ImportErrorCode;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(code: ImportErrorCode, message: string, position?: { line: number; column: number }) {
    super(message);
    this.name = 'AgentRoomImportError';
    this.code = code;
    this.line = position?.line;
    this.column = position?.column;
  }
}

export interface ImportReport {
  /** What was imported, one sentence each: "<yaml key> → <setting>". */
  mapped: string[];
  /** What was left out and why. */
  notMapped: string[];
  /** Imported, but the person should check or do something. */
  warnings: string[];
  /** What the file cannot give and Agent Room needs before it can start (e.g. an external homeserver's registration token), and how to give it. */
  stillNeeded: string[];
}

/** Settings ids: lower-case letters, digits and . _ = - (the schema's rule), starting with a letter or digit. */
export function toId(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9._=-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64);
}

/** `base`, or `base-2`, `base-3` … : the first that `taken` does not hold. */
export function uniqueId(base: string, taken: (id: string) => boolean): string {
  if (!taken(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = `${base.slice(0, 64 - suffix.length)}${suffix}`;
    if (!taken(candidate)) return candidate;
  }
}

export type HostKind = 'loopback' | 'service-name' | 'remote';

export function hostKind(url: URL): HostKind {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '0.0.0.0'
  )
    return 'loopback';
  // A name without a dot ("synapse", "ollama") is how docker-compose files address other containers.
  if (!host.includes('.') && !host.includes(':')) return 'service-name';
  return 'remote';
}

/** An endpoint id from its host: api.openai.com → openai, localhost:1234 → local-1234, 10.0.0.5 → 10.0.0.5. */
export function endpointIdFromUrl(url: URL, defaultPort?: string): string {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  let base: string;
  if (hostKind(url) === 'loopback') {
    base = 'local';
  } else if (/^[\d.]+$/.test(host) || host.includes(':')) {
    base = host.replace(/:/g, '-');
  } else {
    const labels = host.split('.').filter((l) => l !== 'api' && l !== 'www' && l !== '');
    base = (labels.length >= 2 ? labels[labels.length - 2] : labels[0]) ?? host;
  }
  if (url.port && url.port !== defaultPort) base += `-${url.port}`;
  return toId(base) || 'endpoint';
}

/** The URL without a trailing slash, or undefined when it is not an http(s) URL. */
export function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url;
  } catch {
    return undefined;
  }
}

export function urlText(url: URL): string {
  return url.href.replace(/\/+$/, '');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks one YAML value against the setting's schema; on failure says so in the report and returns undefined. */
export function checked<T>(
  schema: z.ZodType<T>,
  value: unknown,
  label: string,
  report: ImportReport,
  fallbackNote: string,
): T | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  report.notMapped.push(
    `${label}: ${JSON.stringify(value)} is not accepted (${r.error.issues.map((i) => i.message).join('; ')}); ${fallbackNote}.`,
  );
  return undefined;
}

/** Reports each key that `known` lacks as "not <source> setting Agent Room knows" (source: "a matrix-agent-room"). */
export function reportUnknownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  label: string,
  report: ImportReport,
  source = 'a matrix-agent-room',
): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key))
      report.notMapped.push(`${label}${label ? '.' : ''}${key}: not ${source} setting Agent Room knows; not imported.`);
  }
}
