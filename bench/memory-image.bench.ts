// Instantiation cost of a core module: normal `new WebAssembly.Instance`
// versus MemoryPool.acquire + instantiating the rewritten module.
//
//   node bench/memory-image.bench.ts [core.wasm] [runs]
//
// Without a path it measures the engine module of the built api component (npm run build first).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CACHE_DIR } from '../host/app.ts';
import { coreModules } from '../host/component.ts';
import { readImports } from '../host/wasm/binary.ts';
import { MemoryPool, analyzeMemoryImage, withPoolMemory } from '../host/wasm/memory-image.ts';

const path = process.argv[2];
const runs = Number(process.argv[3] ?? 50);
const PAGE = 65536;

// Every function import throws; other imports get matching dummy objects.
function dummyImports(bytes: Uint8Array): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const entry of readImports(bytes)) {
    const ns = (imports[entry.module] ??= {});
    const d = entry.desc;
    switch (d.kind) {
      case 'function':
        ns[entry.name] = () => {
          throw new Error(`dummy import ${entry.module}/${entry.name} called`);
        };
        break;
      case 'memory':
        ns[entry.name] = new WebAssembly.Memory({
          initial: d.limits.min,
          ...(d.limits.max === undefined ? {} : { maximum: d.limits.max }),
        });
        break;
      case 'table':
        ns[entry.name] = new WebAssembly.Table({
          element: d.element === 'funcref' ? 'anyfunc' : 'externref',
          initial: d.limits.min,
          ...(d.limits.max === undefined ? {} : { maximum: d.limits.max }),
        });
        break;
      case 'global': {
        const value = d.type === 'i64' ? 0n : d.type === 'funcref' || d.type === 'externref' ? null : 0;
        ns[entry.name] = new WebAssembly.Global(
          { value: d.type === 'funcref' ? 'anyfunc' : d.type, mutable: d.mutable } as WebAssembly.GlobalDescriptor,
          value,
        );
        break;
      }
      case 'tag':
        throw new Error('tag imports are not supported by this bench');
    }
  }
  return imports;
}

function stats(samples: number[]): { median: number; p95: number; min: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), min: sorted[0] ?? NaN };
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const bytes = new Uint8Array(
  path ? readFileSync(path) : (await coreModules(join(import.meta.dirname, '../dist/api.wasm'), DEFAULT_CACHE_DIR)).main,
);
let t0 = performance.now();
const analysis = analyzeMemoryImage(bytes);
const analyzeMs = performance.now() - t0;
if (!analysis.ok) {
  console.error(`${path}: not poolable: ${analysis.reason}`);
  process.exit(1);
}
const plan = analysis.plan;
const imports = dummyImports(bytes);

t0 = performance.now();
const original = new WebAssembly.Module(bytes);
const compileOriginalMs = performance.now() - t0;
t0 = performance.now();
const rewritten = new WebAssembly.Module(plan.module);
const compileRewrittenMs = performance.now() - t0;

// Keep instances alive across a run so GC timing does not favour one side;
// drop them between runs.
const keep: unknown[] = [];
const settle = () => {
  keep.length = 0;
  globalThis.gc?.();
};

const rows: Array<[string, number[]]> = [];
const measure = (label: string, fn: () => void) => {
  for (let i = 0; i < 3; i++) fn(); // warm-up
  settle();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(time(fn));
    if (keep.length >= 8) settle();
  }
  settle();
  rows.push([label, samples]);
};

measure('original: new Instance', () => {
  keep.push(new WebAssembly.Instance(original, imports));
});

// Pool warm, release outside the timed region: the request-path cost.
const pool = new MemoryPool(plan, { max: 4 });
pool.prefill(4);
{
  const samples: number[] = [];
  const resets: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    let memory!: WebAssembly.Memory;
    const t = time(() => {
      memory = pool.acquire();
      keep.push(new WebAssembly.Instance(rewritten, withPoolMemory(plan, imports, memory)));
    });
    const r = time(() => pool.release(memory));
    if (i >= 3) {
      samples.push(t);
      resets.push(r);
    }
    if (keep.length >= 8) settle();
  }
  settle();
  rows.push(['pooled: acquire + new Instance', samples]);
  rows.push(['pooled: release (reset)', resets]);
}

// Pool with max 0: every acquire allocates and copies the image into unfaulted memory.
{
  const cold = new MemoryPool(plan, { max: 0 });
  measure('unpooled: new Memory + image + Instance', () => {
    const memory = cold.acquire();
    keep.push(new WebAssembly.Instance(rewritten, withPoolMemory(plan, imports, memory)));
  });
}

// Reset variants on one warm memory.
{
  const memory = new WebAssembly.Memory({ initial: plan.initialPages });
  const view = new Uint8Array(memory.buffer);
  view.fill(1);
  const image = plan.image;
  measure('reset: set(image) + fill(0, tail)', () => {
    view.set(image);
    view.fill(0, image.length);
  });
  measure('reset: fill(0) all + set(image)', () => {
    view.fill(0);
    view.set(image);
  });
  measure('new WebAssembly.Memory only', () => {
    keep.push(new WebAssembly.Memory({ initial: plan.initialPages }));
  });
}
console.log(`module ${path ?? 'dist/api.wasm (engine core module)'}`);
const fmt = (n: number) => n.toFixed(3).padStart(9);
console.log(`module ${path ?? 'dist/api.wasm (engine core module)'}`);
console.log(
  `  ${bytes.length} bytes -> rewritten ${plan.module.length} bytes; image ${plan.image.length} bytes; ` +
    `initial ${plan.initialPages} pages (${plan.initialPages * PAGE} bytes), max ${plan.maximumPages ?? 'none'}`,
);
console.log(
  `  analyze ${analyzeMs.toFixed(1)} ms; compile original ${compileOriginalMs.toFixed(1)} ms, rewritten ${compileRewrittenMs.toFixed(1)} ms; runs ${runs}` +
    (globalThis.gc ? '' : ' (run with --expose-gc for steadier numbers)'),
);
console.log(`  ${'case'.padEnd(44)} ${'median ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'min ms'.padStart(9)}`);
for (const [label, samples] of rows) {
  const s = stats(samples);
  console.log(`  ${label.padEnd(44)} ${fmt(s.median)} ${fmt(s.p95)} ${fmt(s.min)}`);
}
console.log(`  pool stats ${JSON.stringify(pool.stats())}`);
