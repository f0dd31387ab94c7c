/**
 * The MCP endpoint's Streamable HTTP transport on the real host, over raw HTTP: what official clients never send
 * (malformed, oversized and hostile input, foreign origins, unknown versions), the per-revision rules (batches only in
 * 2025-03-26, invalid tool arguments as -32602 before 2025-11-25 and as tool errors from then on, the 2026-07-28
 * header checks and result fields) and the reply formats (JSON, SSE, 202).
 *
 * Authentication is off in this app (the interop suite runs with it on), and `mcp_allowed_origins` lists one origin.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

const ALLOWED_ORIGIN = 'https://app.example.com';

let app: TestApp;

/** Every key-value label of spin.toml (in memory), whichever components use them. */
function kvLabels(): string[] {
  const manifest = parseToml(readFileSync(APPS.main, 'utf8')) as { component?: Record<string, { key_value_stores?: string[] }> };
  const labels = new Set<string>();
  for (const c of Object.values(manifest.component ?? {})) for (const l of c.key_value_stores ?? []) if (l !== 'default') labels.add(l);
  return [...labels];
}
let removeRc: () => void;

beforeAll(async () => {
  const rc = memoryRuntimeConfig(kvLabels());
  removeRc = rc.remove;
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: new Map([
      ['mcp_allowed_origins', ALLOWED_ORIGIN],
      ['mcp_page_size', '2'],
    ]),
  });
});

afterAll(async () => {
  await app?.close();
  removeRc?.();
});

const BOTH = 'application/json, text/event-stream';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // oxlint-disable-next-line typescript/no-explicit-any -- JSON-RPC bodies are read field by field in assertions
  json: any;
}

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${app.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: BOTH, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const rpc = (id: number | string, method: string, params?: unknown) => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params === undefined ? {} : { params }),
});
const v = (version: string) => ({ 'mcp-protocol-version': version });

/** A 2026-07-28 request: `_meta` plus the mirrored headers. */
function modern(id: number, method: string, params: Record<string, unknown> = {}, name?: string) {
  const body = rpc(id, method, {
    ...params,
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    },
  });
  const headers: Record<string, string> = { ...v('2026-07-28'), 'mcp-method': method };
  if (name !== undefined) headers['mcp-name'] = name;
  return { body, headers };
}

/** A POST with headers fetch does not let a caller set (`Host`); resolves with the status. */
function postRaw(base: string, headers: Record<string, string>, body: string): Promise<number> {
  const url = new URL(`${base}/mcp`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: BOTH, ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** SSE events of a text/event-stream body. */
function events(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((b) => {
      const lines = b.split('\n');
      return {
        event:
          lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim() ?? 'message',
        data: JSON.parse(
          lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n'),
        ),
      };
    });
}

describe('HTTP methods', () => {
  it('GET and DELETE are 405 with Allow (stateless: no server stream, no sessions)', async () => {
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const res = await fetch(`${app.url}/mcp`, { method, headers: { accept: 'text/event-stream' } });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST, OPTIONS');
      expect(((await res.json()) as { id: unknown }).id).toBeNull();
    }
  });

  it('a notification or a response is 202 with no body', async () => {
    for (const body of [
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      { jsonrpc: '2.0', id: 9, result: {} },
    ]) {
      const r = await post(body, v('2025-11-25'));
      expect(r.status).toBe(202);
      expect(r.text).toBe('');
    }
  });
});

describe('bad input', () => {
  it('malformed JSON is 400 with -32700 and id null', async () => {
    for (const body of ['{"jsonrpc":"2.0","id":1,', 'not json', '']) {
      const r = await post(body, v('2025-11-25'));
      expect(r.status, body).toBe(400);
      expect(r.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    }
  });

  it('an invalid envelope is 400 with -32600, keeping a usable id', async () => {
    const r = await post({ jsonrpc: '1.0', id: 5, method: 'ping' }, v('2025-11-25'));
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ id: 5, error: { code: -32600 } });
    const noMethod = await post({ jsonrpc: '2.0', id: { nested: true } }, v('2025-11-25'));
    expect(noMethod.json).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('invalid params are -32602', async () => {
    const cases: [string, unknown][] = [
      ['resources/read', {}],
      ['resources/read', { uri: 42 }],
      ['tools/call', { name: 'list_agents', arguments: 5 }],
      ['tools/call', { arguments: {} }],
      ['prompts/get', { name: 'specification', arguments: { task: 7 } }],
      ['tools/list', { cursor: 'not a cursor!' }],
      ['tools/list', { cursor: 'eyJsaXN0IjoicHJvbXB0cyIsIm9mZnNldCI6Mn0' }], // a prompts cursor
      ['resources/list', { cursor: 'eyJsaXN0IjoicHJvbXB0cyIsIm9mZnNldCI6Mn0' }],
      ['resources/list', { cursor: 'eyJsaXN0IjoicmVzb3VyY2VzIn0' }], // {"list":"resources"}: says nothing
      ['initialize', { protocolVersion: '2025-11-25' }],
      ['ping', [1, 2]],
    ];
    for (const [method, params] of cases) {
      const r = await post(rpc(1, method, params), v('2025-11-25'));
      expect(r.status, method).toBe(200);
      expect(r.json.error?.code, `${method} ${JSON.stringify(params)}`).toBe(-32602);
    }
  });

  it('an unknown method is -32601', async () => {
    const r = await post(rpc(1, 'tools/explode'), v('2025-11-25'));
    expect(r.json).toMatchObject({ id: 1, error: { code: -32601 } });
    const logging = await post(rpc(2, 'logging/setLevel', { level: 'info' }), v('2025-11-25'));
    expect(logging.json.error.code).toBe(-32601);
  });

  it('a body over 1 MiB is 413, declared or streamed', async () => {
    const big = JSON.stringify(rpc(1, 'tools/call', { name: 'execute_code', arguments: { code: 'x'.repeat(1024 * 1024 + 10) } }));
    const declared = await post(big, v('2025-11-25'));
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ id: null, error: { code: -32600 } });
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const streamed = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: BOTH },
      body: new ReadableStream({
        pull(c) {
          if (sent++ < 20) c.enqueue(chunk);
          else c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('an Accept without JSON or SSE is 406', async () => {
    const r = await post(rpc(1, 'ping'), { accept: 'text/html', ...v('2025-11-25') });
    expect(r.status).toBe(406);
    expect(r.json.error.code).toBe(-32600);
  });

  it('a non-JSON content type is 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await post(JSON.stringify(rpc(1, 'ping')), { 'content-type': type });
      expect(r.status, type).toBe(415);
    }
    const withCharset = await post(rpc(1, 'ping'), { 'content-type': 'application/json; charset=utf-8' });
    expect(withCharset.status).toBe(200);
  });

  it('an unknown MCP-Protocol-Version is 400 listing the supported versions', async () => {
    for (const version of ['2099-01-01', '2024-11-05', 'banana']) {
      const r = await post(rpc(1, 'ping'), v(version));
      expect(r.status, version).toBe(400);
      expect(r.json.error).toMatchObject({
        code: -32022,
        data: { supported: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26'], requested: version },
      });
    }
  });

  it('hostile JSON (deep nesting, huge numbers, prototype keys) gets JSON-RPC errors, never a 500', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    // A 2025-03-26 batch whose one message is an array: answered per message, like any invalid batch entry.
    const nested = await post(deep, {});
    expect(nested.status).toBe(200);
    expect(nested.json).toEqual([{ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) } }]);
    const deepParams = await post(
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}`,
      v('2025-11-25'),
    );
    expect(deepParams.status).toBeLessThan(500);
    expect(deepParams.json.error.code).toBeLessThan(-32000);
    const proto = await post(
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: '__proto__', arguments: { constructor: {} } } },
      v('2025-11-25'),
    );
    expect(proto.json).toMatchObject({ id: 1, error: { code: -32602 } });
    // An id that cannot round-trip exactly (not a safe integer) is no usable id.
    const unsafeId = await post({ jsonrpc: '2.0', id: 1e308, method: 'ping' }, v('2025-11-25'));
    expect(unsafeId.json).toMatchObject({ id: null, error: { code: -32600 } });
    const hugeId = await post({ jsonrpc: '2.0', id: 'x'.repeat(10_000), method: 'ping' }, v('2025-11-25'));
    expect(hugeId.json).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('a batch larger than 32 messages is 413', async () => {
    const r = await post(
      Array.from({ length: 33 }, (_, i) => rpc(i, 'ping')),
      {},
    );
    expect(r.status).toBe(413);
  });
});

describe('Origin', () => {
  it('a foreign Origin is 403', async () => {
    for (const origin of ['https://evil.example', 'null', 'file://', 'http://app.example.com']) {
      const r = await post(rpc(1, 'ping'), { origin });
      expect(r.status, origin).toBe(403);
      expect(r.json).toMatchObject({ id: null, error: { code: -32600 } });
    }
  });

  it('the own host does not pass while authentication is off (DNS rebinding)', async () => {
    // A rebinding page: its host name resolves to this server, so Host and Origin agree, and no key is needed.
    const status = await postRaw(app.url, { host: 'rebound.example', origin: 'http://rebound.example' }, JSON.stringify(rpc(1, 'ping')));
    expect(status).toBe(403);
  });

  it('loopback and listed origins pass, with CORS headers', async () => {
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', ALLOWED_ORIGIN]) {
      const r = await post(rpc(1, 'ping'), { origin });
      expect(r.status, origin).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
    }
    const preflight = await fetch(`${app.url}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('mcp-protocol-version');
  });
});

describe('versions', () => {
  it('initialize echoes a supported version and offers the newest otherwise', async () => {
    const init = (protocolVersion: string) =>
      rpc(1, 'initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    for (const [asked, got] of [
      ['2025-11-25', '2025-11-25'],
      ['2025-06-18', '2025-06-18'],
      ['2025-03-26', '2025-03-26'],
      ['2024-11-05', '2025-11-25'],
      ['2026-07-28', '2025-11-25'],
    ]) {
      const r = await post(init(asked!));
      expect(r.json.result.protocolVersion, asked).toBe(got);
      expect(r.json.result.capabilities).toMatchObject({ tools: {}, resources: {}, prompts: {}, completions: {} });
      expect(r.headers.get('mcp-session-id')).toBeNull();
    }
  });

  it('ping answers {}', async () => {
    expect((await post(rpc('p', 'ping'), v('2025-11-25'))).json).toEqual({ jsonrpc: '2.0', id: 'p', result: {} });
  });

  it('2025-03-26 (or no header) takes batches; later versions refuse them', async () => {
    const batch = [rpc(1, 'ping'), { jsonrpc: '2.0', method: 'notifications/initialized' }, rpc(2, 'prompts/list'), { bad: true }];
    for (const headers of [{}, v('2025-03-26')]) {
      const r = await post(batch, headers);
      expect(r.status).toBe(200);
      expect(r.json).toHaveLength(3);
      expect(r.json[0]).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
      expect(r.json[1].result.prompts).toHaveLength(2);
      expect(r.json[2]).toMatchObject({ id: null, error: { code: -32600 } });
    }
    const onlyNotifications = await post([{ jsonrpc: '2.0', method: 'notifications/initialized' }]);
    expect(onlyNotifications.status).toBe(202);
    const withInit = await post([
      rpc(1, 'initialize', { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '1' } }),
    ]);
    expect(withInit.json[0].error.code).toBe(-32600);
    expect((await post([], {})).status).toBe(400);
    for (const version of ['2025-06-18', '2025-11-25']) {
      const r = await post([rpc(1, 'ping')], v(version));
      expect(r.status, version).toBe(400);
      expect(r.json.error.code).toBe(-32600);
    }
  });

  it('invalid tool arguments are -32602 before 2025-11-25 and a tool error from then on', async () => {
    const call = rpc(1, 'tools/call', { name: 'execute_code', arguments: { code: 'x', language: 'cobol' } });
    for (const version of ['2025-03-26', '2025-06-18']) {
      const r = await post(call, v(version));
      expect(r.json.error, version).toMatchObject({ code: -32602, message: expect.stringContaining('language') });
    }
    const r = await post(call, v('2025-11-25'));
    expect(r.json.result).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('invalid arguments') }] });
    // An unknown tool is a protocol error in every revision.
    expect((await post(rpc(2, 'tools/call', { name: 'nope' }), v('2025-11-25'))).json.error.code).toBe(-32602);
  });

  it('a missing resource is -32002 in the 2025 revisions', async () => {
    const r = await post(rpc(1, 'resources/read', { uri: 'edge-agents://agents/coder/nobody' }), v('2025-11-25'));
    expect(r.json.error).toMatchObject({ code: -32002, data: { uri: 'edge-agents://agents/coder/nobody' } });
    const foreign = await post(rpc(2, 'resources/read', { uri: 'file:///etc/passwd' }), v('2025-11-25'));
    expect(foreign.json.error.code).toBe(-32002);
  });
});

describe('2026-07-28', () => {
  it('server/discover lists the versions, capabilities and identity', async () => {
    const { body, headers } = modern(1, 'server/discover');
    const r = await post(body, headers);
    expect(r.status).toBe(200);
    expect(r.json.result).toMatchObject({
      resultType: 'complete',
      supportedVersions: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26'],
      capabilities: { tools: {}, resources: {}, prompts: {} },
      ttlMs: expect.any(Number),
      cacheScope: 'public',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'edge-agents' } },
    });
  });

  it('results carry resultType, and cacheable ones ttlMs and cacheScope', async () => {
    const list = modern(1, 'tools/list');
    const tools = await post(list.body, list.headers);
    expect(tools.json.result).toMatchObject({ resultType: 'complete', ttlMs: expect.any(Number), cacheScope: 'public' });
    const prompt = modern(2, 'prompts/get', { name: 'refinement', arguments: { code: 'x()' } }, 'refinement');
    const got = await post(prompt.body, prompt.headers);
    expect(got.json.result.resultType).toBe('complete');
    expect(got.json.result.ttlMs).toBeUndefined();
  });

  it('header and body must agree (-32020, 400)', async () => {
    const wrongMethod = modern(1, 'tools/list');
    expect((await post(wrongMethod.body, { ...wrongMethod.headers, 'mcp-method': 'prompts/list' })).json.error.code).toBe(-32020);
    const noMethod = modern(2, 'tools/list');
    const { 'mcp-method': _dropped, ...withoutMethod } = noMethod.headers;
    const r = await post(noMethod.body, withoutMethod);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ id: 2, error: { code: -32020 } });
    const wrongName = modern(3, 'prompts/get', { name: 'completion', arguments: { task: 't' } }, 'specification');
    expect((await post(wrongName.body, wrongName.headers)).json.error.code).toBe(-32020);
    const noMeta = await post(rpc(4, 'tools/list'), { ...v('2026-07-28'), 'mcp-method': 'tools/list' });
    expect(noMeta.json.error.code).toBe(-32020);
    // A body that claims 2026-07-28 without the header.
    const claimed = modern(5, 'tools/list');
    expect((await post(claimed.body, { 'mcp-method': 'tools/list' })).json.error.code).toBe(-32020);
  });

  it('Mcp-Name may be base64-encoded', async () => {
    const uri = 'edge-agents://agents/coder/nobody';
    const read = modern(1, 'resources/read', { uri }, `=?base64?${btoa(uri)}?=`);
    const r = await post(read.body, read.headers);
    // Not found, and in this revision that is -32602 (with the uri).
    expect(r.json.error).toMatchObject({ code: -32602, data: { uri } });
  });

  it('initialize and ping do not exist: 404 with -32601', async () => {
    for (const method of ['initialize', 'ping', 'no/such']) {
      const { body, headers } = modern(1, method);
      const r = await post(body, headers);
      expect(r.status, method).toBe(404);
      expect(r.json.error.code).toBe(-32601);
    }
  });
});

describe('replies', () => {
  it('answers with SSE when the client accepts only SSE', async () => {
    const r = await post(rpc(7, 'prompts/list'), { accept: 'text/event-stream', ...v('2025-11-25') });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const evs = events(r.text);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ event: 'message', data: { jsonrpc: '2.0', id: 7, result: { prompts: expect.any(Array) } } });
  });

  it('answers with JSON when the client accepts both and asked for no progress', async () => {
    const r = await post(rpc(8, 'tools/list'), v('2025-11-25'));
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json.result.tools).toHaveLength(2);
    expect(r.json.result.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
