// When to restart a crashed homeserver and when to give up: pure decisions over crash times.

export interface RestartPolicy {
  /** Delay before the first restart; doubled after each crash in the window. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** This many crashes within windowMs is a crash loop: stop restarting and report it. */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialBackoffMs: 250,
  maxBackoffMs: 30_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

export type RestartDecision =
  { action: 'restart'; delayMs: number; recentCrashes: number } | { action: 'give-up'; recentCrashes: number };

/** Crash times still inside the window ending now. */
export function recentCrashes(crashTimes: readonly number[], now: number, windowMs: number): number[] {
  return crashTimes.filter((t) => now - t < windowMs);
}

/** Given every crash time so far (including the one just seen), restart after a capped exponential delay or give up. */
export function decideRestart(crashTimes: readonly number[], now: number, policy: RestartPolicy): RestartDecision {
  const recent = recentCrashes(crashTimes, now, policy.windowMs).length;
  if (recent >= policy.maxCrashes) return { action: 'give-up', recentCrashes: recent };
  const exponent = Math.max(0, recent - 1);
  const delayMs = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** exponent);
  return { action: 'restart', delayMs, recentCrashes: recent };
}
