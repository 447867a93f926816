// A crypto store that survives restarts: the Rust crypto's IndexedDB databases live in fake-indexeddb (Node has
// no IndexedDB) and are copied to one file after every write transaction (debounced) and on close. Each open
// restores the file under a fresh database prefix, so a restart reads what is on disk, never a leftover in memory.
import 'fake-indexeddb/auto';
import { IDBDatabase as FakeIdbDatabase, indexedDB as fakeIndexedDB } from 'fake-indexeddb';
import { randomBytes } from 'node:crypto';
import { exportDatabases, importDatabases, readSnapshot, writeSnapshot } from './idb-snapshot.ts';
import type { IdbDatabase, IdbFactory } from './idb-types.ts';

export interface StoreLogger {
  warn(obj: object, msg?: string): void;
}

const factory = fakeIndexedDB as unknown as IdbFactory;
/** prefix → called when a read-write transaction on one of its databases completes. */
const writeListeners = new Map<string, () => void>();
let hooked = false;

/** Wraps IDBDatabase.transaction once per process: the only place that learns when the SDK has written. */
function hookWrites(): void {
  if (hooked) return;
  hooked = true;
  const proto = (FakeIdbDatabase as unknown as { prototype: IdbDatabase }).prototype;
  const original = proto.transaction;
  proto.transaction = function (this: IdbDatabase, stores: string | string[], mode?: 'readonly' | 'readwrite') {
    const tx = original.call(this, stores, mode);
    if (mode === 'readwrite') {
      const prefix = this.name.slice(0, this.name.indexOf('::') + 2);
      const listener = writeListeners.get(prefix);
      if (listener) tx.addEventListener('complete', listener);
    }
    return tx;
  };
}

export interface CryptoStoreOptions {
  /** The snapshot file, e.g. <data>/state/crypto/<bot>/crypto-store.bin */
  file: string;
  /** How long after a write the snapshot is taken; writes come in bursts during a sync. */
  flushDelayMs?: number;
  logger?: StoreLogger;
}

export class PersistentCryptoStore {
  /** Pass as initRustCrypto's cryptoDatabasePrefix; the SDK appends "::matrix-sdk-crypto" and "…-meta". */
  readonly prefix: string;
  readonly #file: string;
  readonly #delay: number;
  readonly #logger: StoreLogger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();

  private constructor(opts: CryptoStoreOptions, prefix: string) {
    this.prefix = prefix;
    this.#file = opts.file;
    this.#delay = opts.flushDelayMs ?? 100;
    this.#logger = opts.logger;
  }

  /** Restores the file (when there is one) into memory under a new prefix and starts watching writes. */
  static async open(opts: CryptoStoreOptions): Promise<PersistentCryptoStore> {
    hookWrites();
    // The database prefix ends in "::" as the SDK's names do, so write hooks can find their store.
    const store = new PersistentCryptoStore(opts, `agent-room-${randomBytes(6).toString('hex')}`);
    const snapshot = await readSnapshot(opts.file);
    if (snapshot)
      await importDatabases(factory, snapshot, (name) => `${store.prefix}${name.slice(name.indexOf('::'))}`);
    writeListeners.set(`${store.prefix}::`, () => store.#markDirty());
    return store;
  }

  #markDirty(): void {
    this.#dirty = true;
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((err: unknown) =>
        this.#logger?.warn(
          { err: String(err), file: this.#file },
          'crypto store snapshot failed; retrying on the next write',
        ),
      );
    }, this.#delay);
    this.#timer.unref();
  }

  /** Writes the snapshot now if anything changed since the last one. */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (!this.#dirty) return;
      this.#dirty = false;
      try {
        await writeSnapshot(this.#file, await exportDatabases(factory, `${this.prefix}::`));
      } catch (err) {
        this.#dirty = true;
        throw err;
      }
    };
    this.#chain = this.#chain.then(run, run);
    return this.#chain;
  }

  /**
   * Last snapshot; later writes are not saved. Call after MatrixClient.stopClient(). The in-memory databases are
   * left behind (a few hundred KB): deleting one the SDK still holds open would wait forever in fake-indexeddb.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
    writeListeners.delete(`${this.prefix}::`);
  }
}
