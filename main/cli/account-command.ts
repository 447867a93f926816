// `agent-room set-password <owner|bot id>` and `agent-room set-recovery-key`: use accounts (and encryption keys)
// that already exist on an external homeserver, e.g. your own account as the owner. The secret is read from the
// terminal without echo (or from stdin when piped), never from the command line, and kept in serve's secret store.
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { decodeRecoveryKey } from 'matrix-js-sdk/lib/crypto-api/recovery-key.js';
import type { DataPaths } from '../core/paths.ts';
import { accountSecretNames, OWNER_ADOPTED_SECRET } from '../core/provisioning/accounts.ts';
import { OWNER_RECOVERY_SECRET } from '../core/provisioning/encryption.ts';
import { FileSecretStore } from '../core/settings/secret-store.ts';

/** One line from the terminal with echo off, or from piped stdin. */
export async function readSecretLine(prompt: string, input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin): Promise<string> {
  const tty = input.isTTY === true;
  if (tty) process.stderr.write(prompt);
  // A terminal echoes what readline writes to its output: a silent output keeps the secret off the screen.
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input, output: silent, terminal: tty });
  try {
    for await (const line of rl) return line.trim();
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

/** Stores the password of an existing account (`owner` or a bot id) for provisioning to sign in with. */
export async function runSetPassword(paths: DataPaths, who: string, io: AccountCommandIo = defaultIo): Promise<number> {
  if (!/^[a-z0-9._=\-/]+$/.test(who)) {
    io.out(`"${who}" is not an account name here: use "owner" or a bot id from settings.`);
    return 2;
  }
  const key = who === 'owner' ? 'owner' : `bot.${who}`;
  const password = await io.read(`Password of the ${who === 'owner' ? 'owner' : `bot "${who}"`} account (not shown): `);
  if (password === '') {
    io.out('No password given: nothing changed.');
    return 1;
  }
  const secrets = new FileSecretStore({ file: paths.secrets });
  await secrets.set(accountSecretNames(key).password, password);
  if (who === 'owner') await secrets.set(OWNER_ADOPTED_SECRET, new Date().toISOString());
  io.out(`Saved in ${paths.secrets} (owner-only file). The next start of agent-room serve signs in with it.`);
  return 0;
}

/** Stores the owner's recovery key, so the app uses the account's existing cross-signing and key backup. */
export async function runSetRecoveryKey(paths: DataPaths, io: AccountCommandIo = defaultIo): Promise<number> {
  const key = (await io.read('Recovery key of the owner account (not shown): ')).replace(/\s+/g, ' ').trim();
  try {
    decodeRecoveryKey(key);
  } catch (err) {
    io.out(`That is not a recovery key (${(err as Error).message}). It looks like "EsTc 1234 …": 12 groups of 4, as Element showed when you set up encryption.`);
    return 1;
  }
  await new FileSecretStore({ file: paths.secrets }).set(OWNER_RECOVERY_SECRET, key);
  io.out('Saved. The next start uses your existing encryption keys: it verifies the bots with them, and the chat window opens your key backup.');
  return 0;
}
