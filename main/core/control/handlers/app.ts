// The app itself: its version and shell, its status, and the folders (opened only by the desktop shell).
import { ControlError, type Handlers } from '../../../common/contract.ts';
import type { HandlerContext } from './context.ts';

type AppHandlers = Pick<
  Handlers,
  'app.info' | 'status.get' | 'app.openDataFolder' | 'app.openLogsFolder' | 'app.updateState' | 'app.restartToUpdate'
>;

export function appHandlers({ version, shell, paths, status }: HandlerContext): AppHandlers {
  return {
    'app.info': async () => ({ version, shell, platform: process.platform, dataDir: paths.root }),
    'status.get': async () => status(),
    'app.openDataFolder': async () => {
      throw new ControlError('Unavailable', 'Opening folders is a desktop feature.', {
        hint: `The data folder is ${paths.root}.`,
      });
    },
    'app.openLogsFolder': async () => {
      throw new ControlError('Unavailable', 'Opening folders is a desktop feature.', {
        hint: `The logs are in ${paths.logs}.`,
      });
    },
    // serve runs from the person's own install (npm, a checkout): the desktop app's updater is not part of it.
    'app.updateState': async () => ({ phase: 'off', why: 'agent-room serve is updated with npm, not by itself' }),
    'app.restartToUpdate': async () => {
      throw new ControlError('Unavailable', 'Updates install themselves in the desktop app only.', {
        hint: 'Update serve with npm (or git pull in a checkout), then start it again.',
      });
    },
  };
}
