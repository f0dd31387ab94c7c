/**
 * `console.log`-style formatting for the sandbox: a subset of Node's `util.format` / `util.inspect` that prints the
 * common cases the same way (primitives, arrays with Node's column grouping, plain and class objects, Map, Set,
 * Date, RegExp, errors, functions, boxed primitives, typed arrays, circular references, depth and length caps).
 * `%o` prints like `%O` (Node's `%o` also shows hidden properties).
 *
 * NOTE: the values are the sandboxed code's own, so formatting must not run away: getters are never called (shown
 * as `[Getter]`), depth, items and string length are capped, and any exception while formatting a value (a hostile
 * Proxy, a poisoned prototype) prints that value as `[unformattable: …]` instead of failing the run. Promise state
 * cannot be read from JavaScript, so promises print as `Promise {}`.
 *
 * @module
 */

const MAX_DEPTH = 2;
const MAX_ITEMS = 100;
const MAX_STRING = 10_000;
const BREAK_LENGTH = 80;
/** Node's `compact: 3`: up to this many innermost levels may share a line. */
const COMPACT = 3;

interface Ctx {
  seen: object[];
  circular: Map<object, number>;
  indent: number;
  /** Depth of the object formatted last: how deep the entries of the object being finished went (Node's rule). */
  current: number;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Quotes a string as Node does: single quotes, else double, else backticks, with control characters escaped. */
export function quote(s: string): string {
  const q = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes('`') && !s.includes('${') ? '`' : "'";
  let out = q;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (ch === q || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

function formatString(s: string, nested: boolean): string {
  const cut = s.length > MAX_STRING;
  const shown = cut ? s.slice(0, MAX_STRING) : s;
  const more = cut ? `... ${s.length - MAX_STRING} more character${s.length - MAX_STRING > 1 ? 's' : ''}` : '';
  if (!nested) return shown + (cut ? more : '');
  return quote(shown) + (cut ? more : '');
}

function formatNumber(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

function formatPrimitive(v: unknown, nested: boolean): string | undefined {
  switch (typeof v) {
    case 'string':
      return formatString(v, nested);
    case 'number':
      return formatNumber(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
      return String(v);
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return v.toString();
    default:
      return v === null ? 'null' : undefined;
  }
}

function formatKey(key: string | symbol): string {
  if (typeof key === 'symbol') return key.toString();
  return IDENT.test(key) ? key : quote(key);
}

function functionBase(fn: Function): string {
  let src = '';
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    // A revoked proxy or similar: fall through to the generic form.
  }
  const name = typeof fn.name === 'string' && fn.name !== '' ? fn.name : '';
  if (src.startsWith('class') && /^class\b/.test(src)) {
    const ext = Object.getPrototypeOf(fn) as { name?: unknown } | null;
    const parent = ext && ext !== Function.prototype && typeof ext.name === 'string' && ext.name ? ` extends ${ext.name}` : '';
    return `[class ${name || '(anonymous)'}${parent}]`;
  }
  const tag = (fn as unknown as Record<symbol, unknown>)[Symbol.toStringTag];
  const type =
    tag === 'AsyncFunction'
      ? 'AsyncFunction'
      : tag === 'GeneratorFunction'
        ? 'GeneratorFunction'
        : tag === 'AsyncGeneratorFunction'
          ? 'AsyncGeneratorFunction'
          : 'Function';
  return name ? `[${type}: ${name}]` : `[${type} (anonymous)]`;
}

function constructorName(obj: object): string | null {
  let proto: object | null = Object.getPrototypeOf(obj) as object | null;
  while (proto) {
    const d = Object.getOwnPropertyDescriptor(proto, 'constructor');
    if (d && typeof d.value === 'function' && typeof (d.value as Function).name === 'string' && (d.value as Function).name !== '') {
      return (d.value as Function).name;
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return null;
}

function propertyEntries(obj: object, ctx: Ctx, depth: number, skipIndices: boolean, skip: (k: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const key of Reflect.ownKeys(obj)) {
    if (typeof key === 'string' && (skip(key) || (skipIndices && /^(?:0|[1-9][0-9]*)$/.test(key)))) continue;
    const d = Reflect.getOwnPropertyDescriptor(obj, key);
    if (!d || (!d.enumerable && typeof key === 'string')) continue;
    if (!d.enumerable) continue;
    let shown: string;
    if (d.get || d.set) shown = d.get && d.set ? '[Getter/Setter]' : d.get ? '[Getter]' : '[Setter]';
    else shown = formatValue(d.value, ctx, depth + 1, true);
    out.push(`${formatKey(key)}: ${shown}`);
    if (out.length > MAX_ITEMS) break;
  }
  return out;
}

function arrayEntries(arr: ArrayLike<unknown>, ctx: Ctx, depth: number): string[] {
  const out: string[] = [];
  const len = arr.length;
  let holes = 0;
  const flushHoles = () => {
    if (holes > 0) out.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
    holes = 0;
  };
  let i = 0;
  for (; i < len && out.length < MAX_ITEMS; i++) {
    if (!Object.prototype.hasOwnProperty.call(arr, i)) {
      holes++;
      continue;
    }
    flushHoles();
    const d = Object.getOwnPropertyDescriptor(arr, i)!;
    out.push(
      d.get || d.set ? (d.get && d.set ? '[Getter/Setter]' : d.get ? '[Getter]' : '[Setter]') : formatValue(d.value, ctx, depth + 1, true),
    );
  }
  flushHoles();
  if (i < len) out.push(`... ${len - i} more item${len - i > 1 ? 's' : ''}`);
  return out;
}

/** Node's column layout for arrays of more than six short items (numbers right-aligned, others left-aligned). */
function groupItems(output: string[], values: ArrayLike<unknown> | undefined, indent: number): string[] {
  const hasMore = output.length > 0 && output[output.length - 1]!.startsWith('... ');
  const count = hasMore ? output.length - 1 : output.length;
  const separator = 2;
  const lengths: number[] = [];
  let total = 0;
  let longest = 0;
  for (let i = 0; i < count; i++) {
    const len = output[i]!.length;
    lengths.push(len);
    total += len + separator;
    if (len > longest) longest = len;
  }
  const cell = longest + separator;
  if (!(cell * 3 + indent < BREAK_LENGTH && (total / cell > 5 || longest <= 6))) return output;
  const bias = Math.sqrt(cell - total / output.length);
  const biased = Math.max(cell - 3 - bias, 1);
  const columns = Math.min(
    Math.round(Math.sqrt(2.5 * biased * count) / biased),
    Math.floor((BREAK_LENGTH - indent) / cell),
    COMPACT * 4,
    15,
  );
  if (columns <= 1) return output;
  const widths: number[] = [];
  for (let c = 0; c < columns; c++) {
    let w = 0;
    for (let j = c; j < count; j += columns) if (lengths[j]! > w) w = lengths[j]!;
    widths.push(w + separator);
  }
  let numeric = values !== undefined;
  if (values) {
    for (let i = 0; i < Math.min(values.length, output.length); i++) {
      const t = typeof values[i];
      if (t !== 'number' && t !== 'bigint') {
        numeric = false;
        break;
      }
    }
  }
  const rows: string[] = [];
  for (let i = 0; i < count; i += columns) {
    const end = Math.min(i + columns, count);
    let row = '';
    let j = i;
    for (; j < end - 1; j++) row += numeric ? `${output[j]}, `.padStart(widths[j - i]!) : `${output[j]}, `.padEnd(widths[j - i]!);
    row += numeric ? output[j]!.padStart(widths[j - i]! - separator) : output[j]!;
    rows.push(row);
  }
  if (hasMore) rows.push(output[output.length - 1]!);
  return rows;
}

/** Joins entries on one line when they fit (innermost levels only), else one per line, as Node does. */
function reduce(output: string[], base: string, open: string, close: string, ctx: Ctx, depth: number, values?: ArrayLike<unknown>): string {
  const levelsBelow = ctx.current - depth;
  const prefix = base ? `${base} ` : '';
  const entries = output.length;
  if (values !== undefined && entries > 6) output = groupItems(output, values, ctx.indent);
  if (levelsBelow < COMPACT && entries === output.length) {
    const start = output.length + ctx.indent + open.length + base.length + 10;
    let total = output.length + start;
    let fits = total + output.length <= BREAK_LENGTH;
    for (let i = 0; fits && i < output.length; i++) {
      total += output[i]!.length;
      if (total > BREAK_LENGTH) fits = false;
    }
    if (fits && !base.includes('\n')) {
      const joined = output.join(', ');
      if (!joined.includes('\n')) return `${prefix}${open} ${joined} ${close}`;
    }
  }
  const pad = `\n${' '.repeat(ctx.indent)}`;
  return `${prefix}${open}${pad}  ${output.join(`,${pad}  `)}${pad}${close}`;
}

function errorText(err: Error): string {
  const name = typeof err.name === 'string' ? err.name : 'Error';
  const message = typeof err.message === 'string' ? err.message : '';
  const head = message ? `${name}: ${message}` : name;
  const frames = userFrames(typeof err.stack === 'string' ? err.stack : '');
  return frames.length > 0 ? `${head}\n${frames.map((f) => (f.startsWith('... ') ? `    ${f}` : `    at ${f}`)).join('\n')}` : head;
}

/**
 * The stack frames of sandboxed code in a SpiderMonkey stack (`name@file line N > Function:L:C`), without the
 * sandbox's own frames. Positions are those of the instrumented code; lines match the submitted code.
 */
export function userFrames(stack: string): string[] {
  const out: string[] = [];
  let more = 0;
  for (const line of stack.split('\n')) {
    const m = /^(.*?)@.*> Function:(\d+):(\d+)$/.exec(line);
    if (!m) continue;
    if (out.length >= MAX_FRAMES) {
      more++;
      continue;
    }
    // Columns are those of the instrumented code, so only the line (which the instrumentation keeps) is shown.
    const name = !m[1] || m[1].startsWith('anonymous') ? '<top level>' : m[1];
    out.push(`${name} (<sandbox>:${Number(m[2]) - FUNCTION_HEADER_LINES})`);
  }
  if (more > 0) out.push(`... ${more} more frame${more > 1 ? 's' : ''}`);
  return out;
}

const MAX_FRAMES = 10;

/** Lines the `Function` constructor and the sandbox's wrapper put before the submitted code. */
export const FUNCTION_HEADER_LINES = 3;

function formatObject(value: object, ctx: Ctx, depth: number): string {
  if (depth <= MAX_DEPTH) ctx.current = depth;
  if (typeof value === 'function') {
    const base = functionBase(value);
    if (depth > MAX_DEPTH) return base;
    const props = propertyEntries(value, ctx, depth, false, (k) => k === 'prototype');
    return props.length === 0 ? base : reduce(props, base, '{', '}', ctx, depth);
  }
  const name = constructorName(value);
  const proto = Object.getPrototypeOf(value) as object | null;
  if (Array.isArray(value)) {
    if (depth > MAX_DEPTH) return '[Array]';
    const items = arrayEntries(value, ctx, depth);
    const extra = propertyEntries(value, ctx, depth, true, (k) => k === 'length');
    const base = name && name !== 'Array' ? `${name}(${value.length})` : '';
    if (items.length === 0 && extra.length === 0) return base ? `${base} []` : '[]';
    const all = [...items, ...extra];
    return reduce(all, base, '[', ']', ctx, depth, extra.length === 0 ? value : undefined);
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const typed = value as unknown as ArrayLike<number | bigint>;
    const base = `${name ?? 'TypedArray'}(${typed.length})`;
    if (depth > MAX_DEPTH) return `[${name ?? 'TypedArray'}]`;
    const items: string[] = [];
    const n = Math.min(typed.length, MAX_ITEMS);
    for (let i = 0; i < n; i++) items.push(formatValue(typed[i], ctx, depth + 1, true));
    if (typed.length > n) items.push(`... ${typed.length - n} more item${typed.length - n > 1 ? 's' : ''}`);
    return items.length === 0 ? `${base} []` : reduce(items, base, '[', ']', ctx, depth, typed);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof RegExp) return RegExp.prototype.toString.call(value);
  if (value instanceof Error) {
    const text = errorText(value);
    if (depth > MAX_DEPTH) return `[${text.split('\n')[0]}]`;
    const props = propertyEntries(value, ctx, depth, false, (k) => k === 'stack' || k === 'message');
    return props.length === 0 ? text : reduce(props, text, '{', '}', ctx, depth);
  }
  if (value instanceof Map) {
    if (depth > MAX_DEPTH) return '[Map]';
    const items: string[] = [];
    for (const [k, v] of value) {
      if (items.length >= MAX_ITEMS) {
        items.push(`... ${value.size - MAX_ITEMS} more item${value.size - MAX_ITEMS > 1 ? 's' : ''}`);
        break;
      }
      items.push(`${formatValue(k, ctx, depth + 1, true)} => ${formatValue(v, ctx, depth + 1, true)}`);
    }
    const base = `${name ?? 'Map'}(${value.size})`;
    return items.length === 0 ? `${base} {}` : reduce(items, base, '{', '}', ctx, depth);
  }
  if (value instanceof Set) {
    if (depth > MAX_DEPTH) return '[Set]';
    const items: string[] = [];
    for (const v of value) {
      if (items.length >= MAX_ITEMS) {
        items.push(`... ${value.size - MAX_ITEMS} more item${value.size - MAX_ITEMS > 1 ? 's' : ''}`);
        break;
      }
      items.push(formatValue(v, ctx, depth + 1, true));
    }
    const base = `${name ?? 'Set'}(${value.size})`;
    return items.length === 0 ? `${base} {}` : reduce(items, base, '{', '}', ctx, depth);
  }
  if (value instanceof WeakMap || value instanceof WeakSet) return `${name ?? 'WeakMap'} { <items unknown> }`;
  if (value instanceof Promise) return `${name ?? 'Promise'} {}`;
  if (value instanceof ArrayBuffer) return `ArrayBuffer { byteLength: ${value.byteLength} }`;
  for (const [Box, label] of [
    [Number, 'Number'],
    [String, 'String'],
    [Boolean, 'Boolean'],
  ] as const) {
    if (value instanceof Box) return `[${label}: ${formatPrimitive((value as { valueOf(): unknown }).valueOf(), true)}]`;
  }
  const tag = (value as Record<symbol, unknown>)[Symbol.toStringTag];
  const label = proto === null ? '[Object: null prototype]' : name === 'Object' || name === null ? '' : name;
  const base = typeof tag === 'string' && tag !== '' && tag !== label ? `${label || 'Object'} [${tag}]` : label;
  if (depth > MAX_DEPTH) return `[${base || 'Object'}]`;
  const props = propertyEntries(value, ctx, depth, false);
  if (props.length === 0) return base ? `${base} {}` : '{}';
  return reduce(props, base, '{', '}', ctx, depth);
}

function formatValue(value: unknown, ctx: Ctx, depth: number, nested: boolean): string {
  const primitive = formatPrimitive(value, nested);
  if (primitive !== undefined) return primitive;
  const obj = value as object;
  const at = ctx.seen.indexOf(obj);
  if (at !== -1) {
    let id = ctx.circular.get(obj);
    if (id === undefined) {
      id = ctx.circular.size + 1;
      ctx.circular.set(obj, id);
    }
    return `[Circular *${id}]`;
  }
  ctx.seen.push(obj);
  const indent = ctx.indent;
  if (depth > 0) ctx.indent += 2;
  let text: string;
  try {
    text = formatObject(obj, ctx, depth);
  } catch (err) {
    text = `[unformattable: ${describeThrown(err)}]`;
  } finally {
    ctx.indent = indent;
    ctx.seen.pop();
  }
  const id = ctx.circular.get(obj);
  return id === undefined ? text : `<ref *${id}> ${text}`;
}

/** A short description of a thrown value that cannot itself throw. */
export function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error) return `${String(err.name)}: ${String(err.message)}`;
    return typeof err === 'string' ? err : String(err);
  } catch {
    return 'an exception that cannot be described';
  }
}

/** `util.inspect(value)` for the cases above. */
export function inspect(value: unknown): string {
  return formatValue(value, { seen: [], circular: new Map(), indent: 0, current: 0 }, 0, true);
}

function formatTop(value: unknown): string {
  return typeof value === 'string' ? value : formatValue(value, { seen: [], circular: new Map(), indent: 0, current: 0 }, 0, true);
}

const BUILT_IN_PROTOTYPES: readonly object[] = [
  Object.prototype,
  Array.prototype,
  Error.prototype,
  Function.prototype,
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  Promise.prototype,
  Number.prototype,
  String.prototype,
  Boolean.prototype,
  Symbol.prototype,
  Object.getPrototypeOf(Uint8Array.prototype) as object,
];

/** Whether `%s` should use the object's own `toString` (one the code defined) rather than inspecting it. */
function hasOwnToString(v: object): boolean {
  let proto: object | null = v;
  while (proto) {
    if (Object.prototype.hasOwnProperty.call(proto, 'toString')) return !BUILT_IN_PROTOTYPES.includes(proto);
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return false;
}

/** `util.format(...args)`: `%s %d %i %f %j %o %O %c %%` in a leading string, the rest joined by spaces. */
export function format(...args: unknown[]): string {
  const first = args[0];
  let out = '';
  let next = 1;
  if (typeof first === 'string' && args.length > 1 && first.includes('%')) {
    let last = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (first[i] !== '%') continue;
      const spec = first[i + 1];
      if (spec === '%') {
        out += first.slice(last, i) + '%';
        last = i + 2;
        i++;
        continue;
      }
      if (next >= args.length || !spec || !'sdifjoOc'.includes(spec)) continue;
      const arg = args[next++];
      let piece: string;
      switch (spec) {
        case 's':
          piece =
            typeof arg === 'bigint'
              ? `${arg}n`
              : typeof arg === 'number'
                ? formatNumber(arg)
                : typeof arg === 'symbol'
                  ? arg.toString()
                  : typeof arg === 'object' && arg !== null && !hasOwnToString(arg)
                    ? inspect(arg)
                    : String(arg);
          break;
        case 'd':
        case 'i':
          piece =
            typeof arg === 'bigint'
              ? `${arg}n`
              : typeof arg === 'symbol'
                ? 'NaN'
                : formatNumber(spec === 'i' ? Number.parseInt(String(arg)) : typeof arg === 'object' ? Number.NaN : Number(arg));
          break;
        case 'f':
          piece = typeof arg === 'symbol' ? 'NaN' : formatNumber(Number.parseFloat(String(arg)));
          break;
        case 'j':
          try {
            piece = String(JSON.stringify(arg));
          } catch (err) {
            piece = err instanceof TypeError && /cycl/i.test(err.message) ? '[Circular]' : `[unformattable: ${describeThrown(err)}]`;
          }
          break;
        case 'c':
          piece = '';
          break;
        default:
          piece = inspect(arg);
      }
      out += first.slice(last, i) + piece;
      last = i + 2;
      i++;
    }
    out += first.slice(last);
  } else {
    next = 0;
  }
  for (let i = next; i < args.length; i++) out += (out === '' && i === 0 ? '' : ' ') + formatTop(args[i]);
  return out;
}
