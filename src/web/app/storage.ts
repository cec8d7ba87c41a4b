/**
 * Where the app keeps the keystore: one IndexedDB database of this origin, `keypears`, with one
 * object store, `keystore`, holding the sealed keystore document (docs/keystore.md, the same
 * text the CLI writes to keystore.json) under the key `current`. Nothing else is stored: the
 * passphrase and the unlocked keys live only in the page's memory.
 */
const DB_NAME = 'keypears';
const STORE = 'keystore';
const KEY = 'current';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB cannot be opened'));
    request.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this app'));
  });
}

async function run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode, { durability: 'strict' });
      const request = act(tx.objectStore(STORE));
      // A write counts once its transaction has committed, not when its request succeeds.
      tx.oncomplete = () => resolve(request.result as T);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

/** The sealed keystore document, or undefined when this browser holds none. */
export async function readKeystoreDocument(): Promise<string | undefined> {
  const value = await run<unknown>('readonly', (store) => store.get(KEY));
  return typeof value === 'string' ? value : undefined;
}

/** Replaces the stored document (one transaction: the old one stays whole until the new one is in). */
export function writeKeystoreDocument(text: string): Promise<void> {
  return run('readwrite', (store) => store.put(text, KEY));
}

/** Removes the keystore from this browser. */
export function deleteKeystoreDocument(): Promise<void> {
  return run('readwrite', (store) => store.delete(KEY));
}
