// Typed homeserver errors. Each says what failed and carries a hint: what the person can do about it.

export class HomeserverError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HomeserverError';
    this.hint = hint;
  }
}

/** The child exited again and again: restarting more would only hide the problem. */
export class HomeserverCrashLoopError extends HomeserverError {
  constructor(crashes: number, windowMs: number, lastExit: string, logFile: string) {
    super(
      `The homeserver crashed ${crashes} times within ${Math.round(windowMs / 1000)} s and is no longer restarted. Last exit: ${lastExit}`,
      `See ${logFile} for the homeserver's own messages. A corrupt database, a wrong binary for this machine or a full disk are the usual causes.`,
    );
    this.name = 'HomeserverCrashLoopError';
  }
}

export class HomeserverNotReadyError extends HomeserverError {
  constructor(url: string, timeoutMs: number, logFile: string) {
    super(
      `The homeserver started but ${url}/_matrix/client/versions did not answer within ${Math.round(timeoutMs / 1000)} s.`,
      `See ${logFile}. If the machine is very slow, start again; if the port is filtered by a firewall, allow loopback connections.`,
    );
    this.name = 'HomeserverNotReadyError';
  }
}

export class HomeserverUnreachableError extends HomeserverError {
  constructor(url: string, reason: string) {
    super(
      `The homeserver at ${url} cannot be reached: ${reason}.`,
      'Check the URL (scheme, host and port), that the homeserver is running and that this machine can reach it; ' +
        'for the bundled homeserver, check its state in `agent-room status`.',
    );
    this.name = 'HomeserverUnreachableError';
  }
}

export class HomeserverDataDirError extends HomeserverError {
  constructor(dir: string, reason: string, options?: { cause?: unknown }) {
    super(
      `The homeserver's data folder ${dir} cannot be written: ${reason}.`,
      `Fix the folder's permissions or free disk space, or choose another data folder (--data-dir).`,
      options,
    );
    this.name = 'HomeserverDataDirError';
  }
}

/** A short human description of a child's exit. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null, output: string): string {
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  const tail = output.trim().split('\n').slice(-5).join(' | ');
  return tail ? `${how}; last output: ${tail}` : how;
}
