/**
 * Key-value labels on a real Redis (`type = "redis"` in runtime config). Needs a Redis at REDIS_URL
 * (default redis://127.0.0.1:6379); CI starts one. Without it the test fails rather than skipping silently.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { startApp, tempDir, type TestApp } from '../helpers/host.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// A database of its own, so the test can check what the host wrote without touching anything else.
const DB = 11;
let app: TestApp;
let redis: Redis;
const dir = tempDir();

beforeAll(async () => {
  redis = new Redis(`${REDIS_URL}/${DB}`, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
  } catch (err) {
    throw new Error(`this test needs Redis at ${REDIS_URL} (start redis-server, or set REDIS_URL): ${String(err)}`);
  }
  await redis.flushdb();
  const rc = join(dir.path, 'runtime-config.toml');
  writeFileSync(rc, `[key_value_store.shared]\ntype = "redis"\nurl = "${REDIS_URL}/${DB}"\n`);
  app = await startApp(APPS.probe, { runtimeConfigFile: rc, variables: new Map([['secret_token', 'x']]) });
});

afterAll(async () => {
  await app?.close();
  await redis?.flushdb();
  redis?.disconnect();
  dir.remove();
});

it('a label configured as redis stores in Redis, with Spin key-value semantics', async () => {
  const base = `${app.url}/probe/kv/shared`;
  expect(await (await fetch(`${base}/set/alpha`, { method: 'POST', body: 'one' })).text()).toBe('ok');
  expect(await redis.get('alpha')).toBe('one');
  await redis.set('beta', 'two');
  expect(await (await fetch(`${base}/get/beta`)).text()).toBe('two');
  expect(await (await fetch(`${base}/exists/beta`)).text()).toBe('true');
  expect(await (await fetch(`${base}/keys/x`)).json()).toEqual(['alpha', 'beta']);
  expect(await (await fetch(`${base}/delete/alpha`)).text()).toBe('ok');
  expect(await (await fetch(`${base}/delete/alpha`)).text()).toBe('ok');
  expect(await redis.exists('alpha')).toBe(0);
  expect(await (await fetch(`${base}/get/alpha`)).text()).toBe('missing');
  expect(app.output.join('\n')).toContain('[key_value_store.shared: redis]');
});
