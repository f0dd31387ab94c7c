/**
 * Userland "pooling allocator" for fresh-instance-per-request on V8.
 *
 * V8 applies a module's active data segments by eagerly copying them into a
 * freshly mmapped (not yet faulted) linear memory on every `new
 * WebAssembly.Instance`; for StarlingMonkey that is ~11 MB of data into ~16 MB
 * of memory, ~10 ms per instance. Wasmtime avoids this by mapping the
 * initial image copy-on-write. We approximate it: the module is rewritten to
 * import its memory and its active segments become (empty) passive ones, the
 * pristine initial memory image is kept aside, and each instance gets an
 * already-faulted memory from a pool that was reset to that image.
 *
 * @module
 */
import {
  Reader,
  SectionId,
  WasmBinaryError,
  Writer,
  insertionIndex,
  readImportSection,
  readLimits,
  readSections,
  writeImportEntry,
  writeModule,
  type ImportEntry,
  type SectionOut,
} from './binary.ts';
import { Worker } from 'node:worker_threads';

const PAGE_SIZE = 65536;
/** 4 GiB: the most a 32-bit memory can have. */
const MAX_PAGES = 65536;
/** Memories a shared pool keeps ready or being reset beyond those in use. */
const SPARES = 1;

/** Result of {@link extractMemoryImage}: a rewritten module plus the memory it expects. */
export interface MemoryImagePlan {
  /** The rewritten module: imports its memory, no active data segments. */
  module: Uint8Array<ArrayBuffer>;
  /** Initial memory contents from address 0 up to the last nonzero byte; the rest is zero. */
  image: Uint8Array<ArrayBuffer>;
  initialPages: number;
  maximumPages: number | undefined;
  /** Import namespace/name under which the rewritten module expects its memory. */
  importModule: string;
  importName: string;
  /** Whether the module imports a shared memory (see {@link MemoryImageOptions.shared}). */
  shared: boolean;
}

export interface MemoryImageOptions {
  importModule?: string;
  importName?: string;
  /**
   * Declare the imported memory `shared` (with a maximum, 4 GiB if the module had none), so a {@link MemoryPool}
   * with `shared: true` can reset it on another thread. For a single-threaded guest nothing else changes.
   */
  shared?: boolean;
}

/** Like {@link extractMemoryImage}, but says why a module does not fit. */
export type MemoryImageAnalysis = { ok: true; plan: MemoryImagePlan } | { ok: false; reason: string };

/**
 * Rewrites a core module so its single defined memory becomes an import and
 * its initial contents can be supplied from a {@link MemoryPool}. Returns
 * null when the module does not fit (imported/multiple/shared/64-bit memory,
 * non-constant or out-of-bounds segment offsets, unsupported binary
 * features); the caller should then instantiate the original module.
 * Throws {@link WasmBinaryError} only for malformed binaries.
 */
export function extractMemoryImage(module: Uint8Array, opts?: MemoryImageOptions): MemoryImagePlan | null {
  const result = analyzeMemoryImage(module, opts);
  return result.ok ? result.plan : null;
}

/** See {@link extractMemoryImage}. */
export function analyzeMemoryImage(module: Uint8Array, opts: MemoryImageOptions = {}): MemoryImageAnalysis {
  try {
    return analyze(module, opts.importModule ?? 'edge-agents:pool', opts.importName ?? 'memory', opts.shared ?? false);
  } catch (error) {
    if (error instanceof WasmBinaryError && error.kind === 'unsupported') return { ok: false, reason: error.message };
    throw error;
  }
}

interface Segment {
  offset: number | undefined; // undefined: passive
  bytes: Uint8Array;
}

function analyze(module: Uint8Array, importModule: string, importName: string, shared: boolean): MemoryImageAnalysis {
  const fail = (reason: string): MemoryImageAnalysis => ({ ok: false, reason });
  const sections = readSections(module);
  const find = (id: number) => sections.find((s) => s.id === id);

  const importSection = find(SectionId.import);
  const imports = importSection ? readImportSection(importSection.payload) : [];
  if (imports.some((i) => i.desc.kind === 'memory')) return fail('module imports a memory');
  if (imports.some((i) => i.module === importModule && i.name === importName)) {
    return fail(`module already imports ${importModule}/${importName}`);
  }

  const memorySection = find(SectionId.memory);
  if (!memorySection) return fail('module defines no memory');
  const memReader = new Reader(memorySection.payload);
  const memoryCount = memReader.u32();
  if (memoryCount !== 1) return fail(`module defines ${memoryCount} memories`);
  const limits = readLimits(memReader);
  if (!memReader.atEnd) throw new WasmBinaryError('malformed', 'trailing bytes in memory section');
  if (limits.index64) return fail('memory is 64-bit');
  if (limits.shared) return fail('memory is shared');
  const memoryBytes = limits.min * PAGE_SIZE;

  const dataSection = find(SectionId.data);
  const segments: Segment[] = [];
  if (dataSection) {
    const reader = new Reader(dataSection.payload);
    const count = reader.u32();
    for (let i = 0; i < count; i++) {
      const at = reader.pos;
      const flags = reader.u32();
      if (flags === 1) {
        segments.push({ offset: undefined, bytes: reader.vecBytes() });
        continue;
      }
      if (flags !== 0 && flags !== 2) throw new WasmBinaryError('malformed', `data segment flags ${flags}`, at);
      const memoryIndex = flags === 2 ? reader.u32() : 0;
      if (memoryIndex !== 0) return fail(`data segment ${i} targets memory ${memoryIndex}`);
      const offset = readConstOffset(reader);
      if (typeof offset === 'string') return fail(`data segment ${i}: ${offset}`);
      const bytes = reader.vecBytes();
      // Normal instantiation would trap; leave that to the original module.
      if (offset + bytes.length > memoryBytes) return fail(`data segment ${i} is out of bounds`);
      segments.push({ offset, bytes });
    }
    if (!reader.atEnd) throw new WasmBinaryError('malformed', 'trailing bytes in data section');
  }

  const out: SectionOut[] = [];
  const imported = shared ? { ...limits, shared: true, max: limits.max ?? MAX_PAGES } : limits;
  const newImport: ImportEntry = { module: importModule, name: importName, desc: { kind: 'memory', limits: imported } };
  const importPayload = (): Uint8Array => {
    const w = new Writer().u32(imports.length + 1);
    // Existing entries are copied verbatim; only the count prefix changes.
    if (importSection) w.bytes(importSection.payload.subarray(skipU32(importSection.payload)));
    writeImportEntry(w, newImport);
    return w.finish();
  };
  const insertImportAt = importSection ? -1 : insertionIndex(sections, SectionId.import);
  sections.forEach((section, index) => {
    if (index === insertImportAt) out.push({ id: SectionId.import, payload: importPayload() });
    switch (section.id) {
      case SectionId.import:
        out.push({ id: SectionId.import, payload: importPayload() });
        return;
      case SectionId.memory:
        // Its only entry became the import, which keeps memory index 0.
        return;
      case SectionId.data:
        out.push({ id: SectionId.data, payload: passiveDataPayload(segments) });
        return;
      default:
        out.push({ raw: module.subarray(section.start, section.end) });
    }
  });
  if (insertImportAt === sections.length) out.push({ id: SectionId.import, payload: importPayload() });

  return {
    ok: true,
    plan: {
      module: writeModule(out),
      image: buildImage(segments),
      initialPages: limits.min,
      maximumPages: imported.max,
      shared,
      importModule,
      importName,
    },
  };
}

/** Reads a data offset expression; returns the offset or why it is not usable. */
function readConstOffset(reader: Reader): number | string {
  const at = reader.pos;
  const op = reader.u8();
  if (op === 0x23) return 'offset uses global.get';
  if (op !== 0x41) return `offset expression starts with opcode 0x${op.toString(16)}, not i32.const`;
  const value = reader.s32() >>> 0;
  const end = reader.u8();
  if (end !== 0x0b) {
    // extended-const (i32.add etc.) or garbage
    return `offset expression at byte ${at} is not a single i32.const`;
  }
  return value;
}

function skipU32(payload: Uint8Array): number {
  const reader = new Reader(payload);
  reader.u32();
  return reader.pos;
}

// Active segments become empty passive segments rather than passive copies of
// their bytes: after instantiation an active segment counts as dropped, and a
// dropped segment behaves exactly like an empty one (memory.init traps unless
// n = 0 and s = 0, data.drop is a no-op). Indices and the data count section
// stay valid, and the rewritten module no longer carries the data twice.
function passiveDataPayload(segments: readonly Segment[]): Uint8Array {
  const w = new Writer().u32(segments.length);
  for (const segment of segments) {
    w.u32(1).vecBytes(segment.offset === undefined ? segment.bytes : new Uint8Array(0));
  }
  return w.finish();
}

function buildImage(segments: readonly Segment[]): Uint8Array<ArrayBuffer> {
  let end = 0;
  for (const s of segments) {
    if (s.offset !== undefined && s.bytes.length > 0) end = Math.max(end, s.offset + s.bytes.length);
  }
  const image = new Uint8Array(end);
  // In order: later segments overwrite earlier ones, like instantiation does.
  for (const s of segments) if (s.offset !== undefined && s.bytes.length > 0) image.set(s.bytes, s.offset);
  let last = image.length;
  while (last > 0 && image[last - 1] === 0) last--;
  return last === image.length ? image : image.slice(0, last);
}

/**
 * Returns a copy of `imports` with `memory` added under the plan's import
 * name, for instantiating `plan.module`.
 */
export function withPoolMemory(
  plan: Pick<MemoryImagePlan, 'importModule' | 'importName'>,
  imports: WebAssembly.Imports | undefined,
  memory: WebAssembly.Memory,
): WebAssembly.Imports {
  return {
    ...imports,
    [plan.importModule]: { ...imports?.[plan.importModule], [plan.importName]: memory },
  };
}

/** Counters for benchmarks and diagnostics. */
export interface MemoryPoolStats {
  /** Memories allocated because the pool was empty. */
  created: number;
  /** Acquires served from the pool. */
  reused: number;
  /** Released memories dropped because the guest grew them. */
  discarded: number;
  /** Released memories dropped because the pool already held `max`. */
  overflow: number;
  /** Acquires that waited for an off-thread reset to finish. */
  waited: number;
  /** Memories currently idle in the pool. */
  idle: number;
}

/** A shared memory being reset on the resetter thread; `done[0]` becomes 1 when it is pristine again. */
interface Resetting {
  memory: WebAssembly.Memory;
  done: Int32Array;
}

/**
 * The thread that resets shared memories: one per process, started on first use, never keeping the process alive.
 * It copies the image and zeroes the rest, then flips the memory's flag; the pool polls flags instead of waiting for
 * messages, so a reset costs the event loop one `postMessage`.
 */
let resetter: Worker | undefined;

const RESETTER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ memory, image, imageLength, done }) => {
  const bytes = new Uint8Array(memory);
  bytes.set(new Uint8Array(image, 0, imageLength));
  bytes.fill(0, imageLength);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
});
`;

function resetOffThread(job: { memory: SharedArrayBuffer; image: SharedArrayBuffer; imageLength: number; done: Int32Array }): void {
  if (!resetter) {
    resetter = new Worker(RESETTER_SOURCE, { eval: true, name: 'edge-agents memory reset' });
    resetter.unref();
    resetter.on('error', (err) => {
      // Never expected; memories in flight stay unusable and the pool creates fresh ones.
      process.emitWarning(`memory reset thread failed: ${err instanceof Error ? err.message : String(err)}`);
      resetter = undefined;
    });
  }
  resetter.postMessage(job);
}

/**
 * Pool of linear memories that all start out as a pristine copy of a
 * {@link MemoryImagePlan}'s initial memory. Memories are reset on release, so
 * `acquire` hands out a ready memory without copying on the request path.
 * A released memory must no longer be used by the instance it came from.
 *
 * With `shared: true` (a plan made with {@link MemoryImageOptions.shared}) the reset, a copy of the whole initial
 * memory (~1.3 ms for 16 MiB), runs on another thread instead of the event loop; `acquire` takes a memory whose
 * reset has finished and waits for the oldest one only when none has.
 */
export class MemoryPool {
  readonly #initialPages: number;
  readonly #maximumPages: number | undefined;
  readonly #image: Uint8Array;
  readonly #sharedImage: SharedArrayBuffer | undefined;
  readonly #max: number;
  readonly #idle: WebAssembly.Memory[] = [];
  readonly #resetting: Resetting[] = [];
  readonly #owned = new WeakSet<WebAssembly.Memory>();
  readonly #stats = { created: 0, reused: 0, discarded: 0, overflow: 0, waited: 0 };

  constructor(
    plan: { initialPages: number; maximumPages: number | undefined; image: Uint8Array; shared?: boolean },
    opts: { max: number },
  ) {
    if (!Number.isInteger(opts.max) || opts.max < 0) throw new RangeError(`invalid pool max: ${opts.max}`);
    if (plan.image.length > plan.initialPages * PAGE_SIZE) throw new RangeError('image larger than initial memory');
    if (plan.shared && plan.maximumPages === undefined) throw new RangeError('a shared memory needs a maximum');
    this.#initialPages = plan.initialPages;
    this.#maximumPages = plan.maximumPages;
    this.#image = plan.image;
    if (plan.shared) {
      this.#sharedImage = new SharedArrayBuffer(plan.image.length);
      new Uint8Array(this.#sharedImage).set(plan.image);
    }
    this.#max = opts.max;
  }

  /** A memory of exactly `initialPages` whose contents are the image followed by zeros. */
  acquire(): WebAssembly.Memory {
    this.#harvest();
    let memory = this.#idle.pop();
    if (!memory && this.#resetting.length > 0) {
      // Every memory is still being reset or prepared: wait for the oldest (a reset takes ~1-2 ms) rather than
      // create one here (~10 ms of page faults on this thread).
      const oldest = this.#resetting.shift()!;
      Atomics.wait(oldest.done, 0, 0);
      this.#stats.waited++;
      memory = oldest.memory;
    }
    if (memory) this.#stats.reused++;
    else {
      this.#stats.created++;
      memory = this.#create(false);
    }
    this.#prepareSpares();
    return memory;
  }

  /**
   * Returns a memory to the pool. Grown memories are discarded; others are
   * reset (on this thread, or on the resetter thread for shared memories) and
   * kept while the pool holds fewer than `max`. Returns whether it was kept.
   */
  release(memory: WebAssembly.Memory): boolean {
    if (!this.#owned.has(memory)) throw new Error('memory was not acquired from this pool');
    if (this.#idle.includes(memory) || this.#resetting.some((r) => r.memory === memory)) throw new Error('memory released twice');
    if (memory.buffer.byteLength !== this.#initialPages * PAGE_SIZE) {
      this.#owned.delete(memory);
      this.#stats.discarded++;
      return false;
    }
    if (this.#idle.length + this.#resetting.length >= this.#max) {
      this.#owned.delete(memory);
      this.#stats.overflow++;
      return false;
    }
    if (this.#sharedImage) {
      this.#resetShared(memory);
      return true;
    }
    this.#reset(memory);
    this.#idle.push(memory);
    return true;
  }

  /**
   * Fills the pool up to `count` (capped at `max`) idle memories, writing
   * every page so the first requests do not pay for page faults.
   */
  prefill(count: number): void {
    const target = Math.min(count, this.#max);
    while (this.#idle.length + this.#resetting.length < target) this.#idle.push(this.#create(true));
  }

  /** Drops idle memories beyond `keep` (the ones released longest ago go first). */
  trim(keep: number): void {
    this.#harvest();
    const drop = this.#idle.splice(0, Math.max(0, this.#idle.length - keep));
    for (const memory of drop) this.#owned.delete(memory);
  }

  /** Drops all idle memories, and those being reset. */
  clear(): void {
    for (const memory of this.#idle) this.#owned.delete(memory);
    for (const r of this.#resetting) this.#owned.delete(r.memory);
    this.#idle.length = 0;
    this.#resetting.length = 0;
  }

  stats(): MemoryPoolStats {
    this.#harvest();
    return { ...this.#stats, idle: this.#idle.length };
  }

  /**
   * Shared pools keep {@link SPARES} memories ready or on their way, so the next acquire does not wait: a missing
   * one is created here (an address-space reservation) and its pages are written on the resetter thread.
   */
  #prepareSpares(): void {
    if (!this.#sharedImage) return;
    while (this.#idle.length + this.#resetting.length < Math.min(SPARES, this.#max)) {
      const memory = this.#allocate();
      this.#stats.created++;
      this.#resetShared(memory);
    }
  }

  #resetShared(memory: WebAssembly.Memory): void {
    const done = new Int32Array(new SharedArrayBuffer(4));
    this.#resetting.push({ memory, done });
    resetOffThread({
      // Created with `shared: true` (lib.dom types `buffer` as ArrayBuffer only).
      memory: memory.buffer as unknown as SharedArrayBuffer,
      image: this.#sharedImage!,
      imageLength: this.#image.length,
      done,
    });
  }

  /** Moves memories whose off-thread reset has finished to the idle list, oldest first. */
  #harvest(): void {
    while (this.#resetting.length > 0 && Atomics.load(this.#resetting[0]!.done, 0) === 1) {
      this.#idle.push(this.#resetting.shift()!.memory);
    }
  }

  #allocate(): WebAssembly.Memory {
    const descriptor: WebAssembly.MemoryDescriptor = { initial: this.#initialPages };
    if (this.#maximumPages !== undefined) descriptor.maximum = this.#maximumPages;
    if (this.#sharedImage) descriptor.shared = true;
    const memory = new WebAssembly.Memory(descriptor);
    this.#owned.add(memory);
    return memory;
  }

  #create(prefault: boolean): WebAssembly.Memory {
    const memory = this.#allocate();
    if (prefault) this.#reset(memory);
    // A new memory is already zero; only the image needs copying.
    else new Uint8Array(memory.buffer).set(this.#image);
    return memory;
  }

  #reset(memory: WebAssembly.Memory): void {
    const bytes = new Uint8Array(memory.buffer);
    bytes.set(this.#image);
    bytes.fill(0, this.#image.length);
  }
}

/**
 * Rewrites a module's memory imports to `shared` (maximum 4 GiB unless declared), for the modules that receive the
 * pooled memory of a plan made with {@link MemoryImageOptions.shared} (jco's adapter modules import it as
 * `env.memory`): a shared memory only satisfies a shared import. Returns the module unchanged when it imports no
 * memory, and null when it cannot be parsed (then the caller keeps memories unshared).
 */
export function shareMemoryImports(module: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | null {
  try {
    const sections = readSections(module);
    const importSection = sections.find((s) => s.id === SectionId.import);
    if (!importSection) return module;
    const imports = readImportSection(importSection.payload);
    if (!imports.some((i) => i.desc.kind === 'memory')) return module;
    const w = new Writer().u32(imports.length);
    for (const entry of imports) {
      if (entry.desc.kind === 'memory' && !entry.desc.limits.shared) {
        const limits = { ...entry.desc.limits, shared: true, max: entry.desc.limits.max ?? MAX_PAGES };
        writeImportEntry(w, { ...entry, desc: { kind: 'memory', limits } });
      } else writeImportEntry(w, entry);
    }
    const payload = w.finish();
    return writeModule(
      sections.map((s) => (s.id === SectionId.import ? { id: SectionId.import, payload } : { raw: module.subarray(s.start, s.end) })),
    );
  } catch (error) {
    if (error instanceof WasmBinaryError && error.kind === 'unsupported') return null;
    throw error;
  }
}
