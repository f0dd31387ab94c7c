/**
 * Runs one piece of submitted code inside the component instance that serves the request (a fresh instance per
 * request, so nothing the code does to the globals outlives it) and renders the answer.
 *
 * Guarantees, and how:
 * - **Time.** Every loop body and function entry ticks a countdown (see `instrument.ts`); at zero the clock is
 *   read. Past the deadline every tick throws, however often the code catches, so nested `try` blocks only delay
 *   the stop until the next tick. A deadline timer also ends runs that wait (an unresolved promise, `fetch`).
 *   After the answer is rendered every tick throws, so background work left behind stops at its next tick.
 * - **Recursion.** A depth counter around ordinary functions throws a RangeError beyond `callDepth`; the engine's
 *   own stack limit ("too much recursion") backs it up for async functions and generators.
 * - **Code generation.** `eval`, `Function` and the async/generator function constructors (reachable through
 *   `(function(){}).constructor` and `globalThis.constructor.constructor`) throw; the real constructor compiles
 *   the instrumented code before the submitted code runs, from a reference the code cannot reach.
 * - **Tampering.** What the runner needs after the code has run (clock, timers, `JSON.stringify`, `Response`,
 *   `Reflect.apply`, `Promise.prototype.then`) is captured at initialisation. The code may still replace other
 *   built-ins; that can garble its own output, never lift the budget or keep the request from being answered.
 * - **Memory.** Single allocations that are obviously too large (`repeat`/`padStart`/`padEnd`, buffers, typed
 *   arrays, `Array(n)`, `fill`, `Array.from`) throw a RangeError up front. Growth step by step (a loop pushing
 *   forever) is bounded by the time budget and, on Spin, by `max_instance_memory`; when the engine runs out of
 *   memory the run ends with an error of kind `memory` and the host serves on.
 *
 * Not guaranteed: a single native call that runs long without calling back into the code (a catastrophic regular
 * expression, sorting a huge array) cannot be interrupted from JavaScript; it ends when the call ends.
 *
 * @module
 */
import { type Language, SANDBOX_LIMITS } from '../protocol/sandbox.ts';
import { describeThrown, format, inspect, userFrames } from './format.ts';
import { CodeSyntaxError, instrument, WRAPPER_LINES } from './instrument.ts';
import { stripTypes } from './typescript.ts';

// Captured while the module initialises (Wizer), before any submitted code exists.
const I = Object.freeze({
  Function: Function,
  Promise: Promise,
  then: Promise.prototype.then,
  apply: Reflect.apply,
  construct: Reflect.construct,
  stringify: JSON.stringify,
  now: performance.now.bind(performance),
  setTimeout: setTimeout.bind(globalThis),
  clearTimeout: clearTimeout.bind(globalThis),
  Error: Error,
  RangeError: RangeError,
  TypeError: TypeError,
  EvalError: EvalError,
  freeze: Object.freeze,
  defineProperty: Object.defineProperty,
  getPrototypeOf: Object.getPrototypeOf,
  isArray: Array.isArray,
  round: Math.round,
  max: Math.max,
  min: Math.min,
});

/** The answer of one run, before rendering. */
export interface RunReport {
  stdout: string;
  stderr: string;
  logs: { level: 'log' | 'info' | 'debug' | 'warn' | 'error'; message: string }[];
  /** JSON text of the value (`null` when there is none or it cannot be JSON). */
  resultJson: string;
  resultText: string | undefined;
  error: {
    kind: 'syntax' | 'runtime' | 'timeout' | 'memory';
    name: string;
    message: string;
    stack?: string;
    line?: number;
    column?: number;
  } | null;
  durationMs: number;
  truncated: boolean;
  timedOut: boolean;
  language: Language;
}

export interface RunRequest {
  code: string;
  language: Language;
  timeoutMs: number;
}

export interface RunOptions {
  /** Skip instrumentation (benchmarks only: measures its overhead; the code is then not stoppable). */
  bare?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------------
// Lockdown: applied once per instance, just before the first submitted code runs.

let lockedDown = false;

function blockedCodeGeneration(what: string): (...args: unknown[]) => never {
  return function () {
    throw new I.EvalError(`${what} is disabled in the sandbox: code cannot be generated from strings`);
  };
}

function replace(target: object, key: PropertyKey, value: unknown): void {
  I.defineProperty(target, key, { value, writable: false, configurable: false, enumerable: false });
}

function tooLarge(what: string, size: number, limit: number): never {
  throw new I.RangeError(`${what} of ${size} exceeds the sandbox limit of ${limit}`);
}

/** Wraps a constructor so oversized allocations throw before they happen; `instanceof` and subclassing still work. */
function guardConstructor<T extends Function>(ctor: T, check: (args: unknown[]) => void): T {
  const guarded: T = new Proxy(ctor, {
    apply(target, thisArg, args: unknown[]): unknown {
      check(args);
      return I.apply(target, thisArg, args) as unknown;
    },
    construct(target, args: unknown[], newTarget): object {
      check(args);
      return I.construct(target, args, newTarget === guarded ? target : newTarget) as object;
    },
  });
  const proto = (ctor as unknown as { prototype?: object }).prototype;
  if (proto) I.defineProperty(proto, 'constructor', { value: guarded, writable: true, configurable: true, enumerable: false });
  return guarded;
}

function capAllocations(): void {
  const L = SANDBOX_LIMITS;
  const g = globalThis as unknown as Record<string, unknown>;
  const strings = String.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const repeat = strings.repeat!;
  strings.repeat = function (this: unknown, count: unknown) {
    const size = String(this).length * Number(count);
    if (size > L.stringChars) tooLarge('a string', size, L.stringChars);
    return I.apply(repeat, this, [count]);
  };
  for (const name of ['padStart', 'padEnd']) {
    const original = strings[name]!;
    strings[name] = function (this: unknown, ...args: unknown[]) {
      if (Number(args[0]) > L.stringChars) tooLarge('a string', Number(args[0]), L.stringChars);
      return I.apply(original, this, args);
    };
  }
  const byteLength = (v: unknown, per: number): number => {
    if (typeof v === 'number') return v * per;
    if (typeof v === 'object' && v !== null && !(v instanceof ArrayBuffer)) {
      const len = (v as { length?: unknown }).length;
      return typeof len === 'number' ? len * per : 0;
    }
    return 0;
  };
  g.ArrayBuffer = guardConstructor(ArrayBuffer, (args) => {
    const size = I.max(Number(args[0]) || 0, Number((args[1] as { maxByteLength?: unknown } | undefined)?.maxByteLength) || 0);
    if (size > L.bufferBytes) tooLarge('a buffer of bytes', size, L.bufferBytes);
  });
  for (const name of [
    'Int8Array',
    'Uint8Array',
    'Uint8ClampedArray',
    'Int16Array',
    'Uint16Array',
    'Int32Array',
    'Uint32Array',
    'Float16Array',
    'Float32Array',
    'Float64Array',
    'BigInt64Array',
    'BigUint64Array',
  ]) {
    const ctor = g[name] as (Function & { BYTES_PER_ELEMENT: number }) | undefined;
    if (!ctor) continue;
    g[name] = guardConstructor(ctor, (args) => {
      const size = byteLength(args[0], ctor.BYTES_PER_ELEMENT);
      if (size > L.bufferBytes) tooLarge(`a ${name} of bytes`, size, L.bufferBytes);
    });
  }
  const arrayLength = (n: number) => {
    if (n > L.arrayLength) tooLarge('an array length', n, L.arrayLength);
  };
  const RealArray = Array;
  const from = Array.from;
  const fill = Array.prototype.fill;
  g.Array = guardConstructor(RealArray, (args) => {
    if (args.length === 1 && typeof args[0] === 'number') arrayLength(args[0]);
  });
  I.defineProperty(RealArray, 'from', {
    value: function (this: unknown, ...args: unknown[]) {
      const src = args[0] as { length?: unknown } | null | undefined;
      if (src !== null && typeof src === 'object' && typeof src.length === 'number') arrayLength(src.length);
      return I.apply(from, this, args);
    },
    writable: true,
    configurable: true,
  });
  I.defineProperty(RealArray.prototype, 'fill', {
    value: function (this: { length?: unknown }, ...args: unknown[]) {
      if (typeof this?.length === 'number') arrayLength(this.length);
      return I.apply(fill, this, args);
    },
    writable: true,
    configurable: true,
  });
}

function lockdown(): void {
  if (lockedDown) return;
  lockedDown = true;
  const blockedFunction = blockedCodeGeneration('the Function constructor');
  // `x instanceof Function` keeps working.
  I.defineProperty(blockedFunction, 'prototype', { value: Function.prototype });
  const g = globalThis as unknown as Record<string, unknown>;
  replace(g, 'Function', blockedFunction);
  replace(g, 'eval', blockedCodeGeneration('eval'));
  for (const sample of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    replace(I.getPrototypeOf(sample) as object, 'constructor', blockedFunction);
  }
  // The runner awaits its own promises after the code has run, and `await` reads `constructor` from them.
  replace(Promise.prototype, 'constructor', Promise);
  // Another fetch event in this instance would start a second run inside the first.
  for (const name of ['addEventListener', 'removeEventListener', 'dispatchEvent']) {
    replace(g, name, function () {
      throw new I.TypeError(`${name} is not available in the sandbox`);
    });
  }
  capAllocations();
}

// ---------------------------------------------------------------------------------------------------------------------
// The budget

export interface Budget {
  /** What the instrumented code calls (frozen). */
  host: { t(): number; r(): never };
  exceeded(): boolean;
  /** Ends the run: from now on every tick throws. */
  close(): void;
  /** Marks the budget as spent (the deadline timer fired while the code was waiting). */
  expire(): void;
}

function timeoutError(timeoutMs: number): Error {
  const err = new I.Error(`the code ran longer than its time budget of ${timeoutMs} ms`) as Error;
  I.defineProperty(err, 'name', { value: 'TimeoutError', writable: true, configurable: true, enumerable: false });
  return err;
}

/** The time budget of one run (exported for the instrumenter's unit tests, which run instrumented code on Node). */
export function createBudget(timeoutMs: number): Budget {
  const started = I.now();
  const deadline = started + timeoutMs;
  let last = started;
  let every = 64;
  let spent = false;
  let closed = false;
  // One error for every throw: code that catches and retries at depth would otherwise pay a stack capture per tick.
  const stop = timeoutError(timeoutMs);
  const host = I.freeze({
    t(): number {
      if (closed) throw stop;
      const now = I.now();
      if (spent || now >= deadline) {
        spent = true;
        throw stop;
      }
      // Aim for a clock reading about every millisecond, whatever one iteration costs.
      const dt = now - last;
      last = now;
      if (dt > 1) every = I.max(1, every >> 1);
      else if (dt < 0.25 && every < 1 << 14) every <<= 1;
      return every;
    },
    r(): never {
      throw new I.RangeError(`Maximum call depth of ${SANDBOX_LIMITS.callDepth} exceeded (unbounded recursion?)`);
    },
  });
  return {
    host,
    exceeded: () => spent,
    close: () => {
      closed = true;
    },
    expire: () => {
      spent = true;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Console and timers seen by the code

type Level = RunReport['logs'][number]['level'];

interface Output {
  logs: RunReport['logs'];
  truncated: boolean;
  console: object;
}

function createConsole(): Output {
  const out: Output = { logs: [], truncated: false, console: {} };
  let used = 0;
  const write = (level: Level, message: string) => {
    if (out.truncated) return;
    const room = SANDBOX_LIMITS.outputChars - used;
    if (message.length > room) {
      out.truncated = true;
      message = message.slice(0, room);
      if (message === '') return;
    }
    used += message.length;
    out.logs.push({ level, message });
  };
  // `I.apply`, not a spread: the code may have replaced the array iterator.
  const method = (level: Level) =>
    function (...args: unknown[]) {
      write(level, I.apply(format, undefined, args) as string);
    };
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  out.console = I.freeze({
    log: method('log'),
    info: method('info'),
    debug: method('debug'),
    warn: method('warn'),
    error: method('error'),
    trace: method('error'),
    dir: (v: unknown) => write('log', inspect(v)),
    assert: (ok: unknown, ...args: unknown[]) => {
      if (!ok) write('error', args.length > 0 ? `Assertion failed: ${I.apply(format, undefined, args) as string}` : 'Assertion failed');
    },
    count: (label = 'default') => {
      const n = (counts.get(String(label)) ?? 0) + 1;
      counts.set(String(label), n);
      write('info', `${String(label)}: ${n}`);
    },
    time: (label = 'default') => void timers.set(String(label), I.now()),
    timeEnd: (label = 'default') => {
      const t = timers.get(String(label));
      if (t !== undefined) write('info', `${String(label)}: ${(I.now() - t).toFixed(3)}ms`);
      timers.delete(String(label));
    },
  });
  return out;
}

interface Timers {
  pending(): number;
  clearAll(): void;
  /** The first exception thrown by a timer callback. */
  error: { value: unknown } | undefined;
  onChange: () => void;
}

function installTimers(): Timers {
  const live = new Map<unknown, unknown>();
  const timers: Timers = {
    pending: () => live.size,
    clearAll: () => {
      for (const id of live.values()) I.clearTimeout(id as number);
      live.clear();
    },
    error: undefined,
    onChange: () => {},
  };
  let nextId = 1;
  const schedule = (repeat: boolean) =>
    function (fn: unknown, ms?: unknown, ...args: unknown[]): number {
      if (typeof fn !== 'function') throw new I.TypeError('the sandbox only schedules functions, not strings of code');
      const id = nextId++;
      const delay = I.max(0, Number(ms) || 0);
      const fire = () => {
        if (repeat) live.set(id, I.setTimeout(fire, delay));
        else live.delete(id);
        try {
          I.apply(fn as Function, undefined, args);
        } catch (err) {
          timers.error ??= { value: err };
        }
        timers.onChange();
      };
      live.set(id, I.setTimeout(fire, delay));
      return id;
    };
  const clear = (id: unknown) => {
    const real = live.get(id);
    if (real !== undefined) I.clearTimeout(real as number);
    live.delete(id);
    timers.onChange();
  };
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = schedule(false);
  g.setInterval = schedule(true);
  g.clearTimeout = clear;
  g.clearInterval = clear;
  return timers;
}

// ---------------------------------------------------------------------------------------------------------------------
// Running

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

function outcome(promise: Promise<unknown>): Promise<Settled> {
  return new I.Promise((resolve) => {
    I.apply(I.then, promise, [(value: unknown) => resolve({ ok: true, value }), (error: unknown) => resolve({ ok: false, error })]);
  });
}

function describeError(value: unknown, kind: 'runtime'): NonNullable<RunReport['error']> {
  if (value === 'out of memory' || (value instanceof I.Error && (value as Error).message === 'out of memory')) {
    return { kind: 'memory', name: 'OutOfMemory', message: 'the engine ran out of memory' };
  }
  try {
    if (value instanceof I.Error) {
      const err = value as Error;
      const frames = userFrames(typeof err.stack === 'string' ? err.stack : '');
      const out: NonNullable<RunReport['error']> = { kind, name: String(err.name), message: String(err.message) };
      if (frames.length > 0) out.stack = frames.map((f) => (f.startsWith('... ') ? `    ${f}` : `    at ${f}`)).join('\n');
      return out;
    }
    return { kind, name: 'Thrown', message: `Uncaught ${inspect(value)}` };
  } catch (err) {
    return { kind, name: 'Thrown', message: `Uncaught value that cannot be described (${describeThrown(err)})` };
  }
}

function syntaxReport(err: CodeSyntaxError | SyntaxError, request: RunRequest): RunReport {
  const error: NonNullable<RunReport['error']> = { kind: 'syntax', name: 'SyntaxError', message: err.message };
  if (err instanceof CodeSyntaxError) {
    if (err.line !== undefined) error.line = err.line;
    if (err.column !== undefined) error.column = err.column;
  }
  return emptyReport(request, error);
}

function emptyReport(request: RunRequest, error: RunReport['error']): RunReport {
  return {
    stdout: '',
    stderr: '',
    logs: [],
    resultJson: 'null',
    resultText: undefined,
    error,
    durationMs: 0,
    truncated: false,
    timedOut: false,
    language: request.language,
  };
}

/** Runs the code and reports what happened; never throws for anything the code does. */
export async function run(request: RunRequest, options: RunOptions = {}): Promise<RunReport> {
  let source = request.code;
  let factory: (host: object) => () => Promise<unknown>;
  try {
    if (request.language === 'typescript') source = stripTypes(source);
    const { body } = instrument(source, { maxDepth: SANDBOX_LIMITS.callDepth, bare: options.bare });
    lockdown();
    factory = new I.Function('__sbx$k', body) as typeof factory;
  } catch (err) {
    if (err instanceof CodeSyntaxError || err instanceof SyntaxError) return syntaxReport(err, request);
    throw err;
  }

  const budget = createBudget(request.timeoutMs);
  const output = createConsole();
  (globalThis as unknown as Record<string, unknown>).console = output.console;
  const timers = installTimers();
  let deadlineFired = false;
  let wake: () => void = () => {};
  const deadline = I.setTimeout(() => {
    deadlineFired = true;
    budget.expire();
    wake();
  }, request.timeoutMs);
  timers.onChange = () => wake();

  const started = I.now();
  let settled: Settled;
  try {
    const main = factory(budget.host);
    // A race by hand: `Promise.race` reads statics and iterators the code may have replaced.
    settled = await new I.Promise<Settled>((resolve) => {
      wake = () => {
        if (deadlineFired) resolve({ ok: false, error: timeoutError(request.timeoutMs) });
      };
      I.apply(I.then, outcome(I.apply(main, undefined, []) as Promise<unknown>), [resolve]);
    });
    // Like Node, a script is done when its timers are: wait for them, within the budget.
    while (settled.ok && timers.pending() > 0 && !deadlineFired && !budget.exceeded()) {
      await new I.Promise<void>((resolve) => {
        wake = () => resolve();
      });
    }
  } catch (err) {
    // The synchronous part of the code threw through `main()` itself (cannot normally happen for an async function).
    settled = { ok: false, error: err };
  }
  const durationMs = I.round((I.now() - started) * 100) / 100;

  let error: RunReport['error'] = null;
  if (budget.exceeded() || deadlineFired) {
    error = { kind: 'timeout', name: 'TimeoutError', message: `the code ran longer than its time budget of ${request.timeoutMs} ms` };
  } else if (!settled.ok) error = describeError(settled.error, 'runtime');
  else if (timers.error) error = describeError(timers.error.value, 'runtime');

  // Rendering the value may call the code's own toJSON or proxies: still under the budget.
  let resultJson = 'null';
  let resultText: string | undefined;
  let truncated = output.truncated;
  if (settled.ok && settled.value !== undefined) {
    try {
      resultText = inspect(settled.value);
    } catch (err) {
      resultText = `[unformattable: ${describeThrown(err)}]`;
    }
    if (resultText.length > SANDBOX_LIMITS.resultChars) {
      resultText = resultText.slice(0, SANDBOX_LIMITS.resultChars);
      truncated = true;
    }
    try {
      const json = I.stringify(settled.value) as string | undefined;
      if (typeof json === 'string') {
        if (json.length > SANDBOX_LIMITS.resultChars) truncated = true;
        else resultJson = json;
      }
    } catch {
      // Not representable as JSON (a cycle, a BigInt): `resultText` has it.
    }
  }
  budget.close();
  timers.clearAll();
  I.clearTimeout(deadline);

  let stdout = '';
  let stderr = '';
  // Index loops: the code may have replaced the array iterator.
  for (let i = 0; i < output.logs.length; i++) {
    const entry = output.logs[i]!;
    if (entry.level === 'warn' || entry.level === 'error') stderr += `${entry.message}\n`;
    else stdout += `${entry.message}\n`;
  }
  return {
    stdout,
    stderr,
    logs: output.logs,
    resultJson,
    resultText,
    error,
    durationMs,
    truncated,
    timedOut: error?.kind === 'timeout',
    language: request.language,
  };
}

/**
 * The report as the JSON body of the answer, built by concatenation with the captured `JSON.stringify` applied
 * to strings only (no objects, whose `toJSON` the code could have planted on a prototype).
 */
export function renderReport(r: RunReport): string {
  const q = (s: string) => I.stringify(s) as string;
  let logs = '';
  for (let i = 0; i < r.logs.length; i++) {
    const e = r.logs[i]!;
    logs += `${i > 0 ? ',' : ''}{"level":${q(e.level)},"message":${q(e.message)}}`;
  }
  let error = 'null';
  if (r.error) {
    const e = r.error;
    error = `{"kind":${q(e.kind)},"name":${q(e.name)},"message":${q(e.message)}`;
    if (e.stack !== undefined) error += `,"stack":${q(e.stack)}`;
    if (e.line !== undefined) error += `,"line":${e.line}`;
    if (e.column !== undefined) error += `,"column":${e.column}`;
    error += '}';
  }
  return (
    `{"stdout":${q(r.stdout)},"stderr":${q(r.stderr)},"logs":[${logs}],"result":${r.resultJson}` +
    (r.resultText !== undefined ? `,"resultText":${q(r.resultText)}` : '') +
    `,"error":${error},"durationMs":${r.durationMs},"truncated":${r.truncated},"timedOut":${r.timedOut},"language":${q(r.language)}}`
  );
}

/** Lines before the submitted code in a stack position (the `Function` header and the wrapper). */
export const CODE_LINE_OFFSET = 2 + WRAPPER_LINES;
