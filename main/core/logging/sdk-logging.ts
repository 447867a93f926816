// matrix-js-sdk logs through `loglevel` straight to the console, at debug level, for every client and child logger
// (MatrixRTCSession, FetchHttpApi…). The app routes the SDK's warnings and errors into its own log (files with
// redaction, readable console lines) and drops its debug and info chatter.
import { logger as sdkRootLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from './logger.ts';

interface LoglevelLogger {
  methodFactory: (methodName: string, level: number, loggerName: string | symbol) => (...args: unknown[]) => void;
  rebuild(): void;
}

const text = (args: unknown[]): string => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a) ?? String(a))).join(' ');

/** Call once at start: loggers the SDK makes after this (each client's children) inherit the routing. */
export function routeSdkLogs(log: Logger): void {
  const root = sdkRootLogger as unknown as LoglevelLogger;
  root.methodFactory = (methodName) =>
    function (this: { prefix?: string }, ...args: unknown[]): void {
      if (methodName !== 'warn' && methodName !== 'error') return;
      log[methodName]({ sdk: this?.prefix ?? 'matrix' }, text(args).slice(0, 2000));
    };
  root.rebuild();
}
