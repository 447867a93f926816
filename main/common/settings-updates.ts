// The desktop app's own updates (electron-updater; main/electron/updates/): whether it checks the release feed, and
// how often. serve and a source checkout never update themselves; these settings are read by the desktop shell only.
import { z } from 'zod';

export const updatesSchema = z.object({
  /** Check for new versions at start and every few hours, download them in the background, install on quit. */
  enabled: z.boolean().default(true),
  /** Hours between checks while the app runs. */
  checkIntervalHours: z.number().min(1).max(168).default(4),
});
export type UpdatesSettings = z.infer<typeof updatesSchema>;

/** Spread into the settings schema's top-level object. */
export const updatesSettingsFields = {
  updates: updatesSchema.default({ enabled: true, checkIntervalHours: 4 }),
};
