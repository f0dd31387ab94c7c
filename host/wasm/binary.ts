// Minimal reader/writer for the WebAssembly core module binary format (MVP plus
// bulk-memory, multi-value, reference types as far as import descriptors go).
// It only understands what the memory-image rewrite needs: section framing,
// LEB128, import descriptors, limits. Everything else is carried as raw bytes.

/** Section ids of the core module binary format. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

// Position of each non-custom section in the mandated order. The tag section
// (exception handling) sits between memory and global; data count between
// element and code.
const SECTION_RANK: ReadonlyMap<number, number> = new Map([
  [SectionId.type, 1],
  [SectionId.import, 2],
  [SectionId.function, 3],
  [SectionId.table, 4],
  [SectionId.memory, 5],
  [SectionId.tag, 6],
  [SectionId.global, 7],
  [SectionId.export, 8],
  [SectionId.start, 9],
  [SectionId.element, 10],
  [SectionId.dataCount, 11],
  [SectionId.code, 12],
  [SectionId.data, 13],
]);

const MAGIC = [0x00, 0x61, 0x73, 0x6d] as const;
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true });
const UTF8_ENCODER = new TextEncoder();
const VERSION = [0x01, 0x00, 0x00, 0x00] as const;

/**
 * Thrown for binaries this module cannot handle. `kind` is `'malformed'` for
 * bytes that are not a valid core module, `'unsupported'` for valid inputs
 * using features this reader deliberately does not handle.
 */
export class WasmBinaryError extends Error {
  readonly kind: 'malformed' | 'unsupported';
  readonly offset: number | undefined;

  constructor(kind: 'malformed' | 'unsupported', message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'WasmBinaryError';
    this.kind = kind;
    this.offset = offset;
  }
}

/** Cursor over a byte range; every read is bounds-checked. */
export class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    if (pos < 0 || end > bytes.length || pos > end) {
      throw new RangeError(`invalid reader range ${pos}..${end} of ${bytes.length}`);
    }
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new WasmBinaryError('malformed', 'unexpected end', this.pos);
    return this.bytes[this.pos++] as number;
  }

  /** Unsigned LEB128, at most 32 bits (5 bytes). */
  u32(): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.u8();
      if (i === 4 && (byte & 0xf0) !== 0) {
        throw new WasmBinaryError('malformed', 'u32 LEB128 too large or too long', start);
      }
      // Multiplication instead of << keeps bit 31 from turning the value negative.
      result += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) return result;
    }
    throw new WasmBinaryError('malformed', 'u32 LEB128 too long', start);
  }

  /** Signed LEB128, at most 32 bits (5 bytes). */
  s32(): number {
    const start = this.pos;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.u8();
      if (i === 4) {
        if ((byte & 0x80) !== 0) throw new WasmBinaryError('malformed', 's32 LEB128 too long', start);
        // Unused high bits of the last byte must sign-extend bit 3.
        const high = byte & 0x70;
        if (high !== ((byte & 0x08) !== 0 ? 0x70 : 0)) {
          throw new WasmBinaryError('malformed', 's32 LEB128 out of range', start);
        }
      }
      result |= (byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) === 0) {
        if (shift < 32 && (byte & 0x40) !== 0) result |= -1 << shift;
        return result | 0;
      }
    }
    throw new WasmBinaryError('malformed', 's32 LEB128 too long', start);
  }

  /** Unsigned LEB128, at most 64 bits (10 bytes). */
  u64(): bigint {
    return this.#leb64(false);
  }

  /** Signed LEB128, at most 64 bits (10 bytes). */
  s64(): bigint {
    return this.#leb64(true);
  }

  #leb64(signed: boolean): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      if (i === 9) {
        // Only bit 0 of the 10th byte carries payload; the rest must be zero
        // (unsigned) or a sign extension of bit 0 (signed).
        const ok = signed ? byte === 0x00 || byte === 0x7f : byte <= 0x01;
        if (!ok) throw new WasmBinaryError('malformed', `${signed ? 's' : 'u'}64 LEB128 out of range`, start);
      }
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        if (signed) return BigInt.asIntN(64, (byte & 0x40) !== 0 && shift < 64n ? result - (1n << shift) : result);
        return BigInt.asUintN(64, result);
      }
    }
    throw new WasmBinaryError('malformed', '64-bit LEB128 too long', start);
  }

  /** A view (no copy) of the next `length` bytes. */
  take(length: number): Uint8Array {
    if (length > this.end - this.pos) {
      throw new WasmBinaryError('malformed', `length ${length} exceeds remaining ${this.end - this.pos} bytes`, this.pos);
    }
    const view = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }

  /** Length-prefixed byte vector, as a view. */
  vecBytes(): Uint8Array {
    return this.take(this.u32());
  }

  /** Length-prefixed UTF-8 name. */
  name(): string {
    const start = this.pos;
    try {
      return UTF8_DECODER.decode(this.vecBytes());
    } catch (error) {
      if (error instanceof WasmBinaryError) throw error;
      throw new WasmBinaryError('malformed', 'name is not valid UTF-8', start);
    }
  }
}

/** Growable byte sink; big payloads are kept as chunks and joined once. */
export class Writer {
  readonly #chunks: Uint8Array[] = [];
  #pending: number[] = [];
  #length = 0;

  get length(): number {
    return this.#length + this.#pending.length;
  }

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`not a byte: ${value}`);
    this.#pending.push(value);
    return this;
  }

  u32(value: number): this {
    for (const byte of encodeU32(value)) this.#pending.push(byte);
    return this;
  }

  s32(value: number): this {
    for (const byte of encodeS32(value)) this.#pending.push(byte);
    return this;
  }

  u64(value: bigint): this {
    for (const byte of encodeU64(value)) this.#pending.push(byte);
    return this;
  }

  /** Raw bytes, not length-prefixed. Large inputs are referenced, not copied, until `finish`. */
  bytes(data: Uint8Array): this {
    if (data.length < 64) {
      for (const byte of data) this.#pending.push(byte);
      return this;
    }
    this.#flush();
    this.#chunks.push(data);
    this.#length += data.length;
    return this;
  }

  vecBytes(data: Uint8Array): this {
    return this.u32(data.length).bytes(data);
  }

  name(value: string): this {
    return this.vecBytes(UTF8_ENCODER.encode(value));
  }

  finish(): Uint8Array<ArrayBuffer> {
    this.#flush();
    const out = new Uint8Array(this.#length);
    let pos = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, pos);
      pos += chunk.length;
    }
    return out;
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#chunks.push(Uint8Array.from(this.#pending));
    this.#length += this.#pending.length;
    this.#pending = [];
  }
}

export function encodeU32(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`not a u32: ${value}`);
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

export function encodeS32(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) throw new RangeError(`not an s32: ${value}`);
  const out: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export function encodeU64(value: bigint): number[] {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`not a u64: ${value}`);
  const out: number[] = [];
  let rest = value;
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0n);
  return out;
}

/** One section of a module; `payload` is a view into the original bytes. */
export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the first payload byte. */
  payloadStart: number;
  /** Offset one past the last payload byte. */
  end: number;
  payload: Uint8Array;
  /** Custom sections only. */
  name?: string;
}

/**
 * Splits a core module into its sections. Checks the header, section framing
 * and section order; rejects components and unknown section ids.
 */
export function readSections(module: Uint8Array): Section[] {
  if (module.length < 8 || MAGIC.some((b, i) => module[i] !== b)) {
    throw new WasmBinaryError('malformed', 'missing \\0asm magic');
  }
  if (VERSION.some((b, i) => module[4 + i] !== b)) {
    const layer = module[6] === 0x01 ? ' (this is a component, not a core module)' : '';
    throw new WasmBinaryError('unsupported', `unsupported binary version/layer${layer}`, 4);
  }
  const reader = new Reader(module, 8);
  const sections: Section[] = [];
  let lastRank = 0;
  while (!reader.atEnd) {
    const start = reader.pos;
    const id = reader.u8();
    const size = reader.u32();
    const payloadStart = reader.pos;
    const payload = reader.take(size);
    if (id === SectionId.custom) {
      const name = new Reader(module, payloadStart, payloadStart + size).name();
      sections.push({ id, start, payloadStart, end: reader.pos, payload, name });
      continue;
    }
    const rank = SECTION_RANK.get(id);
    if (rank === undefined) throw new WasmBinaryError('unsupported', `unknown section id ${id}`, start);
    if (rank <= lastRank) throw new WasmBinaryError('malformed', `section ${id} out of order or duplicated`, start);
    lastRank = rank;
    sections.push({ id, start, payloadStart, end: reader.pos, payload });
  }
  return sections;
}

/** A section to emit: either raw bytes copied from a source module or a new payload. */
export type SectionOut = { id: number; payload: Uint8Array } | { raw: Uint8Array };

/** Re-assembles a module from sections (header is added here). */
export function writeModule(sections: readonly SectionOut[]): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  w.bytes(Uint8Array.from([...MAGIC, ...VERSION]));
  for (const section of sections) {
    if ('raw' in section) w.bytes(section.raw);
    else w.u8(section.id).vecBytes(section.payload);
  }
  return w.finish();
}

/** Where a new non-custom section with `id` must be inserted among `sections`. */
export function insertionIndex(sections: readonly Section[], id: number): number {
  const rank = SECTION_RANK.get(id);
  if (rank === undefined || id === SectionId.custom) throw new RangeError(`not an orderable section id: ${id}`);
  const index = sections.findIndex((s) => s.id !== SectionId.custom && (SECTION_RANK.get(s.id) ?? 0) > rank);
  return index === -1 ? sections.length : index;
}

/** Resizable limits of a memory or table. */
export interface Limits {
  min: number;
  max: number | undefined;
  shared: boolean;
  /** memory64 / table64 */
  index64: boolean;
}

/** Reads a limits record (flags byte + min + optional max). */
export function readLimits(reader: Reader): Limits {
  const at = reader.pos;
  const flags = reader.u8();
  if (flags & ~0x07) {
    throw new WasmBinaryError('unsupported', `limits flags 0x${flags.toString(16)} (custom page sizes?)`, at);
  }
  const index64 = (flags & 0x04) !== 0;
  const shared = (flags & 0x02) !== 0;
  const hasMax = (flags & 0x01) !== 0;
  const read = (): number => {
    if (!index64) return reader.u32();
    const value = reader.u64();
    // Not representable exactly as a number: only possible for memory64/table64.
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
  };
  const min = read();
  const max = hasMax ? read() : undefined;
  return { min, max, shared, index64 };
}

export function writeLimits(w: Writer, limits: Limits): void {
  if (limits.index64) throw new WasmBinaryError('unsupported', 'writing 64-bit limits');
  w.u8((limits.max !== undefined ? 0x01 : 0) | (limits.shared ? 0x02 : 0));
  w.u32(limits.min);
  if (limits.max !== undefined) w.u32(limits.max);
}

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

const VALTYPES: ReadonlyMap<number, ValType> = new Map([
  [0x7f, 'i32'],
  [0x7e, 'i64'],
  [0x7d, 'f32'],
  [0x7c, 'f64'],
  [0x7b, 'v128'],
  [0x70, 'funcref'],
  [0x6f, 'externref'],
]);

function readValType(reader: Reader): ValType {
  const at = reader.pos;
  const code = reader.u8();
  const type = VALTYPES.get(code);
  if (type === undefined) throw new WasmBinaryError('unsupported', `value type 0x${code.toString(16)} (GC/typed refs?)`, at);
  return type;
}

export type ImportDesc =
  | { kind: 'function'; typeIndex: number }
  | { kind: 'table'; element: 'funcref' | 'externref'; limits: Limits }
  | { kind: 'memory'; limits: Limits }
  | { kind: 'global'; type: ValType; mutable: boolean }
  | { kind: 'tag'; typeIndex: number };

export interface ImportEntry {
  module: string;
  name: string;
  desc: ImportDesc;
}

/** Parses the payload of an import section. */
export function readImportSection(payload: Uint8Array): ImportEntry[] {
  const reader = new Reader(payload);
  const count = reader.u32();
  const entries: ImportEntry[] = [];
  for (let i = 0; i < count; i++) {
    const module = reader.name();
    const name = reader.name();
    const at = reader.pos;
    const kind = reader.u8();
    let desc: ImportDesc;
    switch (kind) {
      case 0x00:
        desc = { kind: 'function', typeIndex: reader.u32() };
        break;
      case 0x01: {
        const element = readValType(reader);
        if (element !== 'funcref' && element !== 'externref') {
          throw new WasmBinaryError('malformed', `table element type ${element}`, at + 1);
        }
        desc = { kind: 'table', element, limits: readLimits(reader) };
        break;
      }
      case 0x02:
        desc = { kind: 'memory', limits: readLimits(reader) };
        break;
      case 0x03: {
        const type = readValType(reader);
        const mut = reader.u8();
        if (mut > 1) throw new WasmBinaryError('malformed', `global mutability ${mut}`, reader.pos - 1);
        desc = { kind: 'global', type, mutable: mut === 1 };
        break;
      }
      case 0x04: {
        const attribute = reader.u8();
        if (attribute !== 0) throw new WasmBinaryError('unsupported', `tag attribute ${attribute}`, reader.pos - 1);
        desc = { kind: 'tag', typeIndex: reader.u32() };
        break;
      }
      default:
        throw new WasmBinaryError('unsupported', `import kind 0x${kind.toString(16)}`, at);
    }
    entries.push({ module, name, desc });
  }
  if (!reader.atEnd) throw new WasmBinaryError('malformed', 'trailing bytes in import section');
  return entries;
}

export function writeImportEntry(w: Writer, entry: ImportEntry): void {
  w.name(entry.module).name(entry.name);
  const desc = entry.desc;
  switch (desc.kind) {
    case 'function':
      w.u8(0x00).u32(desc.typeIndex);
      return;
    case 'table':
      w.u8(0x01).u8(desc.element === 'funcref' ? 0x70 : 0x6f);
      writeLimits(w, desc.limits);
      return;
    case 'memory':
      w.u8(0x02);
      writeLimits(w, desc.limits);
      return;
    case 'global': {
      const code = [...VALTYPES].find(([, t]) => t === desc.type)?.[0];
      if (code === undefined) throw new RangeError(`unknown value type ${desc.type}`);
      w.u8(0x03)
        .u8(code)
        .u8(desc.mutable ? 1 : 0);
      return;
    }
    case 'tag':
      w.u8(0x04).u8(0x00).u32(desc.typeIndex);
      return;
  }
}

/** Imports of a whole module (empty if it has no import section). */
export function readImports(module: Uint8Array): ImportEntry[] {
  const section = readSections(module).find((s) => s.id === SectionId.import);
  return section ? readImportSection(section.payload) : [];
}
