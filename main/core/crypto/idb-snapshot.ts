// Copies IndexedDB databases to and from a file. Node has no IndexedDB; the Rust crypto store runs on an
// in-memory implementation (fake-indexeddb), and this is what makes it survive a restart: every object
// store, index and record of the named databases, written with v8's structured serialisation (which keeps
// Uint8Array, ArrayBuffer, Map and Date as they are, as IndexedDB's structured clone does).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { IdbFactory, IdbKey, IdbRequest, IdbTransaction } from './idb-types.ts';

interface IndexShape {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}
interface StoreShape {
  name: string;
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexes: IndexShape[];
  /** Out-of-line keys are kept beside each value; in-line keys live in the value itself. */
  records: Array<{ key: IdbKey; value: unknown }>;
}
export interface DatabaseSnapshot {
  name: string;
  version: number;
  stores: StoreShape[];
}
export interface Snapshot {
  format: 1;
  databases: DatabaseSnapshot[];
}

const req = <T>(r: IdbRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });

const txDone = (tx: IdbTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });

/** Reads one database in one read-only transaction, so the copy is consistent. */
async function exportDatabase(factory: IdbFactory, name: string): Promise<DatabaseSnapshot> {
  const db = await req(factory.open(name));
  try {
    const names = [...db.objectStoreNames];
    const out: DatabaseSnapshot = { name, version: db.version, stores: [] };
    if (names.length === 0) return out;
    const tx = db.transaction(names, 'readonly');
    const done = txDone(tx);
    for (const storeName of names) {
      const store = tx.objectStore(storeName);
      const indexes = [...store.indexNames].map((n) => {
        const i = store.index(n);
        return { name: i.name, keyPath: i.keyPath, unique: i.unique, multiEntry: i.multiEntry };
      });
      const [keys, values] = await Promise.all([req(store.getAllKeys()), req(store.getAll())]);
      out.stores.push({
        name: storeName,
        keyPath: store.keyPath,
        autoIncrement: store.autoIncrement,
        indexes,
        records: keys.map((key, i) => ({ key, value: values[i] })),
      });
    }
    await done;
    return out;
  } finally {
    db.close();
  }
}

/** Every database whose name starts with `prefix`. */
export async function exportDatabases(factory: IdbFactory, prefix: string): Promise<Snapshot> {
  const names = (await factory.databases())
    .map((d) => d.name)
    .filter((n): n is string => n !== undefined && n.startsWith(prefix));
  const databases: DatabaseSnapshot[] = [];
  for (const n of names.sort()) databases.push(await exportDatabase(factory, n));
  return { format: 1, databases };
}

/** Creates each database under `rename(name)` with the recorded version, stores, indexes and records. */
export async function importDatabases(
  factory: IdbFactory,
  snapshot: Snapshot,
  renameDb: (name: string) => string,
): Promise<void> {
  for (const d of snapshot.databases) {
    const open = factory.open(renameDb(d.name), d.version);
    open.onupgradeneeded = () => {
      const db = open.result;
      for (const s of d.stores) {
        const store = db.createObjectStore(s.name, { keyPath: s.keyPath, autoIncrement: s.autoIncrement });
        for (const i of s.indexes) store.createIndex(i.name, i.keyPath, { unique: i.unique, multiEntry: i.multiEntry });
        for (const r of s.records) {
          if (s.keyPath === null) store.put(r.value, r.key);
          else store.put(r.value);
        }
      }
    };
    const db = await req(open);
    db.close();
  }
}

/** Writes to a temporary file and renames it over the old one: a crash leaves the old or the new copy. */
export async function writeSnapshot(file: string, snapshot: Snapshot): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, serialize(snapshot), { mode: 0o600 });
  await rename(tmp, file);
}

export async function readSnapshot(file: string): Promise<Snapshot | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const snap = deserialize(bytes) as Snapshot;
  if (snap?.format !== 1 || !Array.isArray(snap.databases)) throw new Error(`${file} is not a crypto store snapshot`);
  return snap;
}
