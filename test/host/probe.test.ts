/**
 * Host semantics through a real guest: routing and headers, static and private routes, service chaining, self
 * requests, outbound policy, key-value labels and backends, variables, stdio logs, failures, body streaming.
 */
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

let app: TestApp;
let upstream: http.Server;
let upstreamPort = 0;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url === '/slow') {
      setTimeout(() => res.end('slow answer'), 300);
      return;
    }
    res.setHeader('x-upstream', 'yes');
    res.end(`upstream saw ${req.method} ${req.url}`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  app = await startApp(APPS.probe, {
    variables: new Map([
      ['upstream_port', String(upstreamPort)],
      ['secret_token', 's3cret'],
    ]),
    runtimeConfigFile: join(APPS.probe, '../runtime-config.toml'),
    logDir: undefined,
  });
});

afterAll(async () => {
  await app?.close();
  upstream?.close();
});

const get = (path: string, init?: RequestInit) => fetch(new URL(path, app.url), init);
const echo = async (path: string, init?: RequestInit) =>
  (await (await get(path, init)).json()) as { method: string; url: string; headers: Record<string, string>; body: string };

describe('routing and request headers', () => {
  it('wildcard route: path info, matched route and full URL', async () => {
    const e = await echo('/probe/echo/a/b/?x=1');
    expect(e.headers['spin-path-info']).toBe('/echo/a/b/');
    expect(e.headers['spin-matched-route']).toBe('/probe/...');
    expect(e.headers['spin-raw-component-route']).toBe('/probe/...');
    expect(e.headers['spin-component-route']).toBe('/probe');
    expect(e.headers['spin-base-path']).toBe('/');
    expect(e.headers['spin-full-url']).toBe(`${app.url}/probe/echo/a/b/?x=1`);
    expect(e.headers['spin-client-addr']).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('parameters become spin-path-match-* headers (lower case, _ → -)', async () => {
    const e = await echo('/users/42/echo');
    expect(e.headers['spin-path-match-user-id']).toBe('42');
    expect(e.headers['spin-path-info']).toBe('/echo');
  });

  it('exact routes match with and without a trailing slash, not deeper', async () => {
    expect((await get('/exact')).status).toBe(404); // the probe answers 404 for an unknown action: it was routed
    expect(await (await get('/exact')).text()).toContain('probe: unknown action');
    expect(await (await get('/exact/')).text()).toContain('probe: unknown action');
    const deeper = await get('/exact/more');
    expect(deeper.status).toBe(404);
    expect(await deeper.text()).toBe('');
  });

  it('unmatched paths get 404 with an empty body and a one-time hint', async () => {
    const r = await get('/nowhere');
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('');
    expect(app.output.join('\n')).toMatch(/Request to \/\S+ matched no pattern, and received a generic 404 response/);
  });

  it('static_response triggers answer without a component', async () => {
    const r = await get('/static');
    expect(r.status).toBe(418);
    expect(r.headers.get('x-static')).toBe('yes');
    expect(await r.text()).toBe('I am a teapot');
  });

  it('reserved /.well-known/spin routes', async () => {
    const health = await get('/.well-known/spin/health');
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('OK');
    expect(await (await get('/.well-known/spin/info')).json()).toEqual({ name: 'probe', version: '1.2.3' });
    expect((await get('/.well-known/spin/other')).status).toBe(404);
  });

  it('request bodies reach the guest intact', async () => {
    const body = 'x'.repeat(300_000);
    const e = await echo('/probe/echo', { method: 'POST', body });
    expect(e.method).toBe('POST');
    expect(e.body.length).toBe(300_000);
  });

  it('headers up to 128 KiB are accepted; larger ones get 431', async () => {
    const ok = await get('/probe/echo', { headers: { 'x-big': 'a'.repeat(100 * 1024) } });
    expect(ok.status).toBe(200);
    const tooBig = await new Promise<number>((resolve, reject) => {
      const u = new URL(app.url);
      const req = http.request(
        { host: u.hostname, port: u.port, path: '/probe/echo', headers: { 'x-big': 'a'.repeat(140 * 1024) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(tooBig).toBe(431);
  });
});

describe('responses', () => {
  it('a guest stream arrives chunk by chunk, chunked', async () => {
    const r = await get('/probe/stream/4/20');
    expect(r.headers.get('transfer-encoding')).toBe('chunked');
    expect(await r.text()).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\n');
  });

  it('empty bodies carry content-length 0 and no Connection/Keep-Alive headers', async () => {
    const r = await new Promise<http.IncomingMessage>((resolve) => http.get(new URL('/probe/empty', app.url), resolve));
    r.resume();
    expect(r.statusCode).toBe(204);
    expect(r.headers.connection).toBeUndefined();
    expect(r.headers['keep-alive']).toBeUndefined();
  });

  it("guest clocks: monotonic time advances across a sleep, wall time is the host's", async () => {
    const res = await fetch(`${app.url}/probe/clock/30`);
    const { elapsedMs, wallMs } = (await res.json()) as { elapsedMs: number; wallMs: number };
    expect(elapsedMs).toBeGreaterThanOrEqual(29);
    expect(elapsedMs).toBeLessThan(5000);
    expect(Math.abs(wallMs - Date.now())).toBeLessThan(5000);
  });

  it('a guest exception is a 500 and the host keeps serving', async () => {
    for (const action of ['throw', 'reject']) {
      const r = await get(`/probe/${action}/x`);
      expect(r.status).toBe(500);
      expect(await r.text()).toBe('');
    }
    expect((await get('/probe/echo')).status).toBe(200);
  });
});

describe('service chaining and outbound policy', () => {
  it('chains to a private component in process with Spin chaining headers', async () => {
    const r = (await (await get(`/probe/fetch?url=${encodeURIComponent('http://private-probe.spin.internal/echo/x?q=1')}`)).json()) as {
      status: number;
      body: string;
    };
    expect(r.status).toBe(200);
    const inner = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(inner.headers['spin-path-info']).toBe('/echo/x');
    expect(inner.headers['spin-matched-route']).toBe('/...');
    expect(inner.headers['spin-component-route']).toBe('');
    expect(inner.headers['spin-client-addr']).toBe('0.0.0.0:0');
    expect(inner.headers['spin-full-url']).toBe('http://private-probe.spin.internal/echo/x?q=1');
  });

  it('private components have no route', async () => {
    expect((await get('/echo')).status).toBe(404);
  });

  it("allowed hosts: templated upstream is reachable, others are denied with Spin's message", async () => {
    const ok = (await (await get(`/probe/fetch?url=${encodeURIComponent(`http://127.0.0.1:${upstreamPort}/hello`)}`)).json()) as {
      status: number;
      body: string;
      headers: Record<string, string>;
    };
    expect(ok).toMatchObject({ status: 200, body: 'upstream saw GET /hello' });
    expect(ok.headers['x-upstream']).toBe('yes');
    const denied = await get(`/probe/fetch?url=${encodeURIComponent('http://127.0.0.2:9/')}`);
    expect(denied.status).toBe(502);
    expect(app.output.join('\n')).toContain("disallowed destination 'http://127.0.0.2:9'");
    const noGrants = await get(`/denied/fetch?url=${encodeURIComponent(`http://127.0.0.1:${upstreamPort}/`)}`);
    expect(noGrants.status).toBe(502);
  });

  it('self requests go back through the listener', async () => {
    const r = (await (await get(`/probe/fetch?url=${encodeURIComponent('http://self.alt/static')}`)).json()) as {
      status: number;
      body: string;
    };
    expect(r).toMatchObject({ status: 418, body: 'I am a teapot' });
  });

  it('a component without a self grant cannot call its own app', async () => {
    const r = await get(`/denied/fetch?url=${encodeURIComponent('http://self.alt/static')}`);
    expect(r.status).toBe(502);
    expect(app.output.join('\n')).toContain('A component tried to make an HTTP request to its own app but it does not have permission.');
  });
});

describe('key-value and variables', () => {
  it('default store on SQLite under the state dir, labels from runtime config, access-denied otherwise', async () => {
    expect(await (await get('/probe/kv/default/set/color', { method: 'POST', body: 'blue' })).text()).toBe('ok');
    expect(await (await get('/probe/kv/default/get/color')).text()).toBe('blue');
    expect(await (await get('/probe/kv/default/exists/color')).text()).toBe('true');
    expect(existsSync(join(app.stateDir, 'sqlite_key_value.db'))).toBe(true);
    expect(await (await get('/probe/kv/shared/set/k', { method: 'POST', body: 'v' })).text()).toBe('ok');
    expect(await (await get('/probe/kv/default/get/k')).text()).toBe('missing');
    const denied = await get('/probe/kv/agents/get/k');
    expect(denied.status).toBe(500);
    expect(await denied.text()).toBe('Error::AccessDenied');
    expect(await (await get('/denied/kv/default/get/k')).text()).toBe('Error::AccessDenied');
  });

  it('stores are shared between components that were granted the label', async () => {
    await get('/probe/kv/shared/set/from-probe', { method: 'POST', body: 'hi' });
    const r = (await (
      await get(`/probe/fetch?url=${encodeURIComponent('http://private-probe.spin.internal/kv/shared/get/from-probe')}`)
    ).json()) as { body: string };
    expect(r.body).toBe('hi');
  });

  it('component variables are templates over app variables; unknown and invalid names are errors', async () => {
    expect(await (await get('/probe/var/greeting')).text()).toBe('hello, world');
    expect(await (await get('/probe/var/token')).text()).toBe('s3cret');
    const unknown = await get('/probe/var/nope');
    expect(unknown.status).toBe(500);
    expect(await unknown.text()).toMatch(/^Error::Undefined\(/);
    expect(await (await get('/probe/var/Bad-Name')).text()).toMatch(/^Error::InvalidName\(/);
  });
});

describe('guest stdio', () => {
  it('goes to <log_dir>/<id>_stdout.txt and _stderr.txt', async () => {
    expect((await get('/probe/log/hello-logs')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    const logDir = join(app.stateDir, 'logs');
    expect(readFileSync(join(logDir, 'probe_stdout.txt'), 'utf8')).toContain('stdout line: hello-logs');
    expect(readFileSync(join(logDir, 'probe_stderr.txt'), 'utf8')).toContain('stderr line: hello-logs');
  });
});
