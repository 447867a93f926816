// The persistent crypto store: IndexedDB databases copied to a file after writes and restored under a new prefix.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { indexedDB } from 'fake-indexeddb';
import { PersistentCryptoStore } from '../../main/core/crypto/crypto-store.ts';
import { exportDatabases } from '../../main/core/crypto/idb-snapshot.ts';
import type { IdbDatabase, IdbFactory } from '../../main/core/crypto/idb-types.ts';

const factory = indexedDB as unknown as IdbFactory;
const open = (name: string, version: number, upgrade?: (db: IdbDatabase) => void): Promise<IdbDatabase> =>
  new Promise((resolve, reject) => {
    const r = factory.open(name, version);
    r.onupgradeneeded = () => upgrade?.(r.result);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('open failed'));
  });
const put = (db: IdbDatabase, store: string, value: unknown, key?: string): Promise<void> =>
  new Promise((resolve) => {
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    tx.oncomplete = () => resolve();
  });

describe('PersistentCryptoStore', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('saves after a write and restores stores, indexes, keys and binary values under a new prefix', async () => {
    dir = await mkdtemp(join(tmpdir(), 'crypto-store-'));
    const file = join(dir, 'bot', 'crypto-store.bin');
    const first = await PersistentCryptoStore.open({ file, flushDelayMs: 5 });
    const db = await open(`${first.prefix}::matrix-sdk-crypto`, 7, (d) => {
      d.createObjectStore('inline', { keyPath: 'id', autoIncrement: false }).createIndex('by_kind', 'kind', {
        unique: false,
        multiEntry: false,
      });
      d.createObjectStore('outofline', { keyPath: null, autoIncrement: false });
    });
    await put(db, 'inline', { id: 'a', kind: 'session', pickle: new Uint8Array([1, 2, 3]) });
    await put(db, 'outofline', new Uint8Array([9, 8]).buffer, 'account');
    db.close();
    for (let i = 0; i < 50; i++) {
      if (
        await stat(file).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await first.close();
    const second = await PersistentCryptoStore.open({ file });
    expect(second.prefix).not.toBe(first.prefix);
    const snap = await exportDatabases(factory, `${second.prefix}::`);
    expect(snap.databases.map((d) => [d.name.slice(second.prefix.length), d.version])).toEqual([
      ['::matrix-sdk-crypto', 7],
    ]);
    const stores = Object.fromEntries(snap.databases[0]?.stores.map((s) => [s.name, s]) ?? []);
    expect(stores.inline?.indexes).toEqual([{ name: 'by_kind', keyPath: 'kind', unique: false, multiEntry: false }]);
    expect(stores.inline?.records).toEqual([
      { key: 'a', value: { id: 'a', kind: 'session', pickle: new Uint8Array([1, 2, 3]) } },
    ]);
    expect(stores.outofline?.records[0]?.key).toBe('account');
    expect(new Uint8Array(stores.outofline?.records[0]?.value as ArrayBuffer)).toEqual(new Uint8Array([9, 8]));
    await second.close();
  });
});
