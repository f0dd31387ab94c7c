/**
 * The sandbox's instrumenter on Node: instrumented code computes what the original computes, stops at its budget
 * however it loops, recurses or catches, and refuses code that tries to reach the instrumentation.
 */
import { parse } from 'acorn';
import { describe, expect, it } from 'vitest';
import { SANDBOX_LIMITS } from '../../shared/protocol/sandbox.ts';
import { CodeSyntaxError, instrument, NAMES } from '../../shared/sandbox/instrument.ts';
import { createBudget } from '../../shared/sandbox/runner.ts';

type Main = () => Promise<unknown>;

/** Compiles instrumented code as the runner does (without the lockdown, which would change this process). */
function compile(code: string, host: object, bare = false): Main {
  const { body } = instrument(code, { maxDepth: SANDBOX_LIMITS.callDepth, bare });
  return (new Function(NAMES.host, body) as (h: object) => Main)(host);
}

const freeHost = Object.freeze({
  t: () => 1000,
  r: () => {
    throw new RangeError('depth');
  },
});

async function runBoth(code: string): Promise<[unknown, unknown]> {
  return [await compile(code, freeHost, true)(), await compile(code, freeHost)()];
}

/** Runs code under a real budget; resolves with what it threw (or returned). */
async function underBudget(code: string, ms = 100): Promise<{ threw: unknown; exceeded: boolean }> {
  const budget = createBudget(ms);
  let threw: unknown;
  try {
    await compile(code, budget.host)();
  } catch (err) {
    threw = err;
  }
  budget.close();
  return { threw, exceeded: budget.exceeded() };
}

describe('results are unchanged by instrumentation', () => {
  const programs = [
    '1 + 2',
    'let s = 0; for (let i = 0; i < 100; i++) s += i; s',
    'const out = []; outer: for (const a of [1, 2, 3]) { for (const b of [1, 2, 3]) { if (b > a) continue outer; out.push(a * b) } } out',
    'let i = 0; do i++; while (i < 10); i',
    'let n = 0; while (n < 5) n++; for (const k in { a: 1, b: 2 }) n++; n',
    'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } fib(15)',
    'const f = () => ({ a: 1 }); f()',
    'const g = (x) => (y) => x + y; g(1)(2)',
    "function s() { 'use strict'; return this } s() === undefined",
    'class A { #x = 1; static n = 2; get x() { return this.#x } static { this.m = 3 } } class B extends A { constructor() { super(); this.y = 2 } } [new B().x, new B().y, A.n, A.m]',
    'function* gen() { let i = 0; while (i < 3) yield i++ } [...gen()]',
    'async function a() { await null; return 5 } await a()',
    'const o = { m() { return 1 }, get g() { return 2 }, set s(v) {} }; o.m() + o.g',
    'if (true) for (var i = 0; i < 3; i++) ; else 0; i',
    'return 42; 7',
    'let x = 1; { x = 2 } x',
    'try { throw new Error("e") } catch ({ message }) { message }',
    '[1, 2, 3].map((x) => x * 2).reduce((a, b) => a + b)',
    'label: { break label }; (function () { return arguments.length })(1, 2)',
    '`${[1, 2].map(String)}`',
    'var fact = function f(n) { return n ? n * f(n - 1) : 1 }; fact(10)',
    'const [a, b = (() => 2)()] = [1]; a + b',
    '(async () => { for await (const v of [Promise.resolve(1)]) return v })()',
    '() => 1',
  ];
  for (const code of programs) {
    it(code, async () => {
      const [bare, instrumented] = await runBoth(code);
      expect(typeof instrumented === 'function' ? 'function' : instrumented).toEqual(typeof bare === 'function' ? 'function' : bare);
    });
  }

  it('instrumented code parses and keeps every line where it was', () => {
    const code = 'function f(a) {\n  while (a) {\n    a--;\n  }\n  return () => a;\n}\nfor (;;) break\nf(3)';
    const { body } = instrument(code, { maxDepth: 10 });
    expect(() => parse(`(function(${NAMES.host}){${body}})`, { ecmaVersion: 'latest' })).not.toThrow();
    const lines = body.split('\n');
    expect(lines.length).toBe(code.split('\n').length + 2);
    expect(lines[2]).toContain('while (a) {');
    expect(lines[3]).toContain('a--;');
  });

  it('the trailing expression becomes the value; a lone "use strict" stays a directive', () => {
    expect(instrument('x = 1\nx', { maxDepth: 1 }).trailingExpression).toBe(true);
    expect(instrument("'use strict'", { maxDepth: 1 }).trailingExpression).toBe(false);
    expect(instrument('let x = 1', { maxDepth: 1 }).trailingExpression).toBe(false);
  });
});

describe('the budget stops every way of running forever', () => {
  const endless: [string, string][] = [
    ['while (true) {}', 'while'],
    ['for (;;);', 'for without body'],
    ['do {} while (1)', 'do-while'],
    ['do ; while (1)', 'do-while without braces'],
    ['a: for (;;) { b: for (;;) { continue a } }', 'labeled loops'],
    ['if (1) while (1) x = 1; var x', 'loop without braces under if'],
    ['for (const x of (function* () { for (;;) yield 1 })()) {}', 'infinite generator'],
    ['while (true) { try { while (true) {} } catch (e) {} }', 'catching the stop and looping again'],
    ['for (;;) { try { for (;;) {} } finally { continue } }', 'finally { continue } swallowing the stop'],
    ['function f() { try { f() } catch { f() } } f()', 'exponential recursion that catches'],
    ['const o = { get x() { return this.x } }; for (;;) { try { o.x } catch {} }', 'getter recursion in a loop'],
    ['const p = new Proxy({}, { get: (t, k) => p[k] }); for (;;) { try { p.x } catch {} }', 'proxy trap recursion'],
    ['for (;;) { try { [1, 2, 3].forEach(function g() { for (;;) {} }) } catch {} }', 'callbacks from built-ins'],
    ['async function f() { for (;;) await null } await f()', 'awaiting in a loop'],
    ['const t = () => { for (;;) {} }; class C { x = t() } new C()', 'class field initialiser'],
    ['String.raw`${(() => { while (1); })()}`', 'tagged template'],
  ];
  for (const [code, what] of endless) {
    it(what, async () => {
      const r = await underBudget(code, 50);
      expect(r.exceeded).toBe(true);
      expect((r.threw as Error).name).toBe('TimeoutError');
    });
  }

  it('direct and mutual recursion hit the depth limit with a RangeError', async () => {
    for (const code of [
      'function f() { return f() } f()',
      'function a() { return b() } function b() { return a() } a()',
      'const r = () => r(); r()',
    ]) {
      const r = await underBudget(code, 5000);
      expect(r.exceeded).toBe(false);
      expect(r.threw).toBeInstanceOf(RangeError);
      expect((r.threw as Error).message).toMatch(/Maximum call depth of \d+ exceeded/);
    }
  });

  it('after close, every tick throws (background work left behind stops)', () => {
    const budget = createBudget(10_000);
    expect(budget.host.t()).toBeGreaterThan(0);
    budget.close();
    expect(() => budget.host.t()).toThrow(/time budget/);
  });

  it('the host object is frozen', () => {
    const budget = createBudget(10);
    expect(Object.isFrozen(budget.host)).toBe(true);
  });
});

describe('hostile code cannot reach the instrumentation', () => {
  const refused: [string, RegExp][] = [
    [`${NAMES.count} = 1e9`, /reserved/],
    [`${NAMES.host}.t = () => 1`, /reserved/],
    ['let \\u005f_sbx$n = 0', /reserved/],
    [`({ ${NAMES.depth}: 1 }).${NAMES.depth}`, /reserved/],
    ['function f(__sbx$k) {}', /reserved/],
    ['import("data:text/javascript,1")', /import\(\) is not available/],
    ['import fs from "fs"', /modules are not supported/],
    ['export const x = 1', /modules are not supported/],
    ['import.meta.url', /modules are not supported|import\.meta/],
  ];
  for (const [code, message] of refused) {
    it(`refuses ${code}`, () => {
      expect(() => instrument(code, { maxDepth: 1 })).toThrow(CodeSyntaxError);
      expect(() => instrument(code, { maxDepth: 1 })).toThrow(message);
    });
  }

  it('arguments at the top level are the run’s own, not the wrapper’s', async () => {
    expect(await compile('arguments.length', freeHost)()).toBe(0);
    const r = await underBudget('arguments[0] = { t: () => 1e9 }; while (true) {}', 50);
    expect(r.exceeded).toBe(true);
  });

  it('code cannot break out of the wrapper with unbalanced braces or comments', () => {
    for (const code of ['}; while(true){}; {', '/*', '*/ while(1){} /*', '`', '}']) {
      expect(() => instrument(code, { maxDepth: 1 })).toThrow(CodeSyntaxError);
    }
    // HTML-like comments and a trailing line comment keep the wrapper intact.
    expect(() => compile('1 // trailing comment', freeHost)).not.toThrow();
  });

  it('syntax errors carry 1-based line and column', () => {
    try {
      instrument('let a = 1;\nlet b = ;', { maxDepth: 1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CodeSyntaxError);
      expect((err as CodeSyntaxError).line).toBe(2);
      expect((err as CodeSyntaxError).column).toBe(9);
      expect((err as Error).message).toBe('Unexpected token (2:9)');
    }
  });
});
