/**
 * The sandbox component on the host: results and console output, the time budget against busy loops and
 * recursion, the missing capabilities, TypeScript, limits, bad input, and a host that keeps serving.
 *
 * The main app's sandbox is private, so the test app (test/apps/sandbox/spin.toml) runs the same dist/sandbox.wasm
 * twice: privately, called by service chaining from the probe guest, and on a public `/execute` route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../host/manifest.ts';
import { ExecuteResponseSchema, SANDBOX_LIMITS, type ExecuteRequest, type ExecuteResponse } from '../../shared/protocol/sandbox.ts';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startApp(APPS.sandbox);
});

afterAll(async () => {
  await app?.close();
});

const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(new URL('/execute', app.url), { method: 'POST', headers, body });

/**
 * Runs code and returns the parsed, schema-checked report. Tests that are not about the budget get the largest
 * one, so a busy machine cannot turn their run into a timeout.
 */
async function execute(request: ExecuteRequest): Promise<ExecuteResponse> {
  const res = await post(JSON.stringify({ timeoutMs: SANDBOX_LIMITS.maxTimeoutMs, ...request }));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  return ExecuteResponseSchema.parse(await res.json());
}

async function errorBody(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe('results and console output', () => {
  it('the trailing expression is the result; console levels go to stdout and stderr in order', async () => {
    const r = await execute({
      code: [
        "console.log('hello %s, %d items', 'world', 3, { a: 1, b: [1, 2] })",
        "console.info('info')",
        "console.debug('debug')",
        "console.warn('careful')",
        "console.error(new Error('bad'))",
        'const total = [1, 2, 3].reduce((a, b) => a + b, 0);',
        '({ total, list: [total], map: new Map([["k", 1]]) })',
      ].join('\n'),
    });
    expect(r.error).toBeNull();
    expect(r.stdout).toBe('hello world, 3 items { a: 1, b: [ 1, 2 ] }\ninfo\ndebug\n');
    expect(r.stderr).toMatch(/^careful\nError: bad\n {4}at <top level> \(<sandbox>:5\)\n$/);
    expect(r.logs.map((l) => l.level)).toEqual(['log', 'info', 'debug', 'warn', 'error']);
    expect(r.result).toEqual({ total: 6, list: [6], map: {} });
    expect(r.resultText).toBe("{ total: 6, list: [ 6 ], map: Map(1) { 'k' => 1 } }");
    expect(r).toMatchObject({ truncated: false, timedOut: false, language: 'javascript' });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('explicit return, awaited promises and timers work; no value means no resultText', async () => {
    const returned = await execute({ code: 'await new Promise((r) => setTimeout(r, 20));\nif (true) return "early";\n"late"' });
    expect(returned).toMatchObject({ error: null, result: 'early' });
    const promised = await execute({ code: 'async function f() { return 40 }\nf().then((x) => x + 2)' });
    expect(promised.result).toBe(42);
    // Repeated: a host timer that fired early once made the 5 s deadline win over this 10 ms timer (1 run in ~30).
    for (let i = 0; i < 30; i++) {
      const timers = await execute({ code: "setTimeout(() => console.log('later'), 10)\nconsole.log('now')" });
      expect(timers).toMatchObject({ stdout: 'now\nlater\n', error: null });
    }
    const none = await execute({ code: 'let x = 1' });
    expect(none.result).toBeNull();
    expect(none.resultText).toBeUndefined();
  });

  it('values JSON cannot hold are null in result and readable in resultText', async () => {
    const r = await execute({ code: 'const o = { n: 10n }; o.self = o; o' });
    expect(r.result).toBeNull();
    expect(r.resultText).toBe('<ref *1> { n: 10n, self: [Circular *1] }');
    expect((await execute({ code: 'undefined' })).resultText).toBeUndefined();
  });

  it('exceptions and rejections are runtime errors with the line of the throw', async () => {
    const thrown = await execute({ code: "console.log('before')\nthrow new TypeError('nope')" });
    expect(thrown.error).toMatchObject({ kind: 'runtime', name: 'TypeError', message: 'nope' });
    expect(thrown.error?.stack).toContain('(<sandbox>:2)');
    expect(thrown.stdout).toBe('before\n');
    const rejected = await execute({ code: "await Promise.reject(new RangeError('later'))" });
    expect(rejected.error).toMatchObject({ kind: 'runtime', name: 'RangeError', message: 'later' });
    const value = await execute({ code: "throw { reason: 'plain object' }" });
    expect(value.error).toMatchObject({ kind: 'runtime', name: 'Thrown', message: "Uncaught { reason: 'plain object' }" });
  });

  it('a syntax error in the code is a 200 with error.kind syntax and its position', async () => {
    const r = await execute({ code: 'const a = 1;\nconst b = ;' });
    expect(r.error).toEqual({ kind: 'syntax', name: 'SyntaxError', message: 'Unexpected token (2:11)', line: 2, column: 11 });
    const mod = await execute({ code: "import fs from 'node:fs'" });
    expect(mod.error?.kind).toBe('syntax');
    expect(mod.error?.message).toContain('modules are not supported');
  });
});

describe('the time budget', () => {
  const endless = [
    'while (true) {}',
    'for (;;);',
    'do {} while (1)',
    'outer: for (;;) { inner: for (;;) { continue outer } }',
    'while (true) { try { while (true) {} } catch {} }',
    'function f() { try { f() } catch { f() } }\nf()',
    'await new Promise(() => {})',
    'setInterval(() => {}, 5)',
  ];
  for (const code of endless) {
    it(`stops ${code.replace(/\n/g, ' ')}`, async () => {
      const r = await execute({ code, timeoutMs: 200 });
      expect(r.timedOut).toBe(true);
      expect(r.error).toEqual({ kind: 'timeout', name: 'TimeoutError', message: 'the code ran longer than its time budget of 200 ms' });
    });
  }

  it('output written before the stop is kept, and catching the stop does not help', async () => {
    const r = await execute({
      code: "console.log('started')\ntry { for (;;) {} } catch (e) { console.log('caught', e.name) }\nfor (;;) {}",
      timeoutMs: 100,
    });
    expect(r.stdout).toBe('started\ncaught TimeoutError\n');
    expect(r.timedOut).toBe(true);
  });

  it('direct and mutual recursion end in a RangeError at the call-depth limit', async () => {
    for (const code of ['function f() { return f() }\nf()', 'function a(n) { return b(n + 1) }\nfunction b(n) { return a(n + 1) }\na(0)']) {
      const r = await execute({ code });
      expect(r.error).toMatchObject({
        kind: 'runtime',
        name: 'RangeError',
        message: `Maximum call depth of ${SANDBOX_LIMITS.callDepth} exceeded (unbounded recursion?)`,
      });
      expect(r.timedOut).toBe(false);
    }
    // Async functions are not depth-counted: the engine's stack limit or the budget ends them.
    const asyncRecursion = await execute({ code: 'async function f() { await f() }\nawait f()' });
    expect(['runtime', 'timeout']).toContain(asyncRecursion.error?.kind);
  });
});

describe('no capabilities', () => {
  it('fetch fails for any destination, internal ones included, with the error in the report', async () => {
    for (const url of ['https://example.com/', 'http://127.0.0.1:9/', 'http://api.spin.internal/health', 'http://self.alt/ping']) {
      const r = await execute({ code: `const res = await fetch(${JSON.stringify(url)}); res.status` });
      expect(r.error).toMatchObject({ kind: 'runtime', name: 'TypeError', message: 'NetworkError when attempting to fetch resource' });
    }
    expect(app.output.join('\n')).toContain("disallowed destination 'https://example.com'");
  });

  it('there is no key-value store, variable store, module loader or process to reach', async () => {
    const r = await execute({
      code: [
        'const probes = {}',
        "for (const [name, f] of Object.entries({ require: () => require('fermyon:spin/key-value@2.0.0'), process: () => process.env, Spin: () => Spin.kv.open('default'), variables: () => spinSdk.variables.get('api_keys') })) {",
        '  try { probes[name] = f() } catch (e) { probes[name] = `${e.name}: ${e.message}` }',
        '}',
        'probes',
      ].join('\n'),
    });
    expect(r.error).toBeNull();
    expect(r.result).toEqual({
      require: 'ReferenceError: require is not defined',
      process: 'ReferenceError: process is not defined',
      Spin: 'ReferenceError: Spin is not defined',
      variables: 'ReferenceError: spinSdk is not defined',
    });
    const dynamicImport = await execute({ code: "await import('fermyon:spin/key-value@2.0.0')" });
    expect(dynamicImport.error).toMatchObject({ kind: 'syntax', message: 'import() is not available in the sandbox (1:7)' });
  });

  it('eval and every Function constructor are disabled', async () => {
    const r = await execute({
      code: [
        'const attempts = {',
        "  eval: () => eval('1'),",
        "  Function: () => Function('return 1')(),",
        "  ctor: () => (function () {}).constructor('return 1')(),",
        "  asyncCtor: () => (async () => {}).constructor('return 1')(),",
        "  genCtor: () => (function* () {}).constructor('yield 1')().next(),",
        "  global: () => globalThis.constructor.constructor('return 1')(),",
        "  timerString: () => setTimeout('globalThis.x = 1', 0),",
        '}',
        'const out = {}',
        'for (const k in attempts) { try { out[k] = attempts[k]() } catch (e) { out[k] = e.name } }',
        'out',
      ].join('\n'),
    });
    expect(r.result).toEqual({
      eval: 'EvalError',
      Function: 'EvalError',
      ctor: 'EvalError',
      asyncCtor: 'EvalError',
      genCtor: 'EvalError',
      global: 'EvalError',
      timerString: 'TypeError',
    });
    expect((await execute({ code: '(() => {}) instanceof Function' })).result).toBe(true);
  });

  it('code that tampers with built-ins garbles only itself', async () => {
    const r = await execute({
      code: [
        'JSON.stringify = () => "forged"',
        'Object.prototype.toJSON = function () { return "polluted" }',
        'Array.prototype[Symbol.iterator] = function* () {}',
        'performance.now = () => 0; Date.now = () => 0',
        "console.log('still here')",
        'for (;;) {}',
      ].join('\n'),
      timeoutMs: 100,
    });
    expect(r.stdout).toBe('still here\n');
    expect(r.timedOut).toBe(true);
  });
});

describe('TypeScript', () => {
  it('types are stripped; enums, generics and interfaces work', async () => {
    const r = await execute({
      language: 'typescript',
      code: [
        'interface Item { name: string; price: number }',
        'enum Size { Small = 1, Large = 3 }',
        'function total<T extends Item>(items: readonly T[]): number { return items.reduce((s, i) => s + i.price, 0) }',
        "const items: Item[] = [{ name: 'a', price: 2 }, { name: 'b', price: 3 }]",
        'console.log(total(items) as number)',
        'Size.Large * total(items)',
      ].join('\n'),
    });
    expect(r).toMatchObject({ error: null, result: 15, stdout: '5\n', language: 'typescript' });
  });

  it('invalid TypeScript is a syntax error with its position', async () => {
    const r = await execute({ language: 'typescript', code: 'let x: number = 1\nlet y: = 2' });
    expect(r.error).toMatchObject({ kind: 'syntax', name: 'SyntaxError', line: 2 });
  });
});

describe('limits', () => {
  it('code over the limit and bodies over the limit are 413', async () => {
    const code = await post(JSON.stringify({ code: `// ${'x'.repeat(SANDBOX_LIMITS.codeChars)}` }));
    expect(code.status).toBe(413);
    expect((await errorBody(code)).code).toBe('payload_too_large');
    const body = await post(JSON.stringify({ code: '1', padding: 'x'.repeat(SANDBOX_LIMITS.bodyBytes) }));
    expect(body.status).toBe(413);
  });

  it('output beyond the limit is cut and flagged; the run still completes', async () => {
    const r = await execute({ code: "for (let i = 0; i < 1000; i++) console.log('x'.repeat(100), i)\n'done'" });
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBeLessThanOrEqual(SANDBOX_LIMITS.outputChars + r.logs.length);
    expect(r.result).toBe('done');
  });

  it('a result too large for JSON is flagged, with its text cut', async () => {
    const r = await execute({ code: "'y'.repeat(200000)" });
    expect(r.truncated).toBe(true);
    expect(r.result).toBeNull();
    expect(r.resultText).toMatch(/^'y{10000}'\.\.\. 190000 more characters$/);
  });

  it('obviously huge allocations are refused up front', async () => {
    const r = await execute({
      code: [
        'const out = []',
        "for (const f of [() => 'x'.repeat(1e9), () => new ArrayBuffer(2 ** 30), () => new Uint8Array(2 ** 30), () => new Array(1e9).fill(0), () => Array.from({ length: 1e9 }), () => 'a'.padEnd(1e9)]) {",
        '  try { f(); out.push("allocated") } catch (e) { out.push(e.name) }',
        '}',
        'out',
      ].join('\n'),
    });
    expect(r.result).toEqual(['RangeError', 'RangeError', 'RangeError', 'RangeError', 'RangeError', 'RangeError']);
  });

  it('runaway growth ends as an error report, and the host serves on', async () => {
    const doubling = await execute({ code: "let s = 'x'; for (;;) s += s" });
    expect(doubling.error).toMatchObject({ kind: 'runtime', name: 'InternalError', message: 'allocation size overflow' });
    const pushing = await execute({ code: 'const a = []; for (;;) a.push(new Array(10000).fill(1))', timeoutMs: 300 });
    expect(['timeout', 'memory']).toContain(pushing.error?.kind);
    expect((await execute({ code: '2 + 2' })).result).toBe(4);
  });
});

describe('bad requests', () => {
  it('malformed JSON, wrong types, unknown languages and fields are 400 with the platform error body', async () => {
    const cases: [string, string, RegExp][] = [
      ['{"code": ', 'invalid_json', /not valid JSON/],
      ['', 'invalid_json', /empty/],
      ['[1]', 'invalid_request', /expected object/],
      ['{"code": 1}', 'invalid_request', /code: Invalid input: expected string/],
      ['{"code": "1", "language": "python"}', 'invalid_request', /language must be one of javascript, typescript/],
      ['{"code": "1", "timeoutMs": 60000}', 'invalid_request', /timeoutMs must be at most 5000/],
      ['{"code": "1", "timeoutMs": 1.5}', 'invalid_request', /timeoutMs must be an integer/],
      ['{"code": "1", "timeout": 10}', 'invalid_request', /Unrecognized key/],
    ];
    for (const [body, code, message] of cases) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      const err = await errorBody(res);
      expect(err.code, body).toBe(code);
      expect(err.message, body).toMatch(message);
    }
  });

  it('other methods are 405 with Allow', async () => {
    const res = await fetch(new URL('/execute', app.url));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('serving', () => {
  it('other requests complete while a run burns its budget, and the host answers normally afterwards', async () => {
    const busy = execute({ code: 'while (true) {}', timeoutMs: 1500 });
    const others = await Promise.all([fetch(new URL('/ping', app.url)).then((r) => r.text()), execute({ code: '"other"' })]);
    expect(others[0]).toBe('pong');
    expect(others[1].result).toBe('other');
    expect((await busy).timedOut).toBe(true);
    expect((await execute({ code: '1 + 1' })).result).toBe(2);
  });

  it('each run gets a fresh instance: globals set by one run are gone in the next', async () => {
    await execute({ code: 'globalThis.leftover = 1; Array.prototype.extra = 2' });
    expect((await execute({ code: '[typeof leftover, [].extra]' })).result).toEqual(['undefined', null]);
  });

  it('is reachable privately by service chaining, as the agents and the MCP server call it', async () => {
    const url = new URL('/caller/fetch', app.url);
    url.searchParams.set('url', 'http://sandbox.spin.internal/execute');
    url.searchParams.set('method', 'POST');
    url.searchParams.set('body', JSON.stringify({ code: "console.log('chained'); 6 * 7" }));
    const res = (await (await fetch(url)).json()) as { status: number; body: string };
    expect(res.status).toBe(200);
    expect(ExecuteResponseSchema.parse(JSON.parse(res.body))).toMatchObject({ result: 42, stdout: 'chained\n' });
  });

  it('in the main app the sandbox is private and has no grants', async () => {
    const manifest = await loadManifest(APPS.main);
    const triggers = manifest.triggers.filter((t) => t.component === 'sandbox');
    expect(triggers.map((t) => t.route)).toEqual([{ private: true }]);
    const c = manifest.components.sandbox!;
    expect([c.keyValueStores, c.allowedOutboundHosts, c.variables, c.environment]).toEqual([[], [], {}, {}]);
  });
});
