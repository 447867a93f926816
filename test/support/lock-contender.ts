// One process trying to take a data folder's lock, for the race tests: it prints "ready", waits for "go" on
// stdin (so every contender tries at the same moment), prints "won" or "held <pid>", then holds what it got
// until stdin closes.
import { createInterface } from 'node:readline';
import { acquireDataFolderLock, DataFolderLockedError } from '../../main/core/lifecycle/data-folder-lock.ts';

const [dir, holder = 'serve'] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.once('line', () => {
  try {
    acquireDataFolderLock(dir!, { holder });
    process.stdout.write('won\n');
  } catch (err) {
    process.stdout.write(
      err instanceof DataFolderLockedError ? `held ${err.record.pid}\n` : `error ${(err as Error).message}\n`,
    );
  }
});
lines.once('close', () => process.exit(0));
