/**
 * `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) through a real guest (test/apps/wasi-keyvalue), on a SQLite
 * label and on a Redis label: the plain operations, grants, increment, and compare-and-swap, including many guests
 * contending for one key, and two hosts sharing one SQLite file. What the host stored is checked in the backends
 * themselves. The Redis half needs Redis on 127.0.0.1:6379: CI starts one; locally the suite says loudly when it is
 * absent.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyValueStores, type KvStoreConfig } from '../../host/spin/key-value.ts';
import { APPS } from '../helpers/apps.ts';
import { requireRedis } from '../helpers/redis.ts';
import { startApp, startHostProcess, tempDir, type HostProcess, type TestApp } from '../helpers/host.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/13';

const redisAvailable = await requireRedis('the wasi:keyvalue tests on Redis');

const dir = tempDir();
const runtimeConfig = join(dir.path, 'runtime-config.toml');
const sqliteFile = join(dir.path, 'shared.db');
// Keys of this run only, so parallel runs against the same Redis never see each other's keys.
const prefix = `edge-agents-wkv:${randomUUID()}:`;
let app: TestApp;

beforeAll(async () => {
  writeFileSync(
    runtimeConfig,
    [
      '[key_value_store.shared]\ntype = "spin"\npath = "shared.db"',
      `[key_value_store.redis]\ntype = "redis"\nurl = "${REDIS_URL}"`,
      // Defined, but not in the component's key_value_stores.
      '[key_value_store.secret]\ntype = "spin"',
    ].join('\n'),
  );
  app = await startApp(APPS.wasiKeyValue, { runtimeConfigFile: runtimeConfig });
});

afterAll(async () => {
  await app?.close();
  if (redisAvailable) {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  dir.remove();
});

type Op = { op: string; args: unknown[] };

async function call(url: string, label: string, calls: Op[]): Promise<{ status: number; body: string }> {
  const r = await fetch(new URL(`/kv/${encodeURIComponent(label)}`, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls),
  });
  return { status: r.status, body: await r.text() };
}

async function ok(label: string, calls: Op[], url = app.url): Promise<unknown[]> {
  const r = await call(url, label, calls);
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as unknown[];
}

/** The raw bytes a backend holds for a key, read behind the host's back. */
type Peek = (key: string) => Promise<Buffer | undefined>;
/** Writes raw bytes behind the host's back, as another Spin host on the same store would. */
type Poke = (key: string, value: Buffer) => Promise<void>;

const pokeSqlite: Poke = async (key, value) => {
  const db = new DatabaseSync(sqliteFile);
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    db.prepare(
      'INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) ON CONFLICT(store, key) DO UPDATE SET value = excluded.value',
    ).run('shared', key, value);
  } finally {
    db.close();
  }
};

const pokeRedis: Poke = async (key, value) => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    await redis.set(key, value);
  } finally {
    redis.disconnect();
  }
};

const peekSqlite: Peek = async (key) => {
  const db = new DatabaseSync(sqliteFile, { readOnly: true });
  try {
    const row = db.prepare('SELECT value FROM spin_key_value WHERE store = ? AND key = ?').get('shared', key) as
      { value: Uint8Array } | undefined;
    return row ? Buffer.from(row.value) : undefined;
  } finally {
    db.close();
  }
};

const peekRedis: Peek = async (key) => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    return (await redis.getBuffer(key)) ?? undefined;
  } finally {
    redis.disconnect();
  }
};

function le64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b;
}

describe('grants', () => {
  it('denies labels the component was not granted, whether or not they exist', async () => {
    expect(await call(app.url, 'secret', [])).toEqual({ status: 500, body: 'Error::AccessDenied' });
    expect(await call(app.url, 'nowhere', [])).toEqual({ status: 500, body: 'Error::AccessDenied' });
    expect(await ok('default', [{ op: 'exists', args: ['x'] }])).toEqual([false]);
  });
});

const BACKENDS = [
  { name: 'SQLite', label: 'shared', available: true, peek: peekSqlite, poke: pokeSqlite, counter: le64 },
  {
    name: 'Redis',
    label: 'redis',
    available: redisAvailable,
    peek: peekRedis,
    poke: pokeRedis,
    counter: (n: bigint) => Buffer.from(n.toString()),
  },
] as const;

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`wasi:keyvalue on ${backend.name}`, () => {
    const label = backend.label;
    const key = (name: string) => `${prefix}${backend.name}:${name}`;

    it('gets, sets, deletes, checks and lists keys, singly and in batches', async () => {
      const [a, b, c] = [key('a'), key('b'), key('c')];
      const out = await ok(label, [
        { op: 'get', args: [a] },
        { op: 'exists', args: [a] },
        { op: 'set', args: [a, 'héllo'] },
        { op: 'get', args: [a] },
        { op: 'exists', args: [a] },
        {
          op: 'setMany',
          args: [
            [
              [b, 'two'],
              [c, 'three'],
            ],
          ],
        },
        { op: 'getMany', args: [[a, b, key('none')]] },
        { op: 'listKeys', args: [] },
        { op: 'delete', args: [a] },
        { op: 'delete', args: [a] },
        { op: 'deleteMany', args: [[b, key('none')]] },
        { op: 'getMany', args: [[a, b, c]] },
      ]);
      expect(out.slice(0, 7)).toEqual([
        null,
        false,
        null,
        'héllo',
        true,
        null,
        [
          [a, 'héllo'],
          [b, 'two'],
          [key('none'), null],
        ],
      ]);
      const listed = out[7] as { keys: string[]; cursor: string | null };
      expect(listed.cursor).toBeNull();
      expect(listed.keys.filter((k) => k.startsWith(key('')))).toEqual([a, b, c]);
      expect(out.slice(8)).toEqual([
        null,
        null,
        null,
        [
          [a, null],
          [b, null],
          [c, 'three'],
        ],
      ]);
      expect(await backend.peek(c)).toEqual(Buffer.from('three'));
      // Like Spin, one page holds every key and a cursor is refused.
      expect(await call(app.url, label, [{ op: 'listKeys', args: ['next'] }])).toEqual({
        status: 500,
        body: 'Error::Other("list-keys: cursor not supported")',
      });
    });

    it('increments atomically, storing counters as Spin does', async () => {
      const n = key('n');
      expect(
        await ok(label, [
          { op: 'increment', args: [n, '5'] },
          { op: 'increment', args: [n, '0'] },
          { op: 'increment', args: [n, '7'] },
          { op: 'incrementWrapped', args: [n, '1'] },
        ]),
      ).toEqual(['5', '5', '12', '13']);
      expect(await backend.peek(n)).toEqual(backend.counter(13n));
      // A negative counter, written as Spin would have: the guest gets the exact negative sum back.
      const neg = key('negative');
      await backend.poke(neg, backend.counter(-10n));
      expect(await ok(label, [{ op: 'increment', args: [neg, '3'] }])).toEqual(['-7']);
      expect(await backend.peek(neg)).toEqual(backend.counter(-7n));
      // Exact beyond 2^53, up to the signed 64-bit limit; an overflow is an error and changes nothing.
      const big = key('big');
      expect(await ok(label, [{ op: 'increment', args: [big, '9223372036854775806'] }])).toEqual(['9223372036854775806']);
      expect(await ok(label, [{ op: 'increment', args: [big, '1'] }])).toEqual(['9223372036854775807']);
      const overflow = await call(app.url, label, [{ op: 'increment', args: [big, '1'] }]);
      expect(overflow.status).toBe(500);
      expect(overflow.body).toMatch(/^Error::Other\(".*(overflow|out of range)/);
      expect(await backend.peek(big)).toEqual(backend.counter(9223372036854775807n));
      // A value that is not a counter is an error, not a crash, and stays as it was.
      const word = key('word');
      const notCounter = await call(app.url, label, [
        { op: 'set', args: [word, 'not a number'] },
        { op: 'increment', args: [word, '1'] },
      ]);
      expect(notCounter.status).toBe(500);
      expect(notCounter.body).toMatch(/^Error::Other\(/);
      expect(await backend.peek(word)).toEqual(Buffer.from('not a number'));
      // The guest wrapper refuses a negative delta (it would trap a ComponentizeJS guest) with a plain error.
      expect(await call(app.url, label, [{ op: 'incrementWrapped', args: [n, '-1'] }])).toEqual({
        status: 500,
        body: 'increment delta -1 is not supported: must be 0 … 2^63-1 (ComponentizeJS#343)',
      });
      expect(await backend.peek(n)).toEqual(backend.counter(13n));
    });

    it('swaps when the key is unchanged, including an absent key', async () => {
      const k = key('cas');
      expect(
        await ok(label, [
          { op: 'casSwap', args: [k, 'first'] },
          { op: 'casSwap', args: [k, 'second'] },
          { op: 'get', args: [k] },
        ]),
      ).toEqual([{ before: null, swapped: true }, { before: 'first', swapped: true }, 'second']);
      expect(await backend.peek(k)).toEqual(Buffer.from('second'));
    });

    it('refuses a swap after a concurrent change, and hands back a handle on the new value that can retry', async () => {
      const k = key('race');
      expect(
        await ok(label, [
          { op: 'set', args: [k, 'original'] },
          { op: 'casRace', args: [k, 'rival', 'mine'] },
          { op: 'get', args: [k] },
        ]),
      ).toEqual([null, { before: 'original', failed: true, freshCurrent: 'rival', retried: true }, 'mine']);
      // The same for a key that was absent when read and created meanwhile: "absent" is compared too.
      const fresh = key('race-absent');
      expect(
        await ok(label, [
          { op: 'casRace', args: [fresh, 'rival', 'mine'] },
          { op: 'get', args: [fresh] },
        ]),
      ).toEqual([{ before: null, failed: true, freshCurrent: 'rival', retried: true }, 'mine']);
    });

    it('loses no update when many guests compare-and-swap one key at once', async () => {
      const k = key('contended');
      const guests = 16;
      const each = 5;
      // Each guest waits 2 ms between reading and swapping, so guests interleave and most swaps meet a conflict.
      const results = await Promise.all(Array.from({ length: guests }, () => ok(label, [{ op: 'casIncrement', args: [k, each, 2] }])));
      expect(await ok(label, [{ op: 'get', args: [k] }])).toEqual([String(guests * each)]);
      const conflicts = results.reduce((sum, r) => sum + (r[0] as { conflicts: number }).conflicts, 0);
      // Retries prove the guests really contended; without an atomic swap some increments would have been lost.
      expect(conflicts).toBeGreaterThan(0);
    });

    it('gives every concurrent increment its own result', async () => {
      const k = key('incr');
      const results = await Promise.all(Array.from({ length: 30 }, () => ok(label, [{ op: 'increment', args: [k, '1'] }])));
      expect(results.map((r) => Number(r[0])).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    });
  });
}

describe('two hosts sharing one SQLite file', () => {
  let other: HostProcess | undefined;
  afterAll(async () => {
    await other?.stop();
  });

  it('keeps compare-and-swap exact across processes', async () => {
    // A second host, a separate process with its own connection to the same file.
    other = await startHostProcess([
      '--from',
      APPS.wasiKeyValue,
      '--runtime-config-file',
      runtimeConfig,
      '--state-dir',
      join(dir.path, 'other'),
    ]);
    const k = `${prefix}cross-process`;
    const each = 4;
    const runs = Array.from({ length: 12 }, (_, i) =>
      ok('shared', [{ op: 'casIncrement', args: [k, each, 1] }], i % 2 === 0 ? app.url : other!.url),
    );
    await Promise.all(runs);
    expect(await ok('shared', [{ op: 'get', args: [k] }], other.url)).toEqual([String(12 * each)]);
    expect(await peekSqlite(k)).toEqual(Buffer.from(String(12 * each)));
  });
});

describe('the backends on their own (what a guest cannot send: negative deltas)', () => {
  const stores = (): KeyValueStores =>
    new KeyValueStores(
      new Map<string, KvStoreConfig>([
        ['memory', { type: 'spin' }],
        ...(redisAvailable ? [['redis', { type: 'redis', url: REDIS_URL }] as [string, KvStoreConfig]] : []),
      ]),
    );

  it.each(redisAvailable ? ['memory', 'redis'] : ['memory'])(
    '%s: increments by negative deltas down to the signed 64-bit minimum',
    async (label) => {
      const kv = stores();
      try {
        const store = kv.open(label);
        const k = `${prefix}host-negative`;
        expect(await store.increment(k, -5n)).toBe(-5n);
        expect(await store.increment(k, -(2n ** 63n) + 5n)).toBe(-(2n ** 63n));
        await expect(store.increment(k, -1n)).rejects.toThrow(/overflow|out of range/);
        expect(await store.increment(k, 0n)).toBe(-(2n ** 63n));
        await store.delete(k);
      } finally {
        await kv.close();
      }
    },
  );
});
