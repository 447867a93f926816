// `agent-room set-password <owner|bot id>` and `agent-room set-recovery-key`: use accounts (and encryption keys)
// that already exist on an external homeserver, e.g. your own account as the owner. The secret is read from the
// terminal without echo (or from stdin when piped), never from the command line, and kept in serve's secret store.
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { saveRecoveryKey } from '../core/crypto/owner-recovery.ts';
import type { DataPaths } from '../core/paths.ts';
import { accountSecretNames, OWNER_ADOPTED_SECRET } from '../core/provisioning/accounts.ts';
import { OWNER_KEYS_SETUP_SECRET, OWNER_RECOVERY_SECRET } from '../core/provisioning/encryption.ts';
import { loadSettings } from '../core/settings/settings-store.ts';
import { FileSecretStore, setKeepingPrevious } from '../core/settings/secret-store.ts';

/** One line from the terminal with echo off, or from piped stdin. */
export async function readSecretLine(
  prompt: string,
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<string> {
  const tty = input.isTTY === true;
  if (tty) process.stderr.write(prompt);
  // A terminal echoes what readline writes to its output: a silent output keeps the secret off the screen.
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input, output: silent, terminal: tty });
  try {
    for await (const line of rl) return line;
    return '';
  } finally {
    rl.close();
    if (tty) process.stderr.write('\n');
  }
}

export interface AccountCommandIo {
  read(prompt: string): Promise<string>;
  out(line: string): void;
}

const defaultIo: AccountCommandIo = { read: (p) => readSecretLine(p), out: (l) => console.log(l) };

/** Strips only the line ending: a password may begin or end with spaces. */
const withoutNewline = (s: string): string => s.replace(/\r?\n$/, '').replace(/\r$/, '');

const quietLog = { warn: () => undefined, info: () => undefined, error: () => undefined };

/** Stores the password of an existing account (`owner` or a bot id) for provisioning to sign in with. */
export async function runSetPassword(paths: DataPaths, who: string, io: AccountCommandIo = defaultIo): Promise<number> {
  const settings = loadSettings({ file: paths.settings, logger: quietLog, rewrite: false }).settings;
  if (who !== 'owner' && !settings.bots.some((b) => b.id === who)) {
    const ids = settings.bots.map((b) => b.id);
    io.out(
      `"${who}" is not an account here: use "owner"${ids.length > 0 ? ` or a bot id (${ids.join(', ')})` : ''}. A new bot goes into settings first.`,
    );
    return 2;
  }
  const key = who === 'owner' ? 'owner' : `bot.${who}`;
  const password = withoutNewline(
    await io.read(
      `Password of the ${who === 'owner' ? `owner account "${settings.owner.localpart}"` : `bot "${who}"`} (not shown): `,
    ),
  );
  if (password === '') {
    io.out('No password given: nothing changed.');
    return 1;
  }
  const secrets = new FileSecretStore({ file: paths.secrets });
  const names = accountSecretNames(key);
  if (who === 'owner') {
    // Another account than the one the app signed in as: its session and encryption setup do not carry over.
    const current = await secrets.get(names.userId);
    if (current !== undefined && current.slice(1, current.indexOf(':')) !== settings.owner.localpart) {
      for (const name of [names.accessToken, names.deviceId, names.userId, OWNER_KEYS_SETUP_SECRET])
        await secrets.delete(name);
      const recovery = await secrets.get(OWNER_RECOVERY_SECRET);
      if (recovery !== undefined) {
        await secrets.set(`${OWNER_RECOVERY_SECRET}.previous`, recovery);
        await secrets.delete(OWNER_RECOVERY_SECRET);
      }
      io.out(
        `The owner changes from ${current} to "${settings.owner.localpart}"; the old account's recovery key is kept as ${OWNER_RECOVERY_SECRET}.previous.`,
      );
    }
    await secrets.set(OWNER_ADOPTED_SECRET, new Date().toISOString());
  } else {
    io.out(
      "Agent Room manages this bot's encryption: keys made elsewhere for this account are replaced at its next start.",
    );
  }
  const replaced = await setKeepingPrevious(secrets, names.password, password);
  io.out(
    `Saved in ${paths.secrets} (owner-only file)${replaced ? `; the previous password is kept as ${names.password}.previous` : ''}. The next start of agent-room serve signs in with it.`,
  );
  return 0;
}

/** Stores the owner's recovery key, so the app uses the account's existing cross-signing and key backup. */
export async function runSetRecoveryKey(paths: DataPaths, io: AccountCommandIo = defaultIo): Promise<number> {
  const input = await io.read('Recovery key of the owner account (not shown): ');
  try {
    const { replaced } = await saveRecoveryKey(
      new FileSecretStore({ file: paths.secrets }),
      OWNER_RECOVERY_SECRET,
      input,
    );
    io.out(
      `Saved${replaced ? ` (the key it replaces is kept as ${OWNER_RECOVERY_SECRET}.previous)` : ''}. The next start uses your existing encryption keys: it verifies the bots with them, and the chat window opens your key backup.`,
    );
    return 0;
  } catch (err) {
    io.out((err as Error).message);
    return 1;
  }
}
