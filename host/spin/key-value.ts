/**
 * `fermyon:spin/key-value@2.0.0`.
 *
 * Stores are resolved by label: `default` lives in `<state_dir>/sqlite_key_value.db` (Spin's file and table layout,
 * so a state directory works with real `spin up` too), other labels come from runtime config (`type = "spin"` on
 * SQLite, `type = "redis"` on a real Redis). A component may open only the labels its manifest lists; any other
 * label gets `access-denied`, whether or not the store exists, exactly as Spin does.
 *
 * The backends also carry the atomic operations of `wasi:keyvalue/atomics` (see `wasi-keyvalue.ts`), so both
 * interfaces read and write the same data under a label. Counters are stored as Spin stores them: 8 little-endian
 * bytes on SQLite (Spin's `key-value-spin`), decimal text on Redis (`INCRBY`).
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Redis } from 'ioredis';

/** `fermyon:spin/key-value.error` as jco represents it. */
export type KvError = { tag: 'store-table-full' } | { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };

/** One key-value store, whatever holds it. */
export interface KvBackend {
  readonly kind: string;
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  keys(): Promise<string[]>;
  /**
   * Atomically adds `delta` to the counter under `key` (an absent key counts as 0) and returns the sum. Fails,
   * changing nothing, when the value is not a counter or the sum leaves the signed 64-bit range.
   */
  increment(key: string, delta: bigint): Promise<bigint>;
  /**
   * Atomically writes `value` under `key` if the key still holds exactly `expected` (`undefined`: if it is still
   * absent). False, changing nothing, otherwise. Values are compared byte for byte.
   */
  compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

function checkedSum(current: bigint, delta: bigint, key: string): bigint {
  const sum = current + delta;
  if (sum < I64_MIN || sum > I64_MAX) throw new Error(`incrementing '${key}' by ${delta} overflows a signed 64-bit integer`);
  return sum;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** How a label is backed, from runtime config (or the default). */
export type KvStoreConfig = { type: 'spin'; path?: string | undefined } | { type: 'redis'; url: string };

/**
 * SQLite store using Spin's schema: one `spin_key_value` table shared by all stores in a file, keyed by
 * (store, key). `node:sqlite` is synchronous, and each statement is a sub-millisecond local call.
 */
class SqliteStore implements KvBackend {
  readonly kind = 'spin';
  readonly #db: DatabaseSync;
  readonly #store: string;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #del: StatementSync;
  readonly #exists: StatementSync;
  readonly #keys: StatementSync;

  constructor(db: DatabaseSync, store: string) {
    this.#db = db;
    this.#store = store;
    this.#get = db.prepare('SELECT value FROM spin_key_value WHERE store = ? AND key = ?');
    this.#set = db.prepare(
      'INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) ON CONFLICT(store, key) DO UPDATE SET value = excluded.value',
    );
    this.#del = db.prepare('DELETE FROM spin_key_value WHERE store = ? AND key = ?');
    this.#exists = db.prepare('SELECT 1 AS found FROM spin_key_value WHERE store = ? AND key = ?');
    this.#keys = db.prepare('SELECT key FROM spin_key_value WHERE store = ?');
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const row = this.#get.get(this.#store, key) as { value: Uint8Array } | undefined;
    return row ? new Uint8Array(row.value) : undefined;
  }
  async set(key: string, value: Uint8Array): Promise<void> {
    this.#set.run(this.#store, key, value);
  }
  async delete(key: string): Promise<void> {
    this.#del.run(this.#store, key);
  }
  async exists(key: string): Promise<boolean> {
    return this.#exists.get(this.#store, key) !== undefined;
  }
  async keys(): Promise<string[]> {
    return (this.#keys.all(this.#store) as { key: string }[]).map((r) => r.key);
  }

  async increment(key: string, delta: bigint): Promise<bigint> {
    return this.#immediate(() => {
      const row = this.#get.get(this.#store, key) as { value: Uint8Array } | undefined;
      let current = 0n;
      if (row) {
        if (row.value.byteLength !== 8)
          throw new Error(`the value of '${key}' is not a counter (8 little-endian bytes, as Spin stores them)`);
        current = new DataView(row.value.buffer, row.value.byteOffset, 8).getBigInt64(0, true);
      }
      const sum = checkedSum(current, delta, key);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigInt64(0, sum, true);
      this.#set.run(this.#store, key, bytes);
      return sum;
    });
  }

  async compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): Promise<boolean> {
    return this.#immediate(() => {
      const row = this.#get.get(this.#store, key) as { value: Uint8Array } | undefined;
      if (!sameBytes(row?.value, expected)) return false;
      this.#set.run(this.#store, key, value);
      return true;
    });
  }

  /**
   * Runs `fn` in a write transaction. Within this process nothing interleaves anyway (`node:sqlite` is synchronous);
   * `BEGIN IMMEDIATE` takes the file's write lock before the read, so another process sharing the file (a second
   * host, or real Spin) cannot write between our read and our write. It waits up to `busy_timeout` for the lock.
   */
  #immediate<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    // The database is shared by every store in the file; KeyValueStores closes it.
    void this.#db;
  }
}

/**
 * Compare-and-set on Redis: a script runs atomically, so nothing can write between its GET and its SET.
 * ARGV: `1` or `0` (whether a value is expected at all), the expected bytes, the new bytes. Lua strings are
 * binary-safe and compare byte for byte; GET of an absent key is `false`.
 */
const REDIS_CAS = `local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1`;

/**
 * Increment on Redis: INCRBY (atomic, range-checked, decimal text as Spin's Redis provider stores counters), then
 * the stored text, because an integer reply above 2^53 would lose precision as a JavaScript number.
 */
const REDIS_INCREMENT = `redis.call('INCRBY', KEYS[1], ARGV[1])
return redis.call('GET', KEYS[1])`;

/** Redis store: keys are stored as they are, as Spin's Redis provider does. */
class RedisStore implements KvBackend {
  readonly kind = 'redis';
  readonly #redis: Redis;

  constructor(url: string) {
    this.#redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    // Connection errors surface on the calls that need the connection; don't crash the host on them.
    this.#redis.on('error', () => {});
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await this.#redis.getBuffer(key);
    return v === null ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  async set(key: string, value: Uint8Array): Promise<void> {
    await this.#redis.set(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  async delete(key: string): Promise<void> {
    await this.#redis.del(key);
  }
  async exists(key: string): Promise<boolean> {
    return (await this.#redis.exists(key)) > 0;
  }
  async keys(): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'COUNT', 1000);
      out.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  async increment(key: string, delta: bigint): Promise<bigint> {
    return BigInt((await this.#redis.eval(REDIS_INCREMENT, 1, key, delta.toString())) as string);
  }

  async compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): Promise<boolean> {
    const swapped = await this.#redis.eval(
      REDIS_CAS,
      1,
      key,
      expected === undefined ? '0' : '1',
      expected === undefined ? Buffer.alloc(0) : Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
      Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    );
    return swapped === 1;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

/** Every key-value store of one app, opened lazily and shared by all components and instances. */
export class KeyValueStores {
  readonly #configs: Map<string, KvStoreConfig>;
  readonly #open = new Map<string, KvBackend>();
  readonly #databases = new Map<string, DatabaseSync>();

  /** @param configs label → backing; must include `default`. Paths are absolute; no path means in memory. */
  constructor(configs: Map<string, KvStoreConfig>) {
    this.#configs = configs;
  }

  has(label: string): boolean {
    return this.#configs.has(label);
  }

  describe(label: string): string {
    const c = this.#configs.get(label);
    if (!c) return 'undefined';
    return c.type === 'redis' ? `redis (${redactUrl(c.url)})` : c.path ? `sqlite (${c.path})` : 'sqlite (in memory)';
  }

  open(label: string): KvBackend {
    let store = this.#open.get(label);
    if (store) return store;
    const config = this.#configs.get(label);
    if (!config) throw new Error(`no key-value store is configured for label '${label}'`);
    if (config.type === 'redis') store = new RedisStore(config.url);
    else store = new SqliteStore(this.#database(config.path), label);
    this.#open.set(label, store);
    return store;
  }

  #database(path: string | undefined): DatabaseSync {
    const key = path ?? ':memory:';
    let db = this.#databases.get(key);
    if (!db) {
      if (path) mkdirSync(dirname(path), { recursive: true });
      db = new DatabaseSync(key);
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
      db.exec(
        'CREATE TABLE IF NOT EXISTS spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))',
      );
      this.#databases.set(key, db);
    }
    return db;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#open.values()].map((s) => s.close()));
    for (const db of this.#databases.values()) db.close();
    this.#open.clear();
    this.#databases.clear();
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function other(err: unknown): KvError {
  return { tag: 'other', val: err instanceof Error ? err.message : String(err) };
}

/**
 * Builds the `fermyon:spin/key-value` import for one component.
 * @param granted the component's `key_value_stores` labels
 */
export function keyValueImport(stores: KeyValueStores, granted: readonly string[]): { Store: unknown } {
  const allowed = new Set(granted);

  class Store {
    readonly #backend: KvBackend;
    constructor(backend: KvBackend) {
      this.#backend = backend;
    }

    static open(label: string): Store {
      if (!allowed.has(label)) throw { tag: 'access-denied' } satisfies KvError;
      if (!stores.has(label)) throw { tag: 'no-such-store' } satisfies KvError;
      try {
        return new Store(stores.open(label));
      } catch (err) {
        throw other(err);
      }
    }

    async get(key: string): Promise<Uint8Array | undefined> {
      try {
        return await this.#backend.get(key);
      } catch (err) {
        throw other(err);
      }
    }
    async set(key: string, value: Uint8Array): Promise<void> {
      try {
        await this.#backend.set(key, value);
      } catch (err) {
        throw other(err);
      }
    }
    async delete(key: string): Promise<void> {
      try {
        await this.#backend.delete(key);
      } catch (err) {
        throw other(err);
      }
    }
    async exists(key: string): Promise<boolean> {
      try {
        return await this.#backend.exists(key);
      } catch (err) {
        throw other(err);
      }
    }
    async getKeys(): Promise<string[]> {
      try {
        return await this.#backend.keys();
      } catch (err) {
        throw other(err);
      }
    }
  }
  return { Store };
}
