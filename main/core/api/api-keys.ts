// The API's keys: `ar-` and 43 characters of base64url (256 random bits), shown once when created and kept only
// as a SHA-256 hash in <data>/state/api-keys.json (mode 0600, replaced atomically). A fast hash is enough here:
// scrypt and its kind slow down guessing low-entropy passwords, and nobody guesses 256 random bits; a fast one
// also keeps the check on every request cheap. The file is read again whenever it changed on disk (checked on
// each request), so a key created or revoked by the CLI while serve runs counts at once.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const API_KEY_PREFIX = 'ar-';
// `:` for the keys pairing makes (`peer:<machine>`).
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export interface ApiKeyInfo {
  name: string;
  /** The key's first characters (`ar-AbCd`), to tell keys apart; never enough to use it. */
  prefix: string;
  createdAt: string;
}

interface StoredKey extends ApiKeyInfo {
  /** SHA-256 of the whole key, hex. */
  sha256: string;
}

interface KeysFile {
  version: 1;
  keys: StoredKey[];
}

export class ApiKeyError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ApiKeyError';
  }
}

export function apiKeysFile(stateDir: string): string {
  return join(stateDir, 'api-keys.json');
}

const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex');

export class ApiKeyStore {
  readonly file: string;
  #cache: { stamp: string; byHash: Map<string, StoredKey> } | undefined;

  constructor(options: { file: string }) {
    this.file = options.file;
  }

  /** Makes a key: the only time its value exists outside the caller. */
  async create(name: string, now = new Date()): Promise<{ name: string; key: string; createdAt: string }> {
    if (!NAME.test(name))
      throw new ApiKeyError(
        `"${name}" cannot name an API key.`,
        'Use letters, digits and . _ : - (at most 64), starting with a letter or digit.',
      );
    const data = await this.#read();
    if (data.keys.some((k) => k.name === name))
      throw new ApiKeyError(
        `An API key called "${name}" exists already.`,
        `Revoke it first (agent-room api-key revoke ${name}) or choose another name.`,
      );
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const createdAt = now.toISOString();
    data.keys.push({ name, prefix: key.slice(0, 7), createdAt, sha256: hashOf(key) });
    await this.#write(data);
    return { name, key, createdAt };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.#read()).keys.map(({ name, prefix, createdAt }) => ({ name, prefix, createdAt }));
  }

  /** True when a key of that name existed. */
  async revoke(name: string): Promise<boolean> {
    const data = await this.#read();
    const keys = data.keys.filter((k) => k.name !== name);
    if (keys.length === data.keys.length) return false;
    await this.#write({ version: 1, keys });
    return true;
  }

  /** The key's name when it is one of ours now; re-reads the file when it changed since the last call. */
  async verify(key: string): Promise<string | undefined> {
    if (!key.startsWith(API_KEY_PREFIX)) return undefined;
    const byHash = await this.#current();
    return byHash.get(hashOf(key))?.name;
  }

  /** How many keys there are (serve says so at start). */
  async count(): Promise<number> {
    return (await this.#current()).size;
  }

  async #current(): Promise<Map<string, StoredKey>> {
    let stamp: string;
    try {
      const s = await stat(this.file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      stamp = 'none';
    }
    if (this.#cache?.stamp !== stamp) {
      const { keys } = await this.#read();
      this.#cache = { stamp, byHash: new Map(keys.map((k) => [k.sha256, k])) };
    }
    return this.#cache.byHash;
  }

  async #read(): Promise<KeysFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, keys: [] };
      throw new ApiKeyError(`Cannot read ${this.file}: ${(err as Error).message}.`, 'Check its owner and permissions.');
    }
    const parsed = safeParse(text);
    if (!parsed)
      throw new ApiKeyError(
        `${this.file} does not hold the API keys' list.`,
        'Move it away and create the keys again (agent-room api-key create <name>).',
      );
    return parsed;
  }

  async #write(data: KeysFile): Promise<void> {
    const dir = dirname(this.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    // Created 0600 ('wx': never through an existing file or link), written, synced, then renamed over the old one.
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      if (process.platform !== 'win32') await chmod(tmp, 0o600);
      await rename(tmp, this.file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    this.#cache = undefined;
  }
}

function safeParse(text: string): KeysFile | undefined {
  try {
    const v = JSON.parse(text) as Partial<KeysFile> | null;
    if (!v || !Array.isArray(v.keys)) return undefined;
    const keys = v.keys.filter(
      (k): k is StoredKey =>
        typeof k === 'object' &&
        k !== null &&
        typeof k.name === 'string' &&
        typeof k.sha256 === 'string' &&
        typeof k.prefix === 'string' &&
        typeof k.createdAt === 'string',
    );
    return { version: 1, keys };
  } catch {
    return undefined;
  }
}
