// Readiness and reachability of a homeserver: GET /_matrix/client/versions, as every Matrix client does first.
import { sleep } from '../async.ts';

/** One GET of /versions; resolves to the spec versions it lists, rejects with the reason it failed. */
export async function fetchVersions(
  baseUrl: string,
  options: { fetch?: typeof fetch; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  const doFetch = options.fetch ?? fetch;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 5000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  // Appended, not resolved: a homeserver may live under a path prefix (https://host/matrix).
  const res = await doFetch(`${baseUrl.replace(/\/+$/, '')}/_matrix/client/versions`, { signal });
  if (!res.ok) throw new Error(`HTTP ${res.status} from /_matrix/client/versions`);
  const body = (await res.json()) as { versions?: unknown };
  if (!Array.isArray(body.versions))
    throw new Error('/_matrix/client/versions did not list any versions: this is not a Matrix homeserver');
  return body.versions as string[];
}

/**
 * Polls /versions until it answers ('ready'), `until` settles first (its value is returned: the child
 * exited), or timeoutMs passes (rejects).
 */
export async function probeVersions(
  baseUrl: string,
  options: {
    fetch?: typeof fetch;
    timeoutMs: number;
    intervalMs?: number;
    signal?: AbortSignal;
    until?: Promise<string>;
  },
): Promise<'ready' | string> {
  let settled: string | undefined;
  void options.until?.then((v) => {
    settled = v;
  });
  const end = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (settled !== undefined) return settled;
    try {
      await fetchVersions(baseUrl, { fetch: options.fetch, timeoutMs: 2000, signal: options.signal });
      return 'ready';
    } catch (err) {
      options.signal?.throwIfAborted();
      if (Date.now() > end) throw err;
    }
    if (settled !== undefined) return settled;
    await Promise.race([
      sleep(options.intervalMs ?? 100, options.signal),
      options.until ?? new Promise(() => undefined),
    ]);
  }
}
