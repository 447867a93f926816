// Secrets (bot passwords, access tokens, API keys, the registration token), kept out of settings.json.
// serve has no OS keychain, so it keeps them in a file only this user can read; Electron's adapter
// (safeStorage) implements the same interface in main/electron.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** Names only, sorted. */
  list(): Promise<string[]>;
}

export class SecretStoreError extends Error {
  readonly file: string;
  constructor(message: string, file: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretStoreError';
    this.file = file;
  }
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new TypeError(
      `A secret name must be a non-empty string of at most 200 characters, got ${JSON.stringify(name)}`,
    );
  }
}

/** For tests and for callers that must not touch the disk. */
export class MemorySecretStore implements SecretStore {
  readonly #values = new Map<string, string>();

  constructor(initial: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(initial)) this.#values.set(k, v);
  }

  async get(name: string): Promise<string | undefined> {
    checkName(name);
    return this.#values.get(name);
  }

  async set(name: string, value: string): Promise<void> {
    checkName(name);
    this.#values.set(name, value);
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    this.#values.delete(name);
  }

  async list(): Promise<string[]> {
    return [...this.#values.keys()].sort();
  }
}

interface SecretsFile {
  version: 1;
  secrets: Record<string, string>;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * serve's store: <data>/secrets.json, mode 0600, in a directory created 0700. Every write goes to a
 * temporary file in the same directory and is renamed over the old one, so a crash leaves either the
 * old or the new file, never half of one.
 */
export class FileSecretStore implements SecretStore {
  readonly file: string;
  readonly warning: string;
  // Writes are chained so that two concurrent set() calls cannot each write a file missing the other's secret.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { file: string }) {
    this.file = options.file;
    this.warning =
      `Secrets are stored in ${this.file}, a file readable by this user only (mode 0600), not encrypted: ` +
      'serve mode uses no OS keychain. Anyone who can act as this user, or read a backup of this folder, can read them.';
  }

  async get(name: string): Promise<string | undefined> {
    checkName(name);
    await this.#queue;
    const secrets = (await this.#read()).secrets;
    return Object.hasOwn(secrets, name) ? secrets[name] : undefined;
  }

  async set(name: string, value: string): Promise<void> {
    checkName(name);
    if (typeof value !== 'string') throw new TypeError(`The value of secret ${name} must be a string`);
    await this.#change((secrets) => {
      secrets[name] = value;
    });
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    await this.#change((secrets) => {
      delete secrets[name];
    });
  }

  async list(): Promise<string[]> {
    await this.#queue;
    return Object.keys((await this.#read()).secrets).sort();
  }

  #change(edit: (secrets: Record<string, string>) => void): Promise<void> {
    const run = this.#queue.then(async () => {
      const data = await this.#read();
      edit(data.secrets);
      await this.#write(data);
    });
    // The chain goes on after a failed write; the caller still gets the failure.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #read(): Promise<SecretsFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { version: 1, secrets: Object.create(null) as Record<string, string> };
      throw new SecretStoreError(
        `Cannot read the secrets file ${this.file}: ${(error as Error).message}. Check its owner and permissions.`,
        this.file,
        { cause: error },
      );
    }
    await this.#tighten();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // Never replace it with an empty store: that would silently lose every password and key.
      throw new SecretStoreError(
        `The secrets file ${this.file} is not valid JSON (${(error as Error).message}). Restore it from a backup, or move it away and enter the passwords and API keys again.`,
        this.file,
        { cause: error },
      );
    }
    const secrets = (parsed as Partial<SecretsFile> | null)?.secrets;
    if (
      typeof secrets !== 'object' ||
      secrets === null ||
      Array.isArray(secrets) ||
      !Object.values(secrets).every((v) => typeof v === 'string')
    ) {
      throw new SecretStoreError(
        `The secrets file ${this.file} does not hold {"version":1,"secrets":{name:string}}. Restore it from a backup, or move it away and enter the secrets again.`,
        this.file,
      );
    }
    return { version: 1, secrets: Object.assign(Object.create(null) as Record<string, string>, secrets) };
  }

  /** A file copied in with looser permissions is narrowed back to 0600 (no-op on Windows, which has no modes). */
  async #tighten(): Promise<void> {
    if (process.platform === 'win32') return;
    const { mode } = await stat(this.file);
    if ((mode & 0o077) !== 0) await chmod(this.file, FILE_MODE);
  }

  async #write(data: SecretsFile): Promise<void> {
    const dir = dirname(this.file);
    // mode applies only to folders mkdir creates; an existing data folder keeps its own.
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    // Created 0600 from the start ('wx': never through an existing file or link), so the secrets are never readable by others, not even briefly.
    const handle = await open(tmp, 'wx', FILE_MODE);
    try {
      await handle.writeFile(`${JSON.stringify({ version: 1, secrets: { ...data.secrets } }, null, 2)}\n`, 'utf8');
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(tmp, { force: true });
      throw new SecretStoreError(
        `Cannot write the secrets file ${this.file}: ${(error as Error).message}. Check free disk space and permissions.`,
        this.file,
        { cause: error },
      );
    }
    await handle.close();
    if (process.platform !== 'win32') await chmod(tmp, FILE_MODE); // the umask may have narrowed more; set exactly 0600
    try {
      await rename(tmp, this.file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw new SecretStoreError(
        `Cannot replace the secrets file ${this.file}: ${(error as Error).message}. Check permissions on ${dir}.`,
        this.file,
        { cause: error },
      );
    }
  }
}

/**
 * Sets `name`; a different value it held is kept under `<name>.previous`, so a secret the app made (a recovery key
 * shown once, a generated password) is never lost to one typed over it. True when a value was replaced.
 */
export async function setKeepingPrevious(secrets: SecretStore, name: string, value: string): Promise<boolean> {
  const before = await secrets.get(name);
  const replaced = before !== undefined && before !== value;
  if (replaced) await secrets.set(`${name}.previous`, before);
  await secrets.set(name, value);
  return replaced;
}
