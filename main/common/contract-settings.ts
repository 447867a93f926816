// settings.update takes a deep partial of the shared settings schema; this merges it and validates the
// result with the one schema, so a patch can never leave settings.json half valid.
import { z } from 'zod';
import { settingsSchema, type Settings, type SettingsInput } from './settings-schema.ts';
import { ControlError, type ControlIssue } from './contract-errors.ts';

/** Optional keys may also be null: the patch removes them (a classifier model cleared in the window). */
type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | (undefined extends T[K] ? null : never) }
    : T;

/** A partial of the settings: objects merge key by key, arrays and values replace, null removes the key. */
export type SettingsPatch = DeepPartial<SettingsInput>;

const sectionNames = Object.keys(settingsSchema.shape) as Array<keyof typeof settingsSchema.shape>;

/**
 * The request schema of settings.update: only known top-level sections, each a JSON value. The full,
 * field-by-field check runs on the merged result in applySettingsPatch (a field's rule may depend on
 * others, e.g. the homeserver mode), so nothing invalid is ever stored.
 */
export const settingsPatchSchema: z.ZodType<SettingsPatch> = z.strictObject(
  Object.fromEntries(sectionNames.map((name) => [name, z.json().optional()])) as Record<
    keyof typeof settingsSchema.shape,
    z.ZodOptional<z.ZodJSONSchema>
  >,
) as unknown as z.ZodType<SettingsPatch>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Deep merge as JSON Merge Patch (RFC 7396) does it: plain objects merge, everything else (arrays included) replaces,
 * null removes the key; undefined leaves as is. No setting takes null, so a null never meant a value.
 */
export function mergePatch(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(base[key], value);
  }
  return out;
}

export function zodIssues(error: z.ZodError): ControlIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** Applies a patch to the current settings; throws ControlError('BadRequest') with the issues when invalid. */
export function applySettingsPatch(current: Settings, patch: SettingsPatch): Settings {
  // A homeserver mode switch replaces the whole section: fields of the other mode must not leak in.
  const base =
    patch.homeserver?.mode && patch.homeserver.mode !== current.homeserver.mode
      ? { ...current, homeserver: {} }
      : current;
  const merged = mergePatch(base, patch);
  const parsed = settingsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ControlError('BadRequest', 'These settings are not valid; nothing was changed.', {
      issues: zodIssues(parsed.error),
    });
  }
  return parsed.data;
}
