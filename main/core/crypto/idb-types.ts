// The few IndexedDB shapes the snapshot code uses. main/core compiles without the DOM library, so these
// stand in for lib.dom's IDB* types; fake-indexeddb's objects satisfy them.
export type IdbKey = string | number | Date | ArrayBufferView | ArrayBuffer | IdbKey[];

export interface IdbRequest<T> {
  result: T;
  error: Error | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
export interface IdbIndex {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}
export interface IdbObjectStore {
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexNames: Iterable<string>;
  index(name: string): IdbIndex;
  getAll(): IdbRequest<unknown[]>;
  getAllKeys(): IdbRequest<IdbKey[]>;
  put(value: unknown, key?: IdbKey): IdbRequest<IdbKey>;
  createIndex(name: string, keyPath: string | string[], options: { unique: boolean; multiEntry: boolean }): IdbIndex;
}
export interface IdbTransaction {
  error: Error | null;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  objectStore(name: string): IdbObjectStore;
  addEventListener(type: 'complete', listener: () => void): void;
}
export interface IdbDatabase {
  name: string;
  version: number;
  objectStoreNames: Iterable<string>;
  transaction(stores: string | string[], mode?: 'readonly' | 'readwrite'): IdbTransaction;
  createObjectStore(
    name: string,
    options: { keyPath: string | string[] | null; autoIncrement: boolean },
  ): IdbObjectStore;
  close(): void;
}
export interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbRequest<undefined>;
  databases(): Promise<Array<{ name?: string; version?: number }>>;
}
