/**
 * Concurrency without timing assertions: an upstream that answers only once N requests are waiting on it at the
 * same time. If the host serialised outbound calls (as stock preview2-shim does), the barrier would never fill
 * and the test would time out. While the N instances are parked, trivial requests must still be answered.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

const N = 20;
let app: TestApp;
let upstream: http.Server;
const parked: http.ServerResponse[] = [];
let release: () => void = () => {};
const allParked = new Promise<void>((resolve) => (release = resolve));

beforeAll(async () => {
  upstream = http.createServer((_req, res) => {
    parked.push(res);
    if (parked.length === N) release();
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  app = await startApp(APPS.probe, {
    variables: new Map([
      ['upstream_port', String(port)],
      ['secret_token', 'x'],
    ]),
    runtimeConfigFile: new URL('../apps/probe/runtime-config.toml', import.meta.url).pathname,
  });
});

afterAll(async () => {
  await app?.close();
  upstream?.close();
});

it(`${N} guests wait on an upstream at once, and other requests are served meanwhile`, async () => {
  const target = encodeURIComponent(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/barrier`);
  const inflight = Array.from({ length: N }, () =>
    fetch(`${app.url}/probe/fetch?url=${target}`).then((r) => r.json() as Promise<{ body: string }>),
  );
  await allParked;
  // All N instances are suspended inside wasi:io/poll now; the event loop must still serve new instances.
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${app.url}/probe/echo`);
    expect(r.status).toBe(200);
    await r.arrayBuffer();
  }
  expect(parked.length).toBe(N);
  for (const [i, res] of parked.entries()) res.end(`released ${i}`);
  const results = await Promise.all(inflight);
  expect(new Set(results.map((r) => r.body)).size).toBe(N);
});
