// matrix-js-sdk logs through `loglevel` straight to the console, at debug level, for every client and child logger
// (MatrixRTCSession, FetchHttpApi…). The app routes the SDK's warnings and errors into its own log (files with
// redaction, readable console lines) and drops its debug and info chatter.
import { inspect } from 'node:util';
import { logger as sdkRootLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from './logger.ts';

interface LoglevelLogger {
  methodFactory: (methodName: string, level: number, loggerName: string | symbol) => (...args: unknown[]) => void;
  rebuild(): void;
}

const one = (a: unknown): string => {
  if (a instanceof Error) return a.message;
  if (typeof a === 'string') return a;
  try {
    return inspect(a, { depth: 3, breakLength: Infinity });
  } catch {
    return String(a);
  }
};

/** pino redacts by key, not inside a message: access tokens in SDK text (URLs, headers) are masked here. */
export function scrubTokens(text: string): string {
  return text
    .replace(/\b(syt|syr|syl|mct|mat|mar|mcr)_[A-Za-z0-9_-]+/g, '$1_[redacted]')
    .replace(/\b(access_token|refresh_token|password)(["']?\s*[:=]\s*["']?)[^"'\s,&}]+/gi, '$1$2[redacted]')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[redacted]');
}

const text = (args: unknown[]): string => scrubTokens(args.map(one).join(' '));

/** Call once at start: loggers the SDK makes after this (each client's children) inherit the routing. */
export function routeSdkLogs(log: Logger): void {
  const root = sdkRootLogger as unknown as LoglevelLogger;
  root.methodFactory = (methodName) =>
    function (this: { prefix?: string }, ...args: unknown[]): void {
      if (methodName !== 'warn' && methodName !== 'error') return;
      try {
        log[methodName]({ sdk: this?.prefix ?? 'matrix' }, text(args).slice(0, 2000));
      } catch {
        // Logging must never break the SDK's own error handling.
      }
    };
  root.rebuild();
}
