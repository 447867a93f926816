// Maps the global sections of a matrix-agent-room config (context_window, triggers, rate_limit, room)
// onto Agent Room's guard and room settings, reporting each key.
import type { z } from 'zod';
import { settingsSchema } from '../../common/settings-schema.ts';
import type { Settings } from '../../common/settings-schema.ts';
import { checked, isRecord, reportUnknownKeys } from './import-support.ts';
import type { ImportReport } from './import-support.ts';

const guardShape = settingsSchema.shape.guard.unwrap().shape;
const roomShape = settingsSchema.shape.room.unwrap().shape;

/** A section of the file, its unknown keys reported; undefined when it is absent or not a mapping (reported). */
function sectionOf(
  root: Record<string, unknown>,
  key: string,
  known: string[],
  report: ImportReport,
): Record<string, unknown> | undefined {
  const value = root[key];
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    report.notMapped.push(`${key}: expected a mapping; not imported.`);
    return undefined;
  }
  reportUnknownKeys(value, known, key, report);
  return value;
}

/** Maps one given key onto its setting when the schema accepts it (`apply`), reporting it either way. */
function keyMapper(report: ImportReport) {
  return <T>(
    value: unknown,
    label: string,
    target: string,
    schema: z.ZodType<T>,
    current: T,
    apply: (v: T) => void,
  ) => {
    if (value === undefined) return;
    const v = checked(schema, value, label, report, `kept ${JSON.stringify(current)}`);
    if (v === undefined) return;
    apply(v);
    report.mapped.push(`${label} ${JSON.stringify(v)} → ${target}.`);
  };
}

export function mapGlobals(root: Record<string, unknown>, settings: Settings, report: ImportReport): void {
  const guard = settings.guard;
  if (root.context_window !== undefined) {
    const v = checked(
      guardShape.contextMessages,
      root.context_window,
      'context_window',
      report,
      `kept ${guard.contextMessages}`,
    );
    if (v !== undefined) {
      guard.contextMessages = v;
      report.mapped.push(`context_window ${v} → guard.contextMessages.`);
    }
  }
  const section = (key: 'triggers' | 'rate_limit' | 'room', known: string[]) => sectionOf(root, key, known, report);
  const one = keyMapper(report);
  const triggers = section('triggers', ['mention_only', 'allow_dm']);
  if (triggers) {
    one(
      triggers.mention_only,
      'triggers.mention_only',
      'guard.mentionOnly',
      guardShape.mentionOnly,
      guard.mentionOnly,
      (v) => (guard.mentionOnly = v),
    );
    one(
      triggers.allow_dm,
      'triggers.allow_dm',
      'guard.allowDirectMessages',
      guardShape.allowDirectMessages,
      guard.allowDirectMessages,
      (v) => (guard.allowDirectMessages = v),
    );
  }
  const rate = section('rate_limit', ['max_requests', 'window_seconds']);
  if (rate) {
    const rl = guardShape.rateLimit.unwrap().shape;
    one(
      rate.max_requests,
      'rate_limit.max_requests',
      'guard.rateLimit.maxRequests (per sender)',
      rl.maxRequests,
      guard.rateLimit.maxRequests,
      (v) => (guard.rateLimit.maxRequests = v),
    );
    one(
      rate.window_seconds,
      'rate_limit.window_seconds',
      'guard.rateLimit.windowSeconds',
      rl.windowSeconds,
      guard.rateLimit.windowSeconds,
      (v) => (guard.rateLimit.windowSeconds = v),
    );
  }
  const room = section('room', ['name', 'topic']);
  if (room) {
    one(room.name, 'room.name', 'room.name', roomShape.name, settings.room.name, (v) => (settings.room.name = v));
    one(room.topic, 'room.topic', 'room.topic', roomShape.topic, settings.room.topic, (v) => (settings.room.topic = v));
  }
}
