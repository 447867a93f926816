// The non-secret outcome of provisioning (room id, user ids, avatar keys) in <data>/state/provision.json,
// so the next run finds the same room and knows which bots were provisioned before (to remove them).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirUnwritableError } from './errors.ts';

export interface ProvisionedBotState {
  id: string;
  userId: string;
  displayName: string;
  /** Hash of the avatar image last uploaded, and its mxc URI: unchanged → no new upload. */
  avatarKey?: string;
  avatarUrl?: string;
}

export interface ProvisionState {
  version: 1;
  homeserverUrl: string;
  serverName: string;
  roomId?: string;
  owner?: { userId: string };
  bots: ProvisionedBotState[];
}

export function provisionStateFile(stateDir: string): string {
  return join(stateDir, 'provision.json');
}

export async function readProvisionState(stateDir: string): Promise<ProvisionState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(provisionStateFile(stateDir), 'utf8')) as Partial<ProvisionState>;
    if (parsed.version !== 1 || !Array.isArray(parsed.bots)) return undefined;
    return parsed as ProvisionState;
  } catch {
    // Missing or damaged: provisioning finds the room again through its marker state event.
    return undefined;
  }
}

/** Written to a temporary file and renamed, so a crash leaves the old or the new file, never half of one. */
export async function writeProvisionState(stateDir: string, state: ProvisionState): Promise<void> {
  const file = provisionStateFile(stateDir);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(stateDir, { recursive: true });
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, 'utf8');
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new DataDirUnwritableError(stateDir, (err as Error).message, { cause: err });
  }
}

/** Fails early, before any account is made, when the state folder cannot be written. */
export async function checkWritable(stateDir: string): Promise<void> {
  const probe = join(stateDir, `.write-test-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(stateDir, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
  } catch (err) {
    throw new DataDirUnwritableError(stateDir, (err as Error).message, { cause: err });
  }
}
