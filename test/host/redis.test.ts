/**
 * `fermyon:spin/redis@2.0.0`: a real guest against the machine's Redis (127.0.0.1:6379), plus the RESP codec and
 * address parsing on their own. Needs Redis: CI starts one (.ci/run); locally the suite says loudly when it is absent.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeReply, encodeCommand, parseRedisAddress } from '../../host/spin/redis.ts';
import { APPS } from '../helpers/apps.ts';
import { requireRedis } from '../helpers/redis.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

const ADDRESS = 'redis://127.0.0.1:6379';

const available = await requireRedis('the fermyon:spin/redis host tests');

describe('RESP codec and addresses', () => {
  it('encodes commands as arrays of bulk strings, binary-safe', () => {
    expect(encodeCommand(['SET', 'k', new Uint8Array([0, 13, 10])]).toString('latin1')).toBe(
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\x00\r\n\r\n',
    );
  });

  it('decodes every reply type, and waits for a whole reply', () => {
    const buf = Buffer.from('+OK\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n-ERR bad\r\n');
    const out: unknown[] = [];
    let at = 0;
    for (let r = decodeReply(buf, at); r; r = decodeReply(buf, at)) {
      out.push(r.reply);
      at = r.next;
      if (at >= buf.length) break;
    }
    expect(out).toEqual([
      { type: 'status', value: 'OK' },
      { type: 'integer', value: 42n },
      { type: 'bulk', value: new Uint8Array([97, 98, 99]) },
      { type: 'bulk', value: null },
      {
        type: 'array',
        value: [
          { type: 'bulk', value: new Uint8Array([97]) },
          { type: 'integer', value: 1n },
        ],
      },
      { type: 'error', value: 'ERR bad' },
    ]);
    expect(decodeReply(Buffer.from('$5\r\nab'))).toBeUndefined();
    expect(decodeReply(Buffer.from('*2\r\n:1\r\n'))).toBeUndefined();
  });

  it('parses redis:// addresses with credentials and a database, and rejects others', () => {
    expect(parseRedisAddress('redis://u:p%40ss@cache:6380/3')).toEqual({
      host: 'cache',
      port: 6380,
      db: 3,
      username: 'u',
      password: 'p@ss',
      tls: false,
    });
    expect(parseRedisAddress('redis://127.0.0.1')).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0 });
    expect(() => parseRedisAddress('http://cache')).toThrow(/unsupported scheme/);
    expect(() => parseRedisAddress('redis://cache/x')).toThrow(/database/);
    expect(() => parseRedisAddress('cache:6379')).toThrow();
  });
});

describe.skipIf(!available)('fermyon:spin/redis through a guest', () => {
  let app: TestApp;
  const prefix = `edge-agents-test:${randomUUID()}:`;

  beforeAll(async () => {
    app = await startApp(APPS.redis);
  });
  afterAll(async () => {
    // Leave nothing behind in the shared Redis.
    if (app)
      await call([
        {
          op: 'execute',
          args: [
            'EVAL',
            [
              { text: `for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end` },
              { int64: '0' },
              { text: `${prefix}*` },
            ],
          ],
        },
      ]);
    await app?.close();
  });

  async function call(calls: { op: string; args: unknown[] }[], address = ADDRESS): Promise<{ status: number; body: string }> {
    const r = await fetch(new URL('/redis/run', app.url), {
      method: 'POST',
      headers: { REDIS_ADDRESS: address, 'content-type': 'application/json' },
      body: JSON.stringify(calls),
    });
    return { status: r.status, body: await r.text() };
  }

  async function ok(calls: { op: string; args: unknown[] }[]): Promise<unknown[]> {
    const r = await call(calls);
    expect(r.status, r.body).toBe(200);
    return JSON.parse(r.body) as unknown[];
  }

  it('runs get, set, incr, del and the set commands with Spin’s result types', async () => {
    const k = `${prefix}k`;
    const n = `${prefix}n`;
    const s = `${prefix}s`;
    expect(
      await ok([
        { op: 'get', args: [k] },
        { op: 'set', args: [k, 'héllo'] },
        { op: 'get', args: [k] },
        { op: 'incr', args: [n] },
        { op: 'incr', args: [n] },
        { op: 'sadd', args: [s, ['a', 'b', 'c']] },
        { op: 'sadd', args: [s, ['c', 'd']] },
        { op: 'srem', args: [s, ['a', 'z']] },
        { op: 'smembers', args: [s] },
        { op: 'del', args: [[k, n, `${prefix}missing`]] },
        { op: 'get', args: [k] },
        { op: 'publish', args: [`${prefix}chan`, 'hi'] },
      ]),
    ).toEqual([null, null, 'héllo', '1', '2', 3, 1, 1, ['b', 'c', 'd'], 2, null, null]);
  });

  it('execute distinguishes status, integer, bulk and nil replies and flattens arrays', async () => {
    const k = `${prefix}e`;
    const [set, append, get, missing, mget] = (await ok([
      { op: 'execute', args: ['SET', [{ text: k }, { text: 'v' }]] },
      { op: 'execute', args: ['APPEND', [{ text: k }, { int64: '7' }]] },
      { op: 'execute', args: ['GET', [{ text: k }]] },
      { op: 'execute', args: ['GET', [{ text: `${prefix}none` }]] },
      { op: 'execute', args: ['MGET', [{ text: k }, { text: `${prefix}none` }]] },
    ])) as unknown[][];
    expect(set).toEqual([{ status: 'OK' }]);
    expect(append).toEqual([{ int64: '2' }]);
    expect(get).toEqual([{ binary: 'v7' }]);
    expect(missing).toEqual([{ nil: true }]);
    expect(mget).toEqual([{ binary: 'v7' }, { nil: true }]);
  });

  it('reports WRONGTYPE as type-error and a failed command as other', async () => {
    const s = `${prefix}set`;
    await ok([{ op: 'sadd', args: [s, ['x']] }]);
    const wrong = await call([{ op: 'get', args: [s] }]);
    expect(wrong).toEqual({ status: 500, body: 'Error::TypeError' });
    const bad = await call([{ op: 'execute', args: ['NOSUCHCOMMAND', []] }]);
    expect(bad.status).toBe(500);
    expect(bad.body).toMatch(/^Error::Other\(".*unknown command/);
  });

  it('denies addresses the component was not granted with invalid-address, and reports unreachable servers', async () => {
    expect(await call([], 'redis://127.0.0.2:6379')).toEqual({ status: 500, body: 'Error::InvalidAddress' });
    expect(await call([], 'not a url')).toEqual({ status: 500, body: 'Error::InvalidAddress' });
    const down = await call([], 'redis://127.0.0.1:1');
    expect(down.status).toBe(500);
    expect(down.body).toMatch(/^Error::Other\(".*ECONNREFUSED/);
  });

  it('does not leak a SELECT into other guests through the pool', async () => {
    const k = `${prefix}db`;
    await ok([
      { op: 'execute', args: ['SELECT', [{ int64: '5' }]] },
      { op: 'set', args: [k, 'in-db-5-or-0'] },
    ]);
    // The SELECT's connection was retired, so the set ran on a fresh db-0 connection and later guests see db 0.
    expect(await ok([{ op: 'get', args: [k] }])).toEqual(['in-db-5-or-0']);
    const db = (await ok([{ op: 'execute', args: ['CLIENT', [{ text: 'INFO' }]] }])) as { binary: string }[][];
    expect(db[0]![0]!.binary).toMatch(/ db=0 /);
  });

  it('serves many guests at once over the shared pool', async () => {
    const n = `${prefix}concurrent`;
    const results = await Promise.all(Array.from({ length: 40 }, () => ok([{ op: 'incr', args: [n] }])));
    expect(results.map((r) => Number(r[0])).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});
