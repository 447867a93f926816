// The two small waits the app needs everywhere: an abortable sleep, and polling a condition until it holds.

/** Resolves after `ms`; rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface PollOptions {
  /** Ends the wait: the error `fail()` makes is thrown. */
  signal?: AbortSignal;
  /** Ends the wait after this long, as an abort does. */
  timeoutMs?: number;
  /** Between two probes; 100 ms unless given. */
  intervalMs?: number;
}

/** Probes until `probe` is true; when the signal aborts or the time is up first, throws the error `fail()` makes. */
export async function pollUntil(
  probe: () => Promise<boolean>,
  o: PollOptions,
  fail: () => Error | Promise<Error>,
): Promise<void> {
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  while (!(await probe())) {
    if (o.signal?.aborted || Date.now() > deadline) throw await fail();
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
}
