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

const PAGE_SIZE = 65536;

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
}

export interface MemoryImageOptions {
  importModule?: string;
  importName?: string;
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
    return analyze(module, opts.importModule ?? 'edge-agents:pool', opts.importName ?? 'memory');
  } catch (error) {
    if (error instanceof WasmBinaryError && error.kind === 'unsupported') return { ok: false, reason: error.message };
    throw error;
  }
}

interface Segment {
  offset: number | undefined; // undefined: passive
  bytes: Uint8Array;
}

function analyze(module: Uint8Array, importModule: string, importName: string): MemoryImageAnalysis {
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
  const newImport: ImportEntry = { module: importModule, name: importName, desc: { kind: 'memory', limits } };
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
      maximumPages: limits.max,
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
  /** Memories currently idle in the pool. */
  idle: number;
}

/**
 * Pool of linear memories that all start out as a pristine copy of a
 * {@link MemoryImagePlan}'s initial memory. Memories are reset on release, so
 * `acquire` hands out a ready memory without copying on the request path.
 * A released memory must no longer be used by the instance it came from.
 */
export class MemoryPool {
  readonly #initialPages: number;
  readonly #maximumPages: number | undefined;
  readonly #image: Uint8Array;
  readonly #max: number;
  readonly #idle: WebAssembly.Memory[] = [];
  readonly #owned = new WeakSet<WebAssembly.Memory>();
  readonly #stats = { created: 0, reused: 0, discarded: 0, overflow: 0 };

  constructor(plan: { initialPages: number; maximumPages: number | undefined; image: Uint8Array }, opts: { max: number }) {
    if (!Number.isInteger(opts.max) || opts.max < 0) throw new RangeError(`invalid pool max: ${opts.max}`);
    if (plan.image.length > plan.initialPages * PAGE_SIZE) throw new RangeError('image larger than initial memory');
    this.#initialPages = plan.initialPages;
    this.#maximumPages = plan.maximumPages;
    this.#image = plan.image;
    this.#max = opts.max;
  }

  /** A memory of exactly `initialPages` whose contents are the image followed by zeros. */
  acquire(): WebAssembly.Memory {
    const memory = this.#idle.pop();
    if (memory) {
      this.#stats.reused++;
      return memory;
    }
    this.#stats.created++;
    return this.#create(false);
  }

  /**
   * Returns a memory to the pool. Grown memories are discarded; others are
   * reset right away and kept while the pool holds fewer than `max`.
   * Returns whether the memory was kept.
   */
  release(memory: WebAssembly.Memory): boolean {
    if (!this.#owned.has(memory)) throw new Error('memory was not acquired from this pool');
    if (this.#idle.includes(memory)) throw new Error('memory released twice');
    if (memory.buffer.byteLength !== this.#initialPages * PAGE_SIZE) {
      this.#owned.delete(memory);
      this.#stats.discarded++;
      return false;
    }
    if (this.#idle.length >= this.#max) {
      this.#owned.delete(memory);
      this.#stats.overflow++;
      return false;
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
    while (this.#idle.length < target) this.#idle.push(this.#create(true));
  }

  /** Drops idle memories beyond `keep` (the ones released longest ago go first). */
  trim(keep: number): void {
    const drop = this.#idle.splice(0, Math.max(0, this.#idle.length - keep));
    for (const memory of drop) this.#owned.delete(memory);
  }

  /** Drops all idle memories. */
  clear(): void {
    for (const memory of this.#idle) this.#owned.delete(memory);
    this.#idle.length = 0;
  }

  stats(): MemoryPoolStats {
    return { ...this.#stats, idle: this.#idle.length };
  }

  #create(prefault: boolean): WebAssembly.Memory {
    const descriptor: WebAssembly.MemoryDescriptor = { initial: this.#initialPages };
    if (this.#maximumPages !== undefined) descriptor.maximum = this.#maximumPages;
    const memory = new WebAssembly.Memory(descriptor);
    this.#owned.add(memory);
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
