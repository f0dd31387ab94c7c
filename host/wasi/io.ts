/**
 * `wasi:io` (error, poll, streams) for the host.
 *
 * Every byte stream a guest sees (request and response bodies, stdio) is a {@link ByteQueue}: a producer pushes
 * chunks, a consumer reads them, and either side can wait. The blocking WASI calls (`poll`, `pollable.block`,
 * `blocking-read`, `blocking-write-and-flush`, …) return Promises; the component is transpiled with JSPI so the
 * guest suspends while Node keeps serving other requests. This is what preview2-shim does not do: it blocks the
 * whole process on a worker thread for every outbound call.
 *
 * @module
 */

/** `wasi:io/error.error`. */
export class IoError {
  readonly message: string;
  /** The `wasi:http` error code this I/O error stands for, when it came from an HTTP body. */
  readonly httpErrorCode: unknown;
  constructor(message: string, httpErrorCode?: unknown) {
    this.message = message;
    this.httpErrorCode = httpErrorCode;
  }
  toDebugString(): string {
    return this.message;
  }
}

/** Thrown as the error payload of a stream operation (jco maps a thrown plain object to `result::err`). */
export type StreamError = { tag: 'closed' } | { tag: 'last-operation-failed'; val: IoError };

const CLOSED: StreamError = Object.freeze({ tag: 'closed' }) as StreamError;

function failed(err: unknown): StreamError {
  if (err instanceof IoError) return { tag: 'last-operation-failed', val: err };
  return { tag: 'last-operation-failed', val: new IoError(err instanceof Error ? err.message : String(err)) };
}

type Waiter = () => void;

function wake(waiters: Waiter[]): void {
  const list = waiters.splice(0);
  for (const w of list) w();
}

/**
 * A bounded queue of byte chunks between one producer and one consumer.
 * `highWaterMark` bounds what a producer may buffer before it has to wait (backpressure for guest writes).
 */
export class ByteQueue {
  readonly highWaterMark: number;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #ended = false;
  #error: unknown = undefined;
  #cancelled = false;
  #readWaiters: Waiter[] = [];
  #spaceWaiters: Waiter[] = [];
  /** Total bytes ever pushed. */
  bytesIn = 0;

  constructor(highWaterMark = 1 << 20) {
    this.highWaterMark = highWaterMark;
  }

  static from(data: Uint8Array | string): ByteQueue {
    const q = new ByteQueue();
    if (data.length > 0) q.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    q.end();
    return q;
  }

  get size(): number {
    return this.#size;
  }
  get ended(): boolean {
    return this.#ended;
  }
  get errored(): boolean {
    return this.#error !== undefined;
  }
  get error(): unknown {
    return this.#error;
  }
  /** The consumer went away: further pushes are refused. */
  get cancelled(): boolean {
    return this.#cancelled;
  }
  /** Data, end of stream or an error is available to the consumer. */
  get readable(): boolean {
    return this.#size > 0 || this.#ended || this.#error !== undefined;
  }
  /** Bytes the producer may push now without exceeding the high-water mark. */
  get capacity(): number {
    if (this.#ended || this.#cancelled || this.#error !== undefined) return 0;
    return Math.max(0, this.highWaterMark - this.#size);
  }
  get writable(): boolean {
    return this.capacity > 0 || this.#ended || this.#cancelled || this.#error !== undefined;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended || this.#cancelled) return;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    this.bytesIn += chunk.length;
    wake(this.#readWaiters);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    wake(this.#readWaiters);
    wake(this.#spaceWaiters);
  }

  fail(err: unknown): void {
    if (this.#error !== undefined || this.#ended) return;
    this.#error = err ?? new Error('stream failed');
    wake(this.#readWaiters);
    wake(this.#spaceWaiters);
  }

  /** The consumer stops reading: drop what is buffered and refuse further data. */
  cancel(): void {
    this.#cancelled = true;
    this.#chunks = [];
    this.#size = 0;
    wake(this.#readWaiters);
    wake(this.#spaceWaiters);
  }

  /**
   * Takes up to `max` bytes. Returns `null` at end of stream, an empty array when nothing is buffered yet,
   * and throws the stored error once the buffered data is consumed.
   */
  take(max: number): Uint8Array | null {
    if (this.#size === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended || this.#cancelled) return null;
      return new Uint8Array(0);
    }
    const first = this.#chunks[0]!;
    let out: Uint8Array;
    if (first.length <= max) {
      this.#chunks.shift();
      out = first;
      // Coalesce small chunks so a reader asking for a lot gets a lot.
      while (this.#chunks.length > 0 && out.length + this.#chunks[0]!.length <= max) {
        const next = this.#chunks.shift()!;
        const merged = new Uint8Array(out.length + next.length);
        merged.set(out);
        merged.set(next, out.length);
        out = merged;
      }
    } else {
      out = first.subarray(0, max);
      this.#chunks[0] = first.subarray(max);
    }
    this.#size -= out.length;
    if (this.#size < this.highWaterMark) wake(this.#spaceWaiters);
    return out;
  }

  /** Resolves when {@link readable}. */
  waitReadable(): Promise<void> {
    if (this.readable || this.#cancelled) return Promise.resolve();
    return new Promise((resolve) => this.#readWaiters.push(resolve));
  }

  /** Resolves when {@link writable}. */
  waitWritable(): Promise<void> {
    if (this.writable) return Promise.resolve();
    return new Promise((resolve) => this.#spaceWaiters.push(resolve));
  }

  /** Reads the whole stream into one buffer. */
  async readAll(limit = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      await this.waitReadable();
      const chunk = this.take(1 << 20);
      if (chunk === null) break;
      total += chunk.length;
      if (total > limit) throw new Error(`body exceeds ${limit} bytes`);
      parts.push(chunk);
    }
    return concat(parts, total);
  }

  /** Iterates the chunks as they arrive. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      await this.waitReadable();
      const chunk = this.take(1 << 20);
      if (chunk === null) return;
      if (chunk.length > 0) yield chunk;
    }
  }
}

function concat(parts: Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** `wasi:io/poll.pollable`: a readiness check plus a way to wait for it. */
export class Pollable {
  #isReady: () => boolean;
  #wait: () => Promise<void>;
  #dispose: (() => void) | undefined;

  constructor(isReady: () => boolean, wait: () => Promise<void>, dispose?: () => void) {
    this.#isReady = isReady;
    this.#wait = wait;
    this.#dispose = dispose;
  }

  ready(): boolean {
    return this.#isReady();
  }

  block(): Promise<void> | undefined {
    return this.#isReady() ? undefined : this.#wait();
  }

  /** @internal used by {@link poll} */
  wait(): Promise<void> {
    return this.#isReady() ? Promise.resolve() : this.#wait();
  }

  [Symbol.dispose](): void {
    this.#dispose?.();
  }
}

function readyIndices(list: Pollable[]): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < list.length; i++) if (list[i]!.ready()) out.push(i);
  return Uint32Array.from(out);
}

/** `wasi:io/poll.poll`: the indices of the ready pollables, waiting until at least one is ready. */
export function poll(list: Pollable[]): Uint32Array | Promise<Uint32Array> {
  if (list.length === 0) throw new Error('wasi:io/poll.poll called with an empty list');
  const ready = readyIndices(list);
  if (ready.length > 0) return ready;
  return waitForReady(list);
}

/** The contract is at least one index: a wait that settled without its pollable being ready is waited again. */
async function waitForReady(list: Pollable[]): Promise<Uint32Array> {
  for (;;) {
    await Promise.race(list.map((p) => p.wait()));
    const ready = readyIndices(list);
    if (ready.length > 0) return ready;
    // Let I/O and timers run before asking again, so a wait that keeps settling early cannot starve the loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** `wasi:io/streams.input-stream` reading from a {@link ByteQueue}. */
export class InputStream {
  readonly queue: ByteQueue;
  #onDrop: (() => void) | undefined;

  constructor(queue: ByteQueue, onDrop?: () => void) {
    this.queue = queue;
    this.#onDrop = onDrop;
  }

  read(len: bigint): Uint8Array {
    let chunk: Uint8Array | null;
    try {
      chunk = this.queue.take(clampLen(len));
    } catch (err) {
      throw failed(err);
    }
    if (chunk === null) throw CLOSED;
    return chunk;
  }

  async blockingRead(len: bigint): Promise<Uint8Array> {
    await this.queue.waitReadable();
    return this.read(len);
  }

  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }

  async blockingSkip(len: bigint): Promise<bigint> {
    return BigInt((await this.blockingRead(len)).length);
  }

  subscribe(): Pollable {
    const q = this.queue;
    return new Pollable(
      () => q.readable || q.cancelled,
      () => q.waitReadable(),
    );
  }

  [Symbol.dispose](): void {
    this.#onDrop?.();
  }
}

function clampLen(len: bigint): number {
  return len > 0x7fff_ffffn ? 0x7fff_ffff : Number(len);
}

/** Where an {@link OutputStream} writes to. */
export interface ByteSink {
  /** Bytes that may be written now (0 means wait). */
  capacity(): number;
  write(chunk: Uint8Array): void;
  waitWritable(): Promise<void>;
  /** Throws a {@link StreamError} when the sink is closed or failed. */
  check(): void;
  flush?(): Promise<void> | void;
}

/** A sink that accepts everything at once (stdio, logs). */
export function callbackSink(write: (chunk: Uint8Array) => void): ByteSink {
  return {
    capacity: () => 1 << 20,
    write,
    waitWritable: () => Promise.resolve(),
    check: () => {},
  };
}

/** A sink feeding a {@link ByteQueue} that another party consumes. */
export function queueSink(queue: ByteQueue): ByteSink {
  return {
    capacity: () => queue.capacity,
    write: (chunk) => queue.push(chunk),
    waitWritable: () => queue.waitWritable(),
    check: () => {
      if (queue.errored) throw failed(queue.error);
      if (queue.ended || queue.cancelled) throw CLOSED;
    },
  };
}

/** `wasi:io/streams.output-stream`. */
export class OutputStream {
  readonly sink: ByteSink;
  #onDrop: (() => void) | undefined;

  constructor(sink: ByteSink, onDrop?: () => void) {
    this.sink = sink;
    this.#onDrop = onDrop;
  }

  checkWrite(): bigint {
    this.sink.check();
    return BigInt(this.sink.capacity());
  }

  write(contents: Uint8Array): void {
    this.sink.check();
    this.sink.write(contents);
  }

  async blockingWriteAndFlush(contents: Uint8Array): Promise<void> {
    let off = 0;
    while (off < contents.length) {
      this.sink.check();
      let cap = this.sink.capacity();
      if (cap === 0) {
        await this.sink.waitWritable();
        this.sink.check();
        cap = Math.max(1, this.sink.capacity());
      }
      const end = Math.min(contents.length, off + cap);
      this.sink.write(off === 0 && end === contents.length ? contents : contents.subarray(off, end));
      off = end;
    }
    await this.sink.flush?.();
  }

  flush(): void {
    this.sink.check();
  }

  async blockingFlush(): Promise<void> {
    this.sink.check();
    await this.sink.flush?.();
  }

  subscribe(): Pollable {
    const sink = this.sink;
    return new Pollable(
      () => {
        try {
          sink.check();
        } catch {
          return true;
        }
        return sink.capacity() > 0;
      },
      () => sink.waitWritable(),
    );
  }

  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(clampLen(len)));
  }

  blockingWriteZeroesAndFlush(len: bigint): Promise<void> {
    return this.blockingWriteAndFlush(new Uint8Array(clampLen(len)));
  }

  splice(src: InputStream, len: bigint): bigint {
    const cap = BigInt(this.sink.capacity());
    const chunk = src.read(len < cap ? len : cap);
    this.write(chunk);
    return BigInt(chunk.length);
  }

  async blockingSplice(src: InputStream, len: bigint): Promise<bigint> {
    const chunk = await src.blockingRead(len);
    await this.blockingWriteAndFlush(chunk);
    return BigInt(chunk.length);
  }

  [Symbol.dispose](): void {
    this.#onDrop?.();
  }
}
