// The channels only the desktop shell answers (serve answers them Unavailable or "off"): the folders, opened in the
// system's file manager, and the app's own update.
import { shell } from 'electron';
import { ControlError, type DesktopOnlyChannel, type Handlers } from '../common/contract.ts';
import type { UpdateController } from './updates/update-controller.ts';

export function desktopHandlers(o: {
  dataDir: string;
  logsDir: string;
  /** The updater, once the shell made it. */
  updates: () => UpdateController | undefined;
}): Pick<Handlers, DesktopOnlyChannel> {
  const open = async (dir: string) => {
    const error = await shell.openPath(dir);
    if (error)
      throw new ControlError('Unavailable', `Could not open ${dir}: ${error}`, {
        hint: 'Open the folder from a file manager instead.',
      });
    return { opened: dir };
  };
  return {
    'app.openDataFolder': () => open(o.dataDir),
    'app.openLogsFolder': () => open(o.logsDir),
    'app.updateState': async () => o.updates()?.state ?? { phase: 'idle' },
    'app.restartToUpdate': async () => ({ restarting: o.updates()?.restartNow() ?? false }),
  };
}
