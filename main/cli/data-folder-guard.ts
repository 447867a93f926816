// The CLI commands that write settings or secrets (import, set-password, set-recovery-key) hold the data
// folder's lock while they run: with serve or the desktop app running they refuse, instead of writing behind
// its back (it would keep its own copy of the settings and overwrite theirs), and no app starts halfway.
import { acquireDataFolderLock, DataFolderLockedError } from '../core/lifecycle/data-folder-lock.ts';

export interface GuardedCommand {
  dataDir: string;
  /** The command's name, shown to an app that starts meanwhile. */
  command: string;
  /** What to do instead while the app runs, after "Nothing was changed: ". */
  whileRunning: string;
}

export async function whileHoldingDataFolder(
  cmd: GuardedCommand,
  run: () => Promise<number>,
  err: (line: string) => void = console.error,
): Promise<number> {
  let lock;
  try {
    lock = acquireDataFolderLock(cmd.dataDir, { holder: cmd.command });
  } catch (e) {
    if (e instanceof DataFolderLockedError) {
      const app = e.record.holder === 'serve' || e.record.holder === 'desktop';
      err(`${e.message}. Nothing was changed: ${app ? cmd.whileRunning : e.hint}`);
      return 1;
    }
    err(
      `Cannot write to the data folder ${cmd.dataDir}: ${(e as Error).message}. Choose another with --data-dir, or fix its permissions.`,
    );
    return 1;
  }
  try {
    return await run();
  } finally {
    lock.release();
  }
}

/** The usual advice: stop the running app first. */
export const STOP_IT_FIRST =
  'stop it first (Ctrl+C where serve runs, `systemctl --user stop agent-room` for the service, or Quit in the tray), then run this command again.';
