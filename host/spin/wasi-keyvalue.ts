/**
 * `wasi:keyvalue@0.2.0-draft2` (`store`, `atomics`, `batch`), the key-value interface Spin 3 links besides
 * `fermyon:spin/key-value`.
 *
 * A bucket is a key-value store label, over the same {@link KeyValueStores} backends as `fermyon:spin/key-value`:
 * both interfaces see the same data under a label, and the same grants apply (`open` of a label missing from the
 * component's `key_value_stores` is `access-denied`, whether or not the store exists).
 *
 * Compare-and-swap: `cas.new` reads the key and the handle keeps that value; `swap` writes only if the key still
 * holds it, atomically in the backend (one `BEGIN IMMEDIATE` transaction on SQLite, one script on Redis). A failed
 * swap returns `cas-failed` with a fresh handle that has read the newest value, ready for the retry. Values are
 * compared byte for byte, so a key changed and changed back (A → B → A) still swaps, as on Spin's SQLite store.
 *
 * Differences from Spin, deliberate:
 * - Spin's `cas.new` reads nothing and a `swap` with no `current()` before it writes unconditionally; here `new`
 *   reads, so every swap is conditional.
 * - Spin's SQLite store panics on `increment` of a value that is not 8 bytes; here that is `other(…)`, as is an
 *   overflow.
 *
 * As on Spin, `list-keys` returns every key in one page and rejects a cursor.
 *
 * @module
 */
import type { KeyValueStores, KvBackend } from './key-value.ts';

/** `wasi:keyvalue/store.error` as jco represents it. */
export type WasiKvError = { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };

function other(err: unknown): WasiKvError {
  return { tag: 'other', val: err instanceof Error ? err.message : String(err) };
}

/** Runs a backend call, turning its failures into the interface's `other` error. */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw other(err);
  }
}

/** The three `wasi:keyvalue` imports of one component. */
export interface WasiKeyValueImports {
  store: { open(identifier: string): unknown; Bucket: unknown };
  atomics: {
    Cas: unknown;
    increment(bucket: unknown, key: string, delta: bigint): Promise<bigint>;
    swap(cas: unknown, value: Uint8Array): Promise<void>;
  };
  batch: {
    getMany(bucket: unknown, keys: string[]): Promise<[string, Uint8Array | undefined][]>;
    setMany(bucket: unknown, keyValues: [string, Uint8Array][]): Promise<void>;
    deleteMany(bucket: unknown, keys: string[]): Promise<void>;
  };
}

/**
 * Builds the `wasi:keyvalue` imports for one component.
 * @param granted the component's `key_value_stores` labels
 */
export function wasiKeyValueImports(stores: KeyValueStores, granted: readonly string[]): WasiKeyValueImports {
  const allowed = new Set(granted);
  // The backend behind each bucket handle; the atomics and batch functions get buckets back from the guest.
  const backends = new WeakMap<object, KvBackend>();

  const backendOf = (bucket: unknown): KvBackend => {
    const backend = typeof bucket === 'object' && bucket !== null ? backends.get(bucket) : undefined;
    if (!backend) throw other(new Error('not a bucket of this component'));
    return backend;
  };

  class Bucket {
    readonly #backend: KvBackend;
    constructor(backend: KvBackend) {
      this.#backend = backend;
      backends.set(this, backend);
    }
    get(key: string): Promise<Uint8Array | undefined> {
      return guarded(() => this.#backend.get(key));
    }
    set(key: string, value: Uint8Array): Promise<void> {
      return guarded(() => this.#backend.set(key, value));
    }
    delete(key: string): Promise<void> {
      return guarded(() => this.#backend.delete(key));
    }
    exists(key: string): Promise<boolean> {
      return guarded(() => this.#backend.exists(key));
    }
    async listKeys(cursor: string | undefined): Promise<{ keys: string[]; cursor: string | undefined }> {
      if (cursor !== undefined) throw other(new Error('list-keys: cursor not supported'));
      return { keys: await guarded(() => this.#backend.keys()), cursor: undefined };
    }
  }

  function open(identifier: string): Bucket {
    if (!allowed.has(identifier)) throw { tag: 'access-denied' } satisfies WasiKvError;
    if (!stores.has(identifier)) throw { tag: 'no-such-store' } satisfies WasiKvError;
    try {
      return new Bucket(stores.open(identifier));
    } catch (err) {
      throw other(err);
    }
  }

  /** One compare-and-swap: the key and the value it had when the handle was made. */
  class Cas {
    readonly backend: KvBackend;
    readonly key: string;
    readonly seen: Uint8Array | undefined;
    #used = false;

    constructor(backend: KvBackend, key: string, seen: Uint8Array | undefined) {
      this.backend = backend;
      this.key = key;
      this.seen = seen;
    }

    static async new(bucket: unknown, key: string): Promise<Cas> {
      const backend = backendOf(bucket);
      return new Cas(backend, key, await guarded(() => backend.get(key)));
    }

    current(): Uint8Array | undefined {
      return this.seen;
    }

    /** Marks the handle consumed; the component model moves an owned handle into `swap`, so this is a safeguard. */
    take(): void {
      if (this.#used) throw { tag: 'store-error', val: other(new Error('this compare-and-swap handle was already used')) };
      this.#used = true;
    }
  }

  async function increment(bucket: unknown, key: string, delta: bigint): Promise<bigint> {
    const backend = backendOf(bucket);
    return guarded(() => backend.increment(key, delta));
  }

  async function swap(cas: unknown, value: Uint8Array): Promise<void> {
    if (!(cas instanceof Cas)) throw { tag: 'store-error', val: other(new Error('not a compare-and-swap handle')) };
    cas.take();
    let swapped: boolean;
    let fresh: Cas;
    try {
      swapped = await cas.backend.compareAndSwap(cas.key, cas.seen, value);
      if (swapped) return;
      fresh = new Cas(cas.backend, cas.key, await cas.backend.get(cas.key));
    } catch (err) {
      throw { tag: 'store-error', val: other(err) };
    }
    throw { tag: 'cas-failed', val: fresh };
  }

  async function getMany(bucket: unknown, keys: string[]): Promise<[string, Uint8Array | undefined][]> {
    const backend = backendOf(bucket);
    const out: [string, Uint8Array | undefined][] = [];
    for (const key of keys) out.push([key, await guarded(() => backend.get(key))]);
    return out;
  }

  async function setMany(bucket: unknown, keyValues: [string, Uint8Array][]): Promise<void> {
    const backend = backendOf(bucket);
    for (const [key, value] of keyValues) await guarded(() => backend.set(key, value));
  }

  async function deleteMany(bucket: unknown, keys: string[]): Promise<void> {
    const backend = backendOf(bucket);
    for (const key of keys) await guarded(() => backend.delete(key));
  }

  return {
    store: { open, Bucket },
    atomics: { Cas, increment, swap },
    batch: { getMany, setMany, deleteMany },
  };
}
