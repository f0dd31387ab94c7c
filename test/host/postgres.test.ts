/**
 * `fermyon:spin/postgres@2.0.0`: a real guest against the embedded PGlite (with pgvector) and against the machine's
 * Postgres at 127.0.0.1:5432 (user `postgres`, trust auth), plus address parsing on its own.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../host/pglite.ts';
import { parseAddress } from '../../host/spin/postgres.ts';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

/** The machine's Postgres: plain SQL only, it has no pgvector. */
const REAL_PG = 'postgres://postgres@127.0.0.1:5432/test';

let embedded: EmbeddedPostgres;
let app: TestApp;

beforeAll(async () => {
  [embedded, app] = await Promise.all([startEmbeddedPostgres(), startApp(APPS.pg)]);
});

afterAll(async () => {
  await app?.close();
  await embedded?.close();
});

interface Param {
  tag: string;
  val?: unknown;
}

const post = (address: string, action: string, body: unknown) =>
  fetch(new URL(`/pg/${action}`, app.url), {
    method: 'POST',
    headers: { PG_CONNECTION_STRING: address, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function ok(address: string, action: string, body: unknown): Promise<unknown> {
  const r = await post(address, action, body);
  const text = await r.text();
  expect(r.status, text).toBe(200);
  return JSON.parse(text) as unknown;
}

const query = (address: string, statement: string, params: Param[] = []) => ok(address, 'query', { statement, params });
const execute = async (address: string, statement: string, params: Param[] = []) =>
  ((await ok(address, 'execute', { statement, params })) as { affected: string }).affected;
const table = () => `t_${randomUUID().replaceAll('-', '')}`;

/** The round trip every server must pass: parameters of each type in, the same values and types out. */
function roundTrip(address: () => string) {
  it('round-trips parameters and results of each type; execute counts affected rows', async () => {
    const t = table();
    await execute(
      address(),
      `CREATE TABLE ${t} (b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, s text, bin bytea, n int4, j jsonb)`,
    );
    const row: Param[] = [
      { tag: 'boolean', val: true },
      { tag: 'int16', val: -7 },
      { tag: 'int32', val: 2147483647 },
      { tag: 'int64', val: '9007199254740993' },
      { tag: 'floating32', val: 1.5 },
      { tag: 'floating64', val: 0.1 },
      { tag: 'str', val: 'héllo' },
      { tag: 'binary', val: [0, 1, 255] },
      { tag: 'db-null' },
      { tag: 'str', val: '{"a":[1,2]}' },
    ];
    const insert = `INSERT INTO ${t} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
    expect(await execute(address(), insert, row)).toBe('1');
    expect(await execute(address(), insert, row)).toBe('1');
    expect(await query(address(), `SELECT * FROM ${t} LIMIT 1`)).toEqual({
      columns: [
        { name: 'b', dataType: 'boolean' },
        { name: 'i2', dataType: 'int16' },
        { name: 'i4', dataType: 'int32' },
        { name: 'i8', dataType: 'int64' },
        { name: 'f4', dataType: 'floating32' },
        { name: 'f8', dataType: 'floating64' },
        { name: 's', dataType: 'str' },
        { name: 'bin', dataType: 'binary' },
        { name: 'n', dataType: 'int32' },
        { name: 'j', dataType: 'str' },
      ],
      rows: [
        [
          { tag: 'boolean', val: true },
          { tag: 'int16', val: -7 },
          { tag: 'int32', val: 2147483647 },
          { tag: 'int64', val: '9007199254740993' },
          { tag: 'floating32', val: 1.5 },
          { tag: 'floating64', val: 0.1 },
          { tag: 'str', val: 'héllo' },
          { tag: 'binary', val: [0, 1, 255] },
          { tag: 'db-null' },
          { tag: 'str', val: '{"a": [1, 2]}' },
        ],
      ],
    });
    expect(await execute(address(), `UPDATE ${t} SET n = $1`, [{ tag: 'int32', val: 3 }])).toBe('2');
    expect(await execute(address(), `DELETE FROM ${t} WHERE n = 4`)).toBe('0');
    expect(await execute(address(), `DROP TABLE ${t}`)).toBe('0');
  });

  it('an SQL error is Error::QueryFailed', async () => {
    const r = await post(address(), 'query', { statement: 'SELECT * FROM no_such_table_here', params: [] });
    expect(r.status).toBe(500);
    expect(await r.text()).toBe('Error::QueryFailed("relation \\"no_such_table_here\\" does not exist")');
  });

  it('the statements of a script run in order through one connection resource', async () => {
    const t = table();
    const out = await ok(address(), 'script', [
      { op: 'execute', statement: `CREATE TABLE ${t} (id serial, name varchar(10))` },
      { op: 'execute', statement: `INSERT INTO ${t} (name) VALUES ($1), ($2)`, params: [{ tag: 'str', val: 'a' }, { tag: 'db-null' }] },
      { op: 'query', statement: `SELECT id, name FROM ${t} ORDER BY id` },
      { op: 'execute', statement: `DROP TABLE ${t}` },
    ]);
    expect(out).toEqual([
      { affected: '0' },
      { affected: '2' },
      {
        columns: [
          { name: 'id', dataType: 'int32' },
          { name: 'name', dataType: 'str' },
        ],
        rows: [
          [
            { tag: 'int32', val: 1 },
            { tag: 'str', val: 'a' },
          ],
          [{ tag: 'int32', val: 2 }, { tag: 'db-null' }],
        ],
      },
      { affected: '0' },
    ]);
  });
}

describe('against the embedded Postgres (PGlite)', () => {
  roundTrip(() => embedded.url);

  it('pgvector: a vector(3) column ordered by <-> distance', async () => {
    const t = table();
    await execute(embedded.url, 'CREATE EXTENSION IF NOT EXISTS vector');
    await execute(embedded.url, `CREATE TABLE ${t} (id int4, embedding vector(3))`);
    for (const [id, v] of [
      [1, '[1,1,1]'],
      [2, '[0,0,0.5]'],
      [3, '[5,5,5]'],
    ] as const) {
      await execute(embedded.url, `INSERT INTO ${t} VALUES ($1, $2)`, [
        { tag: 'int32', val: id },
        { tag: 'str', val: v },
      ]);
    }
    const r = (await query(embedded.url, `SELECT id, embedding FROM ${t} ORDER BY embedding <-> $1 LIMIT 2`, [
      { tag: 'str', val: '[0,0,0]' },
    ])) as { columns: unknown; rows: unknown };
    expect(r.columns).toEqual([
      { name: 'id', dataType: 'int32' },
      { name: 'embedding', dataType: 'other' },
    ]);
    expect(r.rows).toEqual([
      [
        { tag: 'int32', val: 2 },
        { tag: 'str', val: '[0,0,0.5]' },
      ],
      [
        { tag: 'int32', val: 1 },
        { tag: 'str', val: '[1,1,1]' },
      ],
    ]);
  });

  it('accepts the key=value address form', async () => {
    const address = `host=127.0.0.1 port=${embedded.port} user=postgres dbname=postgres`;
    expect(await query(address, 'SELECT 1::int8 AS one')).toEqual({
      columns: [{ name: 'one', dataType: 'int64' }],
      rows: [[{ tag: 'int64', val: '1' }]],
    });
  });
});

describe('against the machine Postgres at 127.0.0.1:5432', () => {
  beforeAll(async () => {
    const client = new pg.Client({ connectionString: REAL_PG, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
    } catch (err) {
      throw new Error(`these tests need Postgres at ${REAL_PG} (user postgres, trust auth, database test): ${String(err)}`);
    } finally {
      await client.end().catch(() => {});
    }
  });

  roundTrip(() => REAL_PG);

  it('two guests run at once: each waits for the other’s row (no timing assumptions)', async () => {
    const t = table();
    await execute(REAL_PG, `CREATE TABLE ${t} (id serial)`);
    try {
      const results = await Promise.all([0, 1].map(() => ok(REAL_PG, 'rendezvous', { table: t, n: 2, tries: 500 })));
      // Had the host serialized the guests, the first would have polled to its limit before the second inserted.
      for (const r of results) expect(r).toMatchObject({ met: true });
    } finally {
      await execute(REAL_PG, `DROP TABLE ${t}`);
    }
  });

  it('an unreachable server is Error::ConnectionFailed at open', async () => {
    // Port 1 on loopback is allowed by the manifest (postgres://127.0.0.1:*) and nothing listens there.
    const r = await post('postgres://postgres@127.0.0.1:1/test', 'query', { statement: 'SELECT 1', params: [] });
    expect(r.status).toBe(500);
    expect(await r.text()).toMatch(/^Error::ConnectionFailed\(".*ECONNREFUSED.*"\)$/);
  });
});

describe('allowed_outbound_hosts', () => {
  it('a host the component may not reach is refused before connecting', async () => {
    const r = await post('postgres://postgres@127.0.0.2:5432/test', 'query', { statement: 'SELECT 1', params: [] });
    expect(r.status).toBe(500);
    expect(await r.text()).toBe('Error::ConnectionFailed("address postgres://127.0.0.2:5432 is not permitted")');
    expect(app.output.join('\n')).toContain("disallowed destination 'postgres://127.0.0.2:5432'");
  });

  it('every host of a key=value address is checked, with the default port', async () => {
    const r = await post('host=127.0.0.1,db.example.com user=postgres', 'query', { statement: 'SELECT 1', params: [] });
    expect(await r.text()).toBe('Error::ConnectionFailed("address postgres://db.example.com:5432 is not permitted")');
  });
});

describe('parseAddress', () => {
  it('reads URLs and key=value strings', () => {
    expect(parseAddress('postgresql://u:p%40ss@db:6543/app?sslmode=require')).toEqual({
      hosts: [{ host: 'db', port: 6543 }],
      user: 'u',
      password: 'p@ss',
      database: 'app',
      sslmode: 'require',
    });
    expect(parseAddress("host=a,b port=1,2 user=u password='x y\\'z' dbname=d")).toEqual({
      hosts: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      user: 'u',
      password: "x y'z",
      database: 'd',
      sslmode: undefined,
    });
    expect(parseAddress('user=u').hosts).toEqual([{ host: 'localhost', port: 5432 }]);
    expect(() => parseAddress('not an address')).toThrow(/neither/);
  });
});

describe('spin:postgres/postgres@3.0.0', () => {
  const pg3 = async (statement: string, params: Param[] = []) => {
    const r = await fetch(new URL('/pg3', app.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: embedded.url, statement, params }),
    });
    const text = await r.text();
    return { status: r.status, text, json: () => JSON.parse(text) as { columns: { name: string; dataType: string }[]; rows: unknown[][] } };
  };

  it('round-trips dates, times and datetimes as tuples and reports their column types', async () => {
    const r = await pg3('SELECT $1::date AS d, $2::time AS t, $3::timestamp AS dt, $4::timestamptz AS ts, $5::int8 AS n, $6::text AS s', [
      { tag: 'date', val: [2024, 2, 29] },
      { tag: 'time', val: [23, 59, 58, 123456000] },
      { tag: 'datetime', val: [1999, 12, 31, 23, 59, 59, 500000000] },
      { tag: 'timestamp', val: '1700000000' },
      { tag: 'int64', val: '9007199254740993' },
      { tag: 'str', val: 'ü' },
    ]);
    expect(r.status, r.text).toBe(200);
    const { columns, rows } = r.json();
    expect(columns.map((c) => c.dataType)).toEqual(['date', 'time', 'datetime', 'datetime', 'int64', 'str']);
    expect(rows[0]).toEqual([
      { tag: 'date', val: [2024, 2, 29] },
      { tag: 'time', val: [23, 59, 58, 123456000] },
      { tag: 'datetime', val: [1999, 12, 31, 23, 59, 59, 500000000] },
      // 1700000000 s after the epoch, in UTC whatever the session's time zone
      { tag: 'datetime', val: [2023, 11, 14, 22, 13, 20, 0] },
      { tag: 'int64', val: '9007199254740993' },
      { tag: 'str', val: 'ü' },
    ]);
  });

  it('converts timestamptz to UTC and keeps BC dates', async () => {
    const r = await pg3("SELECT '2020-05-26 13:30:25.5-04'::timestamptz AS a, '0044-03-15 BC'::date AS b, 'infinity'::date AS c");
    expect(r.status, r.text).toBe(200);
    expect(r.json().rows[0]).toEqual([
      { tag: 'datetime', val: [2020, 5, 26, 17, 30, 25, 500000000] },
      { tag: 'date', val: [-43, 3, 15] },
      { tag: 'unsupported' },
    ]);
  });

  it('gives the same errors and denials as 2.0.0', async () => {
    const bad = await pg3('SELEC 1');
    expect(bad.status).toBe(500);
    expect(bad.text).toMatch(/^Error::QueryFailed\(".*syntax error/);
    const denied = await fetch(new URL('/pg3', app.url), {
      method: 'POST',
      body: JSON.stringify({ address: 'postgres://postgres@127.0.0.2:5432/x', statement: 'SELECT 1', params: [] }),
    });
    expect(await denied.text()).toBe('Error::ConnectionFailed("address postgres://127.0.0.2:5432 is not permitted")');
  });
});
