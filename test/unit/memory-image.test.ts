import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { describe, it, expect } from 'vitest';
import { Reader, SectionId, Writer, WasmBinaryError, readImports, readSections } from '../../host/wasm/binary.ts';
import {
  MemoryPool,
  analyzeMemoryImage,
  extractMemoryImage,
  shareMemoryImports,
  withPoolMemory,
  type MemoryImagePlan,
} from '../../host/wasm/memory-image.ts';
import { DEFAULT_CACHE_DIR } from '../../host/app.ts';
import { coreModules } from '../../host/component.ts';
import { ROOT } from '../helpers/apps.ts';

const PAGE = 65536;

// Import object matching a module's imports: functions throw unless
// overridden, other kinds get fresh objects of the declared type.
function dummyImports(bytes: Uint8Array, functions: Record<string, (...args: never[]) => unknown> = {}): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const entry of readImports(bytes)) {
    const ns = (imports[entry.module] ??= {});
    const d = entry.desc;
    const max = (limits: { max: number | undefined }) => (limits.max === undefined ? {} : { maximum: limits.max });
    switch (d.kind) {
      case 'function':
        ns[entry.name] =
          functions[`${entry.module}/${entry.name}`] ??
          (() => {
            throw new Error(`dummy import ${entry.module}/${entry.name} called`);
          });
        break;
      case 'memory':
        ns[entry.name] = new WebAssembly.Memory({ initial: d.limits.min, ...max(d.limits) });
        break;
      case 'table':
        ns[entry.name] = new WebAssembly.Table({
          element: d.element === 'funcref' ? 'anyfunc' : 'externref',
          initial: d.limits.min,
          ...max(d.limits),
        });
        break;
      case 'global': {
        const value = d.type === 'i64' ? 0n : d.type === 'funcref' || d.type === 'externref' ? null : 0;
        const type = d.type === 'funcref' ? 'anyfunc' : d.type;
        ns[entry.name] = new WebAssembly.Global({ value: type, mutable: d.mutable } as WebAssembly.GlobalDescriptor, value);
        break;
      }
      case 'tag':
        throw new Error('tag imports are not supported by dummyImports');
    }
  }
  return imports;
}

function memoryOf(instance: WebAssembly.Instance): WebAssembly.Memory {
  const memory = instance.exports['memory'];
  if (!(memory instanceof WebAssembly.Memory)) throw new Error('module does not export "memory"');
  return memory;
}

function sameBytes(a: WebAssembly.Memory, b: WebAssembly.Memory): boolean {
  return a.buffer.byteLength === b.buffer.byteLength && Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
}

type Fn = (...args: number[]) => unknown;
function fn(instance: WebAssembly.Instance, name: string): Fn {
  const f = instance.exports[name];
  if (typeof f !== 'function') throw new Error(`no exported function ${name}`);
  return f as Fn;
}

// Result or trap class, so traps can be compared across instances.
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (error) {
    return { trap: error instanceof Error ? error.constructor.name : String(error) };
  }
}

interface Pair {
  plan: MemoryImagePlan;
  pool: MemoryPool;
  original: WebAssembly.Instance;
  pooled: WebAssembly.Instance;
  memory: WebAssembly.Memory;
}

/** Instantiates `bytes` normally and via plan + pool with the same imports. */
function instantiateBoth(bytes: Uint8Array, pool?: MemoryPool, plan?: MemoryImagePlan): Pair {
  plan ??= extractMemoryImage(bytes) ?? undefined;
  if (!plan) throw new Error('module is not poolable');
  pool ??= new MemoryPool(plan, { max: 2 });
  const imports = dummyImports(bytes, { 'env/log': () => {} });
  const original = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), imports);
  const memory = pool.acquire();
  const pooled = new WebAssembly.Instance(new WebAssembly.Module(plan.module), withPoolMemory(plan, imports, memory));
  return { plan, pool, original, pooled, memory };
}

const MAIN_WAT = `
(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 2 5)
  (@custom "kept" "custom payload")
  (data (i32.const 16) "hello, world")                      ;; 0
  (data (i32.const 20) "XYZ")                               ;; 1 overlaps 0
  (data (i32.const 65530) "\\01\\02\\03\\04\\05\\06\\07\\08")  ;; 2 crosses a page
  (data $passive "passive-bytes")                           ;; 3 passive
  (data (i32.const 1000) "tail\\00\\00")                    ;; 4 trailing zeros
  (data (i32.const 18) "\\00")                              ;; 5 zero over nonzero
  (data (i32.const 70000) "")                               ;; 6 empty
  (func $start
    ;; runs after data initialization, in both variants
    (i32.store (i32.const 2000) (i32.load (i32.const 16))))
  (start $start)
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "checksum") (result i32)
    (local $i i32) (local $sum i32) (local $end i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))
  (func (export "initPassive") (param $dst i32) (param $src i32) (param $n i32)
    (memory.init $passive (local.get $dst) (local.get $src) (local.get $n)))
  (func (export "initActive") (param $dst i32) (param $src i32) (param $n i32)
    ;; segment 0 was active, hence dropped after instantiation
    (memory.init 0 (local.get $dst) (local.get $src) (local.get $n)))
  (func (export "dropPassive") (data.drop $passive))
  (func (export "scribble")
    (call $log (i32.const 1))
    (memory.fill (i32.const 0) (i32.const 0xab) (i32.mul (memory.size) (i32.const 65536)))))
`;

// No import section in the source: the rewrite has to create one in the right place.
const NO_IMPORTS_WAT = `
(module
  (@custom "before-all" (before first) "x")
  (type $t (func (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "abc")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "scribble") (memory.fill (i32.const 0) (i32.const 0xcd) (i32.const 65536))))
`;

describe('binary', () => {
  it('round-trips LEB128 edge values', () => {
    const u32s = [0, 1, 127, 128, 255, 624485, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
    const s32s = [0, 1, -1, 63, 64, -64, -65, 127, -128, 2 ** 31 - 1, -(2 ** 31)];
    const w = new Writer();
    for (const v of u32s) w.u32(v);
    for (const v of s32s) w.s32(v);
    const r = new Reader(w.finish());
    expect(u32s.map(() => r.u32())).toEqual(u32s);
    expect(s32s.map(() => r.s32())).toEqual(s32s);
    expect(r.atEnd).toBe(true);
    expect(new Reader(Uint8Array.of(0xe5, 0x8e, 0x26)).u32()).toBe(624485);
    expect(new Reader(Uint8Array.of(0xc0, 0xbb, 0x78)).s32()).toBe(-123456);
    // Non-minimal but in-range encodings are valid.
    expect(new Reader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x00)).u32()).toBe(0);
    expect(new Reader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7f)).s32()).toBe(-1);
    expect(new Reader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).u64()).toBe(2n ** 63n);
    expect(new Reader(Uint8Array.of(0x7f)).s64()).toBe(-1n);
  });

  it('rejects overlong and out-of-range LEB128', () => {
    const bad: Array<[number[], (r: Reader) => unknown]> = [
      [[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], (r) => r.u32()],
      [[0xff, 0xff, 0xff, 0xff, 0x1f], (r) => r.u32()],
      [[0xff, 0xff, 0xff, 0xff, 0x4f], (r) => r.s32()],
      [[0x80, 0x80, 0x80, 0x80, 0x70], (r) => r.s32()],
      [[0x80], (r) => r.u32()],
    ];
    for (const [bytes, read] of bad) {
      expect(() => read(new Reader(Uint8Array.from(bytes)))).toThrow(WasmBinaryError);
    }
  });

  it('splits sections, keeps custom sections, rejects components', async () => {
    const bytes = await parse(NO_IMPORTS_WAT);
    const sections = readSections(bytes);
    expect(sections[0]).toMatchObject({ id: SectionId.custom, name: 'before-all' });
    expect(sections.map((s) => s.id)).toContain(SectionId.data);
    const component = await parse('(component)');
    expect(() => readSections(component)).toThrow(/component/);
    expect(() => readSections(Uint8Array.of(1, 2, 3))).toThrow(WasmBinaryError);
  });
});

describe('extractMemoryImage', () => {
  it('rewritten module + pool memory behaves exactly like the original', async () => {
    const bytes = await parse(MAIN_WAT);
    const { plan, pool, original, pooled, memory } = instantiateBoth(bytes);

    expect(WebAssembly.validate(plan.module)).toBe(true);
    expect(plan).toMatchObject({ initialPages: 2, maximumPages: 5, importModule: 'edge-agents:pool', importName: 'memory' });
    // Image stops at the last nonzero byte (segment 2 ends at 65538).
    expect(plan.image.length).toBe(65538);
    expect(new TextDecoder().decode(plan.image.subarray(16, 28))).toBe('he\0lXYZworld');

    // The memory import replaced the definition; it is re-exported unchanged.
    const rewrittenModule = new WebAssembly.Module(plan.module);
    expect(WebAssembly.Module.imports(rewrittenModule)).toContainEqual({ module: 'edge-agents:pool', name: 'memory', kind: 'memory' });
    expect(memoryOf(pooled)).toBe(memory);
    expect(WebAssembly.Module.customSections(rewrittenModule, 'kept')).toHaveLength(1);
    // Active segments are emptied, so the rewrite carries no copy of their data.
    expect(plan.module.length).toBeLessThan(bytes.length);

    expect(sameBytes(memoryOf(original), memory)).toBe(true);
    const a = (name: string, ...args: number[]) => outcome(() => fn(original, name)(...args));
    const b = (name: string, ...args: number[]) => outcome(() => fn(pooled, name)(...args));
    const calls: Array<[string, ...number[]]> = [
      ['size'],
      ['checksum'],
      ['load', 2000],
      ['load', 65537],
      ['load', 2 * PAGE], // out of bounds: traps in both
      ['initActive', 0, 0, 0], // dropped segment: only n = 0, s = 0 succeeds
      ['initActive', 0, 0, 1],
      ['initActive', 0, 1, 0],
      ['initPassive', 3000, 0, 13],
      ['initPassive', 3000, 10, 4], // beyond the segment: traps
      ['checksum'],
      ['dropPassive'],
      ['initPassive', 3000, 0, 1],
      ['grow', 3],
      ['grow', 1], // beyond maximum: -1
      ['size'],
      ['checksum'],
    ];
    for (const [name, ...args] of calls) {
      expect(b(name, ...args), `${name}(${args.join(', ')})`).toEqual(a(name, ...args));
    }
    expect(sameBytes(memoryOf(original), memory)).toBe(true);
    expect(pool.release(memory)).toBe(false); // it grew
  });

  it('discards memories that grew, keeps and resets the others', async () => {
    const bytes = await parse(NO_IMPORTS_WAT);
    const plan = extractMemoryImage(bytes);
    if (!plan) throw new Error('expected a plan');
    expect(WebAssembly.validate(plan.module)).toBe(true);
    const pool = new MemoryPool(plan, { max: 1 });

    const first = instantiateBoth(bytes, pool, plan);
    expect(fn(first.pooled, 'grow')(1)).toBe(1);
    expect(first.memory.buffer.byteLength).toBe(2 * PAGE);
    expect(pool.release(first.memory)).toBe(false);
    expect(pool.stats()).toMatchObject({ created: 1, reused: 0, discarded: 1, idle: 0 });

    const second = instantiateBoth(bytes, pool, plan);
    const third = instantiateBoth(bytes, pool, plan);
    expect(pool.release(second.memory)).toBe(true);
    expect(pool.release(third.memory)).toBe(false); // pool full
    expect(pool.stats()).toMatchObject({ created: 3, discarded: 1, overflow: 1, idle: 1 });
    expect(() => pool.release(second.memory)).toThrow(/twice/);
    expect(() => pool.release(new WebAssembly.Memory({ initial: 1 }))).toThrow(/not acquired/);
  });

  it('a memory the guest scribbled on comes back pristine', async () => {
    const bytes = await parse(MAIN_WAT);
    const plan = extractMemoryImage(bytes);
    if (!plan) throw new Error('expected a plan');
    const pool = new MemoryPool(plan, { max: 2 });

    const dirty = instantiateBoth(bytes, pool, plan);
    fn(dirty.pooled, 'scribble')();
    expect(fn(dirty.pooled, 'load')(70000)).toBe(0xab);
    expect(pool.release(dirty.memory)).toBe(true);

    const clean = instantiateBoth(bytes, pool, plan);
    expect(clean.memory).toBe(dirty.memory);
    expect(pool.stats()).toMatchObject({ created: 1, reused: 1, discarded: 0, idle: 0 });
    expect(clean.memory.buffer.byteLength).toBe(plan.initialPages * PAGE);
    expect(sameBytes(memoryOf(clean.original), clean.memory)).toBe(true);
    expect(fn(clean.pooled, 'checksum')()).toBe(fn(clean.original, 'checksum')());

    // prefill produces the same pristine memories.
    const prefilled = new MemoryPool(plan, { max: 3 });
    prefilled.prefill(5);
    expect(prefilled.stats().idle).toBe(3);
    const m = prefilled.acquire();
    const fresh = new Uint8Array(plan.initialPages * PAGE);
    fresh.set(plan.image);
    expect(Buffer.from(m.buffer).equals(fresh)).toBe(true);
  });

  it('returns null for modules that do not fit', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['imported memory', '(module (import "env" "memory" (memory 1)) (data (i32.const 0) "x"))', /imports a memory/],
      ['no memory', '(module (func (export "f")))', /no memory/],
      ['two memories', '(module (memory 1) (memory 1) (data (memory 1) (i32.const 0) "x"))', /2 memories/],
      ['global offset', '(module (import "env" "base" (global i32)) (memory 1) (data (global.get 0) "x"))', /global\.get/],
      ['extended-const offset', '(module (memory 1) (data (i32.add (i32.const 1) (i32.const 2)) "x"))', /single i32\.const/],
      ['shared memory', '(module (memory 1 1 shared))', /shared/],
      ['memory64', '(module (memory i64 1))', /64-bit/],
      ['out-of-bounds segment', '(module (memory 1) (data (i32.const 65535) "xy"))', /out of bounds/],
      ['name clash', '(module (import "edge-agents:pool" "memory" (func)) (memory 1))', /already imports/],
    ];
    for (const [label, wat, reason] of cases) {
      const bytes = await parse(wat);
      const analysis = analyzeMemoryImage(bytes);
      expect(analysis.ok, label).toBe(false);
      if (!analysis.ok) expect(analysis.reason, label).toMatch(reason);
      expect(extractMemoryImage(bytes), label).toBeNull();
    }
    // Malformed input is an error, not a "does not fit".
    expect(() => extractMemoryImage(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 10))).toThrow(WasmBinaryError);
  });

  it('honours custom import names and keeps a memory without maximum growable', async () => {
    const bytes = await parse('(module (memory (export "memory") 1) (data (i32.const 0) "\\ff"))');
    const plan = extractMemoryImage(bytes, { importModule: 'x', importName: 'y' });
    if (!plan) throw new Error('expected a plan');
    expect(plan.maximumPages).toBeUndefined();
    expect(Array.from(plan.image)).toEqual([0xff]);
    const module = new WebAssembly.Module(plan.module);
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'x', name: 'y', kind: 'memory' }]);
    const memory = new MemoryPool(plan, { max: 1 }).acquire();
    const instance = new WebAssembly.Instance(module, withPoolMemory(plan, undefined, memory));
    expect(memoryOf(instance).grow(10)).toBe(1);
  });
});

describe('shared pools (reset on another thread)', () => {
  /** Acquires until the pool hands out `memory` again (its off-thread reset finished), or fails. */
  const reacquire = (pool: MemoryPool, memory: WebAssembly.Memory): WebAssembly.Memory => {
    const held: WebAssembly.Memory[] = [];
    for (let i = 0; i < 8; i++) {
      const m = pool.acquire();
      if (m === memory) return m;
      held.push(m);
    }
    throw new Error(`memory not handed out again (held ${held.length})`);
  };

  it('behaves like the original module, and a scribbled memory comes back pristine', async () => {
    const bytes = await parse(MAIN_WAT);
    const plan = extractMemoryImage(bytes, { shared: true });
    if (!plan) throw new Error('expected a plan');
    expect(plan).toMatchObject({ shared: true, maximumPages: 5 });
    expect(WebAssembly.validate(plan.module)).toBe(true);
    const pool = new MemoryPool(plan, { max: 4 });
    const first = instantiateBoth(bytes, pool, plan);
    expect(first.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(sameBytes(memoryOf(first.original), first.memory)).toBe(true);
    expect(fn(first.pooled, 'checksum')()).toBe(fn(first.original, 'checksum')());
    fn(first.pooled, 'scribble')();
    expect(fn(first.pooled, 'load')(70000)).toBe(0xab);
    expect(pool.release(first.memory)).toBe(true);

    const again = reacquire(pool, first.memory);
    const fresh = new Uint8Array(plan.initialPages * PAGE);
    fresh.set(plan.image);
    expect(Buffer.from(again.buffer).equals(fresh)).toBe(true);
    // Spares were prepared on the other thread and are just as pristine.
    const spare = pool.acquire();
    expect(spare).not.toBe(again);
    expect(Buffer.from(spare.buffer).equals(fresh)).toBe(true);
    expect(pool.stats().reused).toBeGreaterThan(0);
  });

  it('gives a module without maximum one (4 GiB) and discards memories that grew', async () => {
    const bytes = await parse(NO_IMPORTS_WAT);
    const plan = extractMemoryImage(bytes, { shared: true });
    if (!plan) throw new Error('expected a plan');
    expect(plan.maximumPages).toBe(65536);
    const pool = new MemoryPool(plan, { max: 4 });
    const pair = instantiateBoth(bytes, pool, plan);
    expect(fn(pair.pooled, 'grow')(1)).toBe(1);
    expect(pool.release(pair.memory)).toBe(false);
    expect(pool.stats().discarded).toBe(1);
    expect(() => new MemoryPool({ ...plan, maximumPages: undefined }, { max: 1 })).toThrow(/maximum/);
  });

  it('shareMemoryImports makes memory imports shared and leaves other modules alone', async () => {
    const importer = new Uint8Array(
      await parse('(module (import "env" "memory" (memory 1)) (func (export "f") (result i32) (i32.load (i32.const 0))))'),
    );
    const rewritten = shareMemoryImports(importer)!;
    expect(WebAssembly.validate(rewritten)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    new Uint32Array(memory.buffer)[0] = 42;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(rewritten), { env: { memory } });
    expect(fn(instance, 'f')()).toBe(42);
    // The original refuses a shared memory: the rewrite is what makes it fit.
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(importer), { env: { memory } })).toThrow(/shared/);
    const plain = new Uint8Array(await parse('(module (func (export "g")))'));
    expect(shareMemoryImports(plain)).toBe(plain);
  });
});

describe('the real engine module of a built component (dist/api.wasm)', () => {
  it('rewrites, validates and instantiates to identical memory', async () => {
    const bytes = new Uint8Array((await coreModules(join(ROOT, 'dist/api.wasm'), DEFAULT_CACHE_DIR)).main);
    const plan = extractMemoryImage(bytes);
    if (!plan) throw new Error(`not poolable: ${JSON.stringify(analyzeMemoryImage(bytes))}`);
    expect(WebAssembly.validate(plan.module)).toBe(true);
    expect(plan.image.length).toBeLessThanOrEqual(plan.initialPages * PAGE);

    // Both instantiate with throwing function imports (the module has no start function).
    const { original, memory, pooled } = instantiateBoth(bytes, undefined, plan);
    expect(memoryOf(pooled)).toBe(memory);
    expect(sameBytes(memoryOf(original), memory)).toBe(true);
    expect(Buffer.from(plan.image).equals(Buffer.from(memory.buffer, 0, plan.image.length))).toBe(true);
    expect(Object.keys(pooled.exports)).toEqual(Object.keys(original.exports));
  });
});
