/**
 * Loading a Wasm component and creating fresh instances of it.
 *
 * A component is transpiled once with jco (cached on disk by content hash), its core modules are compiled once,
 * and every request gets a new instance, as on Spin. Two things keep that cheap on V8:
 * - the generated glue is imported once and its `instantiate` is called per request with already-compiled modules;
 * - the main core module is rewritten to import its memory, so instantiation copies no data segments: a pooled
 *   memory is reset to the pristine image instead (see `wasm/memory-image.ts`), on another thread when the memory
 *   can be shared (it always can with componentize-js output).
 *
 * The transpiler is `@bytecodealliance/jco-transpile` 0.1.1, pinned: its glue is the last before jco wrapped every
 * import call in component-model-async task bookkeeping (jco ≥ 1.16, jco-transpile ≥ 0.3), which made each
 * instance ~3× the glue (33k lines), a request ~60% slower on this host and the garbage collector busier. Hot
 * imports bypass the glue altogether through hand-written lowerings (`wasi/lower.ts`).
 *
 * Blocking WASI and Spin calls are JSPI suspension points (`asyncImports`), so an instance waiting on I/O leaves
 * the event loop free for other requests.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import v8 from 'node:v8';
import { pathToFileURL } from 'node:url';
import { HostError } from './errors.ts';
import { extractMemoryImage, MemoryPool, shareMemoryImports } from './wasm/memory-image.ts';

/**
 * V8 tiers a Wasm function up from its baseline compiler to the optimising one after it has run "13 MB of code"
 * (its default budget), counted per instance. Every request runs in a fresh instance, so hot engine functions would
 * stay on the baseline tier for a long time, each instance paying for their feedback vectors again. A small budget
 * gets them optimised within the first requests (measured: router p50 and p95 ~1 ms lower, ~15% less CPU per
 * request). Set before any module is compiled; the optimised code is shared by all instances of a module.
 */
v8.setFlagsFromString('--wasm-tiering-budget=50000');

/** Imports that may suspend the guest (host returns a Promise). Unversioned names match every 0.2.x import. */
export const ASYNC_IMPORTS = [
  'wasi:io/poll#poll',
  'wasi:io/poll#[method]pollable.block',
  'wasi:io/streams#[method]input-stream.blocking-read',
  'wasi:io/streams#[method]input-stream.blocking-skip',
  'wasi:io/streams#[method]output-stream.blocking-write-and-flush',
  'wasi:io/streams#[method]output-stream.blocking-flush',
  'wasi:io/streams#[method]output-stream.blocking-write-zeroes-and-flush',
  'wasi:io/streams#[method]output-stream.blocking-splice',
  ...['get', 'set', 'delete', 'exists', 'get-keys'].map((f) => `fermyon:spin/key-value#[method]store.${f}`),
  ...['get', 'set', 'delete', 'exists', 'list-keys'].map((f) => `wasi:keyvalue/store#[method]bucket.${f}`),
  ...['[static]cas.new', 'increment', 'swap'].map((f) => `wasi:keyvalue/atomics#${f}`),
  ...['get-many', 'set-many', 'delete-many'].map((f) => `wasi:keyvalue/batch#${f}`),
  'fermyon:spin/llm#infer',
  'fermyon:spin/llm#generate-embeddings',
  'fermyon:spin/postgres#[static]connection.open',
  'fermyon:spin/postgres#[method]connection.query',
  'fermyon:spin/postgres#[method]connection.execute',
  'spin:postgres/postgres#[static]connection.open',
  'spin:postgres/postgres#[method]connection.query',
  'spin:postgres/postgres#[method]connection.execute',
  'fermyon:spin/redis#[static]connection.open',
  ...['publish', 'get', 'set', 'incr', 'del', 'sadd', 'smembers', 'srem', 'execute'].map(
    (f) => `fermyon:spin/redis#[method]connection.${f}`,
  ),
];

const EXPORT = 'wasi:http/incoming-handler#handle';

/** How often idle pooled memories beyond recent demand are given back, and over how many intervals demand counts. */
const POOL_TRIM_INTERVAL_MS = 10_000;
const POOL_TRIM_WINDOWS = 6;

/** Bump when the transpile options or the host's expectations of the glue change. */
const CACHE_VERSION = 'v5';

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => { exports: WebAssembly.Exports },
) => unknown;

/** The exports of an instance of an HTTP component. */
export interface HttpExports {
  incomingHandler: { handle(request: unknown, responseOut: unknown): Promise<void> };
}

/** One live instance and the way to give back what it borrowed. */
export interface Instance {
  exports: HttpExports;
  /** Call once the instance is finished; its memory goes back to the pool. */
  release(): void;
}

export interface LoadOptions {
  /** Directory for transpiled glue, keyed by content hash. */
  cacheDir: string;
  /** Hard cap on idle reset memories per component (each is the component's initial memory size). */
  poolSize?: number;
  /**
   * Runtime config `max_instance_memory`: an instance's linear memory may not grow past this many bytes (growth fails
   * and the guest sees an out-of-memory), as on Spin. Undefined: the module's own limit.
   */
  maxInstanceMemory?: number | undefined;
}

/** Pool statistics, for benchmarks and `/info`-style diagnostics. */
export interface ComponentStats {
  instances: number;
  pooledMemory: boolean;
  pool?: ReturnType<MemoryPool['stats']>;
}

interface Pooled {
  module: WebAssembly.Module;
  pool: MemoryPool;
  importModule: string;
  importName: string;
}

/**
 * The compiled form of one `.wasm` file, shared by every component (and app) in the process that uses the same
 * bytes: transpiled glue, compiled core modules and the memory pool. Reference-counted by {@link LoadedComponent}.
 */
class Compiled {
  readonly imports: string[];
  readonly #instantiate: Instantiate;
  readonly #modules: Map<string, WebAssembly.Module>;
  readonly #pooled: Pooled | undefined;
  readonly #onRelease: () => void;
  #refs = 0;
  #instances = 0;
  #inUse = 0;
  #peak = 0;
  /** Peak demand of each of the last POOL_TRIM_WINDOWS intervals. */
  readonly #peaks: number[] = [];
  #trimTimer: NodeJS.Timeout | undefined;

  constructor(
    imports: string[],
    instantiate: Instantiate,
    modules: Map<string, WebAssembly.Module>,
    pooled: Pooled | undefined,
    onRelease: () => void,
  ) {
    this.imports = imports;
    this.#instantiate = instantiate;
    this.#modules = modules;
    this.#pooled = pooled;
    this.#onRelease = onRelease;
    if (pooled) {
      // The pool follows demand: it keeps as many idle memories as the busiest moment of the last minute needed
      // beyond what is in use now, so a repeated burst is served from warm memories (a new one costs ~10 ms of
      // page faults on the event loop) and an idle host gives them back.
      this.#trimTimer = setInterval(() => {
        this.#peaks.push(this.#peak);
        if (this.#peaks.length > POOL_TRIM_WINDOWS) this.#peaks.shift();
        pooled.pool.trim(Math.max(0, Math.max(...this.#peaks) - this.#inUse));
        this.#peak = this.#inUse;
      }, POOL_TRIM_INTERVAL_MS);
      this.#trimTimer.unref();
    }
  }

  ref(): this {
    this.#refs++;
    return this;
  }

  unref(): void {
    if (--this.#refs > 0) return;
    clearInterval(this.#trimTimer);
    this.#pooled?.pool.clear();
    this.#onRelease();
  }

  instantiate(imports: Record<string, unknown>): Instance {
    const pooled = this.#pooled;
    let memory: WebAssembly.Memory | undefined;
    const instantiateCore = (module: WebAssembly.Module, coreImports: WebAssembly.Imports = {}) => {
      if (pooled && module === pooled.module) {
        memory = pooled.pool.acquire();
        this.#inUse++;
        if (this.#inUse > this.#peak) this.#peak = this.#inUse;
        coreImports = { ...coreImports, [pooled.importModule]: { [pooled.importName]: memory } };
      }
      return { exports: new WebAssembly.Instance(module, coreImports).exports };
    };
    const giveBack = (m: WebAssembly.Memory) => {
      this.#inUse--;
      pooled!.pool.release(m);
    };
    let exports: HttpExports;
    try {
      exports = this.#instantiate((name) => this.#modules.get(name)!, imports, instantiateCore) as HttpExports;
    } catch (err) {
      if (memory) giveBack(memory);
      throw err;
    }
    this.#instances++;
    let released = false;
    return {
      exports,
      release: () => {
        if (released) return;
        released = true;
        // The reset (a 16 MiB copy for a typical component) runs after the response has been handed to the
        // socket, not in front of it.
        const m = memory;
        if (m) setImmediate(() => giveBack(m));
      },
    };
  }

  stats(): ComponentStats {
    return {
      instances: this.#instances,
      pooledMemory: this.#pooled !== undefined,
      ...(this.#pooled ? { pool: this.#pooled.pool.stats() } : {}),
    };
  }
}

const compiledCache = new Map<string, Promise<Compiled>>();

async function compile(
  id: string,
  bytes: Uint8Array,
  dir: string,
  poolSize: number,
  maxPages: number | undefined,
  onRelease: () => void,
): Promise<Compiled> {
  const meta = await transpileCached(id, bytes, dir);
  const { instantiate } = (await import(pathToFileURL(join(dir, 'component.js')).href)) as { instantiate: Instantiate };
  const modules = new Map<string, WebAssembly.Module>();
  let pooled: Pooled | undefined;
  const codes = new Map(await Promise.all(meta.coreModules.map(async (name) => [name, await readFile(join(dir, name))] as const)));
  // A shared memory lets the pool reset it on another thread, off the request path; every module the memory is
  // passed to must then import it as shared. Unshared (reset on this thread) if any of them cannot be rewritten.
  const others = new Map<string, Uint8Array<ArrayBuffer> | null>();
  for (const [name, code] of codes) if (name !== meta.mainModule) others.set(name, shareMemoryImports(code));
  const canShare = [...others.values()].every((m) => m !== null);
  const main = codes.get(meta.mainModule)!;
  const extracted = extractMemoryImage(main, { shared: canShare });
  const shared = canShare && extracted !== null;
  // Never below the initial size: the engine's snapshot heap has to fit before any limit can apply.
  const plan =
    extracted && maxPages !== undefined
      ? { ...extracted, maximumPages: Math.max(extracted.initialPages, Math.min(extracted.maximumPages ?? 65536, maxPages)) }
      : extracted;
  await Promise.all(
    [...codes].map(async ([name, code]) => {
      if (name !== meta.mainModule) modules.set(name, await WebAssembly.compile(shared ? others.get(name)! : code));
      else if (!plan) modules.set(name, await WebAssembly.compile(code));
      else {
        const module = await WebAssembly.compile(plan.module);
        pooled = { module, pool: new MemoryPool(plan, { max: poolSize }), importModule: plan.importModule, importName: plan.importName };
        modules.set(name, module);
      }
    }),
  );
  return new Compiled(meta.imports, instantiate, modules, pooled, onRelease);
}

/** A component of an app: its id and the compiled `.wasm` it runs. */
export class LoadedComponent {
  readonly id: string;
  readonly wasmPath: string;
  readonly #compiled: Compiled;
  #disposed = false;

  private constructor(id: string, wasmPath: string, compiled: Compiled) {
    this.id = id;
    this.wasmPath = wasmPath;
    this.#compiled = compiled;
  }

  /** The component's imports, as jco lists them (`wasi:io/poll@0.2.12`, …). */
  get imports(): readonly string[] {
    return this.#compiled.imports;
  }

  /**
   * Transpiles (or reuses the cached transpilation of) a component and compiles its core modules. Components
   * with identical bytes share the compiled form.
   */
  static async load(id: string, wasmPath: string, options: LoadOptions): Promise<LoadedComponent> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(wasmPath);
    } catch (cause) {
      throw new HostError(`component '${id}': cannot read ${wasmPath}`, {
        code: 'component-missing',
        hint: 'has `npm run build` been run? It builds every component into dist/',
        cause,
      });
    }
    const hash = createHash('sha256').update(bytes).update(CACHE_VERSION).digest('hex').slice(0, 32);
    const dir = join(options.cacheDir, hash);
    // Whole pages, and never below what the module needs to start.
    const maxPages = options.maxInstanceMemory === undefined ? undefined : Math.max(1, Math.floor(options.maxInstanceMemory / 65536));
    const key = maxPages === undefined ? dir : `${dir}#${maxPages}`;
    let pending = compiledCache.get(key);
    if (!pending) {
      pending = compile(id, bytes, dir, options.poolSize ?? 64, maxPages, () => compiledCache.delete(key));
      compiledCache.set(key, pending);
      pending.catch(() => compiledCache.delete(key));
    }
    return new LoadedComponent(id, wasmPath, (await pending).ref());
  }

  /** Creates a fresh instance with the given import object. */
  instantiate(imports: Record<string, unknown>): Instance {
    return this.#compiled.instantiate(imports);
  }

  /** Gives up this component's share of the compiled form (its pool and timers go when the last one does). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#compiled.unref();
  }

  /** Counters of the compiled form, shared with components that run the same bytes. */
  stats(): ComponentStats {
    return this.#compiled.stats();
  }
}

/**
 * The core modules jco split a component into (transpiling it into `cacheDir` if needed), the largest first:
 * that one is the engine with its snapshot heap, the one the memory pool rewrites.
 */
export async function coreModules(wasmPath: string, cacheDir: string): Promise<{ main: Uint8Array; paths: string[] }> {
  const bytes = await readFile(wasmPath);
  const hash = createHash('sha256').update(bytes).update(CACHE_VERSION).digest('hex').slice(0, 32);
  const dir = join(cacheDir, hash);
  const meta = await transpileCached(wasmPath, bytes, dir);
  return { main: await readFile(join(dir, meta.mainModule)), paths: meta.coreModules.map((m) => join(dir, m)) };
}

interface TranspileMeta {
  coreModules: string[];
  mainModule: string;
  imports: string[];
  exports: string[];
}

async function transpileCached(id: string, bytes: Uint8Array, dir: string): Promise<TranspileMeta> {
  const metaPath = join(dir, 'meta.json');
  if (existsSync(metaPath)) return JSON.parse(await readFile(metaPath, 'utf8')) as TranspileMeta;

  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  let out: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    out = await transpileBytes(bytes, {
      name: 'component',
      instantiation: 'async',
      asyncMode: 'jspi',
      asyncImports: ASYNC_IMPORTS,
      asyncExports: [EXPORT],
      wasiShim: false,
      emitTypescriptDeclarations: false,
      base64Cutoff: 0,
      // Imports that carry a hand-written lowering (host/wasi/lower.ts) skip the generic glue.
      importBindings: 'hybrid',
    });
  } catch (cause) {
    throw new HostError(`component '${id}': jco could not transpile it`, {
      code: 'component-invalid',
      hint: 'is it a WebAssembly component exporting wasi:http/incoming-handler@0.2.x?',
      cause,
    });
  }
  const exportNames = out.exports.map(([name]) => name);
  if (!exportNames.some((n) => n.startsWith('wasi:http/incoming-handler@0.2'))) {
    throw new HostError(`component '${id}' does not export wasi:http/incoming-handler@0.2.x (exports: ${exportNames.join(', ')})`, {
      code: 'component-invalid',
      hint: 'HTTP components must export wasi:http/incoming-handler; this host does not run the legacy fermyon:spin/inbound-http',
    });
  }
  // Write into a temporary directory and rename, so concurrent hosts never see a half-written cache entry.
  const tmp = `${dir}.tmp-${process.pid}-${randomUUID()}`;
  await mkdir(tmp, { recursive: true });
  const coreModules: string[] = [];
  let mainModule = '';
  let mainSize = -1;
  for (const [name, data] of Object.entries(out.files)) {
    if (name.endsWith('.d.ts')) continue;
    await writeFile(join(tmp, name), name === 'component.js' ? adaptGlue(data) : data);
    if (name.endsWith('.wasm')) {
      coreModules.push(name);
      if (data.length > mainSize) {
        mainSize = data.length;
        mainModule = name;
      }
    }
  }
  const meta: TranspileMeta = { coreModules, mainModule, imports: out.imports, exports: exportNames };
  await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
  try {
    await rename(tmp, dir);
  } catch {
    // Another process won the race; use its copy.
    await rm(tmp, { recursive: true, force: true });
  }
  return meta;
}

/**
 * Two small rewrites of jco's generated glue, each a no-op if the pattern is absent:
 * - In hybrid mode the glue probes every import for a hand-written lowering at instantiation (`if
 *   (Fields.prototype.append[symbolCabiLower])`), which throws for a function the host does not implement although
 *   the guest may never call it. Probing with `?.` restores the default behaviour: a missing function fails only
 *   when it is called.
 * - `_debugLog` reads `process.env.JCO_DEBUG` on every call, hundreds of times per request (each a getenv through
 *   an interceptor), and its callers build their argument objects regardless. Deciding once per instance lets V8
 *   inline the empty function and drop those objects.
 */
function adaptGlue(js: Uint8Array): Uint8Array {
  const text = new TextDecoder()
    .decode(js)
    .replace(/if \(([\w$.]+)\[symbolCabiLower\]\)/g, 'if ($1?.[symbolCabiLower])')
    .replace(
      /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};?/,
      'const _debugLog = globalThis?.process?.env?.JCO_DEBUG ? (...args) => console.debug(...args) : () => {};',
    );
  return new TextEncoder().encode(text);
}
