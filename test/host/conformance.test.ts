/**
 * The Spin conformance scenarios (fermyon/conformance-tests) that concern an HTTP host, run on this host with
 * the upstream expectations: status, exact body, and the exact response header set — a header that is neither
 * expected nor optional fails the test, as in the upstream runner.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

interface Expected {
  status: number;
  body: string;
  /** Headers that must be present, with their value (`undefined`: any value). */
  headers: Record<string, string | undefined>;
  /** Headers that may be present; a listed value must match when present. */
  optional?: Record<string, string | undefined>;
}

interface Received {
  status: number;
  body: string;
  headers: [string, string][];
}

function request(url: string, path: string, headers: Record<string, string> = {}): Promise<Received> {
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, path, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!.toLowerCase()]);
        resolve({ status: res.statusCode ?? 0, body, headers: pairs });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function assertConforms(received: Received, expected: Expected): void {
  expect({ status: received.status, body: received.body }).toEqual({ status: expected.status, body: expected.body });
  const seen = new Set<string>();
  for (const [name, value] of received.headers) {
    seen.add(name);
    if (name in expected.headers) {
      const want = expected.headers[name];
      if (want !== undefined) expect(value, `header ${name}`).toBe(want.toLowerCase());
    } else if (expected.optional && name in expected.optional) {
      const want = expected.optional[name];
      if (want !== undefined) expect(value, `optional header ${name}`).toBe(want.toLowerCase());
    } else {
      throw new Error(`unexpected header ${name}: ${value}`);
    }
  }
  for (const name of Object.keys(expected.headers)) expect(seen.has(name), `missing header ${name}`).toBe(true);
}

let app: TestApp;
let echo: http.Server;
let echoPort = 0;

beforeAll(async () => {
  // The upstream echo server for outbound-wasi-http: echoes the body with server, content-type and date headers.
  echo = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { server: 'echo/1.0', 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
  app = await startApp(APPS.conformance, { variables: new Map([['echo_port', String(echoPort)]]) });
});

afterAll(async () => {
  await app?.close();
  echo?.close();
});

describe('Spin conformance scenarios', () => {
  it('request-shape: route, path and spin-* headers as Spin sets them', async () => {
    const r = await request(app.url, '/base/path/end/rest?key=value', { 'User-Agent': 'my-agent', Accept: '*/*', Host: 'example.com' });
    assertConforms(r, { status: 200, body: '', headers: { 'content-length': '0' }, optional: { date: undefined } });
  });

  it('key-value: a granted store starts empty and supports set/get/exists/keys/delete', async () => {
    const r = await request(app.url, '/key-value/');
    assertConforms(r, { status: 200, body: '', headers: { 'content-length': '0' }, optional: { date: undefined } });
  });

  it('key-value-no-permission: opening an ungranted store is AccessDenied', async () => {
    const r = await request(app.url, '/key-value-no-permission/');
    expect(r.status).toBe(500);
    expect(r.body).toBe('Error::AccessDenied');
    const cl = r.headers.find(([n]) => n === 'content-length')?.[1];
    const chunked = r.headers.some(([n, v]) => n === 'transfer-encoding' && v === 'chunked');
    expect(cl === '19' || chunked).toBe(true);
    assertConforms(r, {
      status: 500,
      body: 'Error::AccessDenied',
      headers: {},
      optional: { date: undefined, 'content-length': '19', 'transfer-encoding': 'chunked', 'content-type': undefined },
    });
  });

  it('variables: component variable, Undefined and InvalidName', async () => {
    const r = await request(app.url, '/variables/');
    assertConforms(r, { status: 200, body: '', headers: { 'content-length': '0' }, optional: { date: undefined } });
  });

  it('outbound-wasi-http: POST to an allowed host and stream the echo back', async () => {
    const r = await request(app.url, '/outbound-wasi-http/', { url: `http://localhost:${echoPort}/` });
    assertConforms(r, {
      status: 200,
      body: 'Hello, world!',
      headers: {},
      optional: {
        'transfer-encoding': undefined,
        server: undefined,
        'content-type': 'text/plain',
        'content-length': undefined,
        date: undefined,
      },
    });
  });

  it('outbound-wasi-http-no-perms: denied on the response future with HttpRequestDenied, body sent chunked', async () => {
    const r = await request(app.url, '/outbound-wasi-http-no-perms/', { url: 'http://localhost:1234/' });
    assertConforms(r, {
      status: 500,
      body: 'incoming-response#get: ErrorCode::HttpRequestDenied',
      headers: {},
      optional: { 'content-length': '28', 'transfer-encoding': 'chunked', date: undefined, 'content-type': undefined },
    });
    expect(app.output.join('\n')).toContain(
      "A component tried to make an outbound network connection to disallowed destination 'http://localhost:1234'.",
    );
  });
});
