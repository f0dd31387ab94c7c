/**
 * The sandbox's console formatting against Node's own `util.format` for the cases it claims to match.
 */
import { format as nodeFormat } from 'node:util';
import { describe, expect, it } from 'vitest';
import { format, inspect, quote } from '../../shared/sandbox/format.ts';

class Point {
  x = 1;
  y = 2;
}

/** `[<1 empty item>, 1, <2 empty items>]`, written without a sparse literal. */
function holes(): unknown[] {
  const a: unknown[] = [];
  a[1] = 1;
  a.length = 4;
  return a;
}

const circular: Record<string, unknown> = { name: 'loop' };
circular.self = circular;

const cases: [string, unknown[]][] = [
  ['strings and numbers', ['hello', 42, -0, 1.5, 10n, true, null, undefined]],
  ['format specifiers', ['%s is %d years and %i days, %f%% sure, %j %O %c!', 'Ann', 42.9, 7.8, '0.5', { a: [1] }, { b: 3 }, 'css']],
  ['%s uses a toString the code defined', ['%s', { toString: () => 'custom' }]],
  ['%s on objects and bigints', ['%s %s %s', { a: 1 }, [1, 2], 3n]],
  ['missing arguments keep the specifier', ['%s and %s', 'one']],
  ['extra arguments are appended', ['%s', 'a', 'b', { c: 1 }]],
  ['plain objects', [{ a: 1, b: 'two', 'needs-quotes': true, nested: { deeper: { deepest: { gone: 1 } } } }]],
  [
    'arrays, holes and long arrays',
    [[1, 2, 3], holes(), Array.from({ length: 7 }, (_, i) => i), Array.from({ length: 120 }, (_, i) => i * 3)],
  ],
  ['arrays of strings', [['apple', 'banana', 'cherry', 'date', 'elderberry', 'fig', 'grape', 'honeydew']]],
  [
    'long objects break across lines',
    [{ alpha: 'aaaaaaaaaaaaaaaa', beta: 'bbbbbbbbbbbbbbbbbbbb', gamma: 'cccccccccccccccccccc', delta: 1 }],
  ],
  ['class instances and null prototypes', [new Point(), Object.assign(Object.create(null), { k: 1 })]],
  [
    'Map and Set',
    [
      new Map<unknown, unknown>([
        ['a', 1],
        [{ b: 2 }, [3]],
      ]),
      new Set([1, 'two']),
      new Map(),
      new Set(),
    ],
  ],
  ['dates, regexps, symbols', [new Date(0), /a+b/gi, Symbol('s'), { [Symbol('k')]: 1 }]],
  ['functions and classes', [function named() {}, () => {}, class Foo {}, async function af() {}, function* gen() {}]],
  ['boxed primitives', [Object(1), Object('s'), Object(true)]],
  [
    'getters are not called',
    [
      {
        get g() {
          throw new Error('called');
        },
        set s(_v: unknown) {},
      },
    ],
  ],
  ['circular references', [circular]],
  ['nested quotes', [["it's", 'say "hi"', 'both \' and "', 'line\nbreak']]],
  ['typed arrays', [new Uint8Array([1, 2, 3])]],
];

describe('format matches util.format', () => {
  for (const [what, args] of cases) {
    it(what, () => {
      expect(format(...args)).toBe(nodeFormat(...args));
    });
  }
});

describe('format stays bounded on hostile values', () => {
  it('a throwing proxy prints as unformattable instead of failing', () => {
    const p = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('no keys for you');
        },
      },
    );
    expect(format(p)).toBe('[unformattable: Error: no keys for you]');
  });

  it('long strings inside objects are cut, huge arrays are summarised', () => {
    expect(inspect(['x'.repeat(20_000)])).toContain('... 10000 more characters');
    expect(inspect(new Array(1_000_000).fill(0))).toContain('... 999900 more items');
  });

  it('quote picks the quote character as Node does', () => {
    expect(quote('a')).toBe("'a'");
    expect(quote("it's")).toBe('"it\'s"');
    expect(quote('it\'s "x"')).toBe('`it\'s "x"`');
  });
});
