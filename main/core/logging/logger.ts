// Structured logs: rotated files under <data>/logs and, in serve, the console. Secrets are redacted.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';

export type Logger = pino.Logger;

/** Keys whose values never reach a log, wherever they sit in a logged object. */
export const REDACT_PATHS = [
  'password',
  'accessToken',
  'access_token',
  'apiKey',
  'api_key',
  'token',
  'registrationToken',
  'authorization',
  'Authorization',
  '*.password',
  '*.accessToken',
  '*.access_token',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.registrationToken',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
];

export interface LoggerOptions {
  /** <data>/logs; when omitted, nothing is written to files. */
  logDir?: string;
  /** File name stem, e.g. "app" → app.1.log, app.2.log … */
  name?: string;
  console?: boolean;
  level?: pino.LevelWithSilent;
  /** Rotate at this size; keep this many files. */
  maxSize?: string;
  maxFiles?: number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.AGENT_ROOM_LOG_LEVEL as pino.LevelWithSilent | undefined) ?? 'info';
  const targets: pino.TransportTargetOptions[] = [];
  if (options.logDir) {
    mkdirSync(options.logDir, { recursive: true });
    targets.push({
      target: 'pino-roll',
      level,
      options: {
        file: join(options.logDir, options.name ?? 'app'),
        extension: '.log',
        size: options.maxSize ?? '10m',
        limit: { count: options.maxFiles ?? 5 },
        mkdir: true,
      },
    });
  }
  // The console gets readable lines (pino-pretty); the files keep JSON for tools. AGENT_ROOM_LOG_FORMAT=json
  // keeps JSON on the console too (for log shippers).
  if (options.console) {
    targets.push(
      process.env.AGENT_ROOM_LOG_FORMAT === 'json'
        ? { target: 'pino/file', level, options: { destination: 2 } }
        : {
            target: 'pino-pretty',
            level,
            options: {
              destination: 2,
              colorize: consoleColors(process.stderr),
              translateTime: 'HH:MM:ss',
              ignore: 'pid,hostname',
            },
          },
    );
  }
  if (targets.length === 0) return pino({ level: 'silent' });
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.transport({ targets }));
}

/**
 * Whether console lines get colours: only on a terminal, never with NO_COLOR set to anything (no-color.org)
 * or TERM=dumb; FORCE_COLOR (as Node reads it: 0 or false turns colours off) wins over the terminal check.
 * pino-pretty's own NO_COLOR handling applies only when colorize is left unset, so the decision is made here.
 */
export function consoleColors(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** A logger that keeps records in memory: for tests and for the status page's recent errors. */
export function createMemoryLogger(level: pino.LevelWithSilent = 'debug'): {
  logger: Logger;
  records: Array<Record<string, unknown>>;
} {
  const records: Array<Record<string, unknown>> = [];
  const stream = {
    write(line: string) {
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not JSON: ignore
      }
    },
  };
  return { logger: pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream), records };
}
