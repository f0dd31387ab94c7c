/**
 * `wasi:http/types` and `wasi:http/outgoing-handler` (0.2.x) for the host.
 *
 * Inbound requests and outbound responses are plain {@link HostRequest} / {@link HostResponse} values whose bodies
 * are {@link ByteQueue}s, so the same code serves Node's HTTP server, in-process service chaining and outbound
 * network requests. Semantics follow Wasmtime's implementation (the one Spin uses): header names are lower-cased
 * and case-insensitive, headers of received messages are immutable, hop-by-hop headers are forbidden, and a
 * denied or failed outbound request fails on the response future rather than in `handle()`.
 *
 * @module
 */
import { ByteQueue, InputStream, IoError, OutputStream, Pollable, queueSink } from './io.ts';

/** `wasi:http/types.error-code` as jco represents it. */
export type ErrorCode = { tag: string; val?: unknown };

/** A request as the host sees it, before or after it crossed into a component. */
export interface HostRequest {
  method: string;
  pathWithQuery: string;
  scheme: 'http' | 'https';
  authority: string;
  headers: [string, string | Uint8Array][];
  body: ByteQueue;
}

/** A response as the host sees it. */
export interface HostResponse {
  status: number;
  headers: [string, string | Uint8Array][];
  body: ByteQueue;
}

/** Timeouts a guest set on an outbound request (`request-options`), in milliseconds. */
export interface OutboundOptions {
  connectTimeoutMs?: number;
  firstByteTimeoutMs?: number;
  betweenBytesTimeoutMs?: number;
}

/** Sends a guest's outbound request; rejects with an {@link ErrorCode} object. */
export type OutboundSender = (req: HostRequest, options: OutboundOptions) => Promise<HostResponse>;

/** Thrown by the host, in place of a trap, when an {@link ErrorCode} crosses back to a guest. */
export class HttpErrorCodeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? `HTTP error: ${code.tag}${code.val === undefined ? '' : ` (${JSON.stringify(code.val)})`}`);
    this.code = code;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Wasmtime's `DEFAULT_FORBIDDEN_HEADERS`: hop-by-hop headers a guest may neither set nor see set by it.
const FORBIDDEN = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'host',
  'http2-settings',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function validName(name: string): boolean {
  return TOKEN.test(name);
}

function validValue(value: Uint8Array): boolean {
  for (const b of value) if (b === 0 || b === 10 || b === 13 || b === 127 || (b < 32 && b !== 9)) return false;
  return true;
}

function toBytes(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? encoder.encode(v) : v;
}

/** `wasi:http/types.fields`. */
export class Fields {
  #map = new Map<string, Uint8Array[]>();
  #immutable = false;

  /** Host-side construction: no validation, optionally immutable (headers of received messages). */
  static fromHost(entries: Iterable<[string, string | Uint8Array]>, immutable = true): Fields {
    const f = new Fields();
    for (const [name, value] of entries) {
      const key = name.toLowerCase();
      const list = f.#map.get(key);
      if (list) list.push(toBytes(value));
      else f.#map.set(key, [toBytes(value)]);
    }
    f.#immutable = immutable;
    return f;
  }

  static fromList(entries: [string, Uint8Array][]): Fields {
    const f = new Fields();
    for (const [name, value] of entries) f.append(name, value);
    return f;
  }

  /** Makes the fields read-only; used when they become a child of a request or response. */
  freeze(): this {
    this.#immutable = true;
    return this;
  }

  #check(name: string): string {
    if (this.#immutable) throw { tag: 'immutable' };
    if (!validName(name)) throw { tag: 'invalid-syntax' };
    const key = name.toLowerCase();
    if (FORBIDDEN.has(key)) throw { tag: 'forbidden' };
    return key;
  }

  get(name: string): Uint8Array[] {
    return [...(this.#map.get(name.toLowerCase()) ?? [])];
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  set(name: string, values: Uint8Array[]): void {
    const key = this.#check(name);
    for (const v of values) if (!validValue(v)) throw { tag: 'invalid-syntax' };
    if (values.length === 0) this.#map.delete(key);
    else this.#map.set(key, [...values]);
  }

  delete(name: string): void {
    const key = this.#check(name);
    this.#map.delete(key);
  }

  append(name: string, value: Uint8Array): void {
    const key = this.#check(name);
    if (!validValue(value)) throw { tag: 'invalid-syntax' };
    const list = this.#map.get(key);
    if (list) list.push(value);
    else this.#map.set(key, [value]);
  }

  entries(): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (const [k, vs] of this.#map) for (const v of vs) out.push([k, v]);
    return out;
  }

  clone(): Fields {
    const f = new Fields();
    for (const [k, vs] of this.#map) f.#map.set(k, [...vs]);
    return f;
  }

  /** Value of the first field with this name as text. */
  first(name: string): string | undefined {
    const v = this.#map.get(name.toLowerCase())?.[0];
    return v === undefined ? undefined : decoder.decode(v);
  }
}

function methodToWasi(method: string): { tag: string; val?: string } {
  const m = method.toUpperCase();
  switch (m) {
    case 'GET':
    case 'HEAD':
    case 'POST':
    case 'PUT':
    case 'DELETE':
    case 'CONNECT':
    case 'OPTIONS':
    case 'TRACE':
    case 'PATCH':
      return { tag: m.toLowerCase() };
    default:
      return { tag: 'other', val: method };
  }
}

function methodFromWasi(m: { tag: string; val?: string }): string {
  return m.tag === 'other' ? String(m.val) : m.tag.toUpperCase();
}

function schemeToWasi(s: string): { tag: string; val?: string } {
  if (s === 'http') return { tag: 'HTTP' };
  if (s === 'https') return { tag: 'HTTPS' };
  return { tag: 'other', val: s };
}

function schemeFromWasi(s: { tag: string; val?: string } | undefined): string | undefined {
  if (!s) return undefined;
  if (s.tag === 'HTTP') return 'http';
  if (s.tag === 'HTTPS') return 'https';
  return s.val;
}

/** `wasi:http/types.incoming-body`. */
export class IncomingBody {
  #queue: ByteQueue;
  #streamTaken = false;

  constructor(queue: ByteQueue) {
    this.#queue = queue;
  }

  stream(): InputStream {
    if (this.#streamTaken) throw undefined;
    this.#streamTaken = true;
    return new InputStream(this.#queue);
  }

  static finish(body: IncomingBody): FutureTrailers {
    return new FutureTrailers(body.#queue);
  }
}

/** `wasi:http/types.future-trailers`: this host never receives trailers, so it settles with `none` at end of body. */
export class FutureTrailers {
  #queue: ByteQueue;
  #taken = false;
  constructor(queue: ByteQueue) {
    this.#queue = queue;
  }
  subscribe(): Pollable {
    const q = this.#queue;
    return new Pollable(
      () => q.ended || q.errored || q.cancelled,
      () => q.waitReadable(),
    );
  }
  get(): unknown {
    const q = this.#queue;
    if (!(q.ended || q.errored || q.cancelled)) return undefined;
    if (this.#taken) return { tag: 'err', val: undefined };
    this.#taken = true;
    if (q.errored) return { tag: 'ok', val: { tag: 'err', val: toErrorCode(q.error) } };
    return { tag: 'ok', val: { tag: 'ok', val: undefined } };
  }
}

/** `wasi:http/types.incoming-request`. */
export class IncomingRequest {
  readonly #req: HostRequest;
  #headers: Fields | undefined;
  #consumed = false;

  constructor(req: HostRequest) {
    this.#req = req;
  }
  method(): { tag: string; val?: string } {
    return methodToWasi(this.#req.method);
  }
  pathWithQuery(): string | undefined {
    return this.#req.pathWithQuery;
  }
  scheme(): { tag: string; val?: string } | undefined {
    return schemeToWasi(this.#req.scheme);
  }
  authority(): string | undefined {
    return this.#req.authority;
  }
  headers(): Fields {
    this.#headers ??= Fields.fromHost(this.#req.headers, true);
    return this.#headers;
  }
  consume(): IncomingBody {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return new IncomingBody(this.#req.body);
  }
}

/** `wasi:http/types.outgoing-body`. */
export class OutgoingBody {
  readonly queue = new ByteQueue(256 * 1024);
  #writeTaken = false;
  #finished = false;
  /** Declared `content-length`, checked when the body finishes. */
  expectedLength: number | undefined;

  write(): OutputStream {
    if (this.#writeTaken) throw undefined;
    this.#writeTaken = true;
    return new OutputStream(queueSink(this.queue));
  }

  static finish(body: OutgoingBody, trailers: Fields | undefined): void {
    body.#finished = true;
    void trailers; // Trailers are accepted and dropped: neither Spin's HTTP/1 listener nor this one sends them.
    const expected = body.expectedLength;
    if (expected !== undefined && body.queue.bytesIn !== expected) {
      const err: ErrorCode = { tag: 'HTTP-response-body-size', val: BigInt(body.queue.bytesIn) };
      body.queue.fail(new HttpErrorCodeError(err, `body has ${body.queue.bytesIn} bytes, content-length says ${expected}`));
      throw err;
    }
    body.queue.end();
  }

  /** A body dropped without `finish` was cut short: the receiver must see an error, not a complete message. */
  [Symbol.dispose](): void {
    if (!this.#finished) this.queue.fail(new IoError('outgoing body dropped before finish'));
  }
}

function contentLength(fields: Fields): number | undefined {
  const v = fields.first('content-length');
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** `wasi:http/types.outgoing-response`. */
export class OutgoingResponse {
  #status = 200;
  readonly #headers: Fields;
  #body: OutgoingBody | undefined;

  constructor(headers: Fields) {
    this.#headers = headers.freeze();
  }
  statusCode(): number {
    return this.#status;
  }
  setStatusCode(code: number): void {
    if (code < 100 || code > 999) throw undefined;
    this.#status = code;
  }
  headers(): Fields {
    return this.#headers;
  }
  body(): OutgoingBody {
    if (this.#body) throw undefined;
    this.#body = new OutgoingBody();
    this.#body.expectedLength = contentLength(this.#headers);
    return this.#body;
  }

  /** @internal the response as the host sends it. */
  toHost(): HostResponse {
    let body = this.#body?.queue;
    if (!body) {
      // The guest handed over a response without ever taking its body: it is empty.
      body = new ByteQueue();
      body.end();
    }
    return { status: this.#status, headers: this.#headers.entries(), body };
  }
}

/** Settles the response of one inbound request. */
export interface ResponseSlot {
  settle(result: { ok: HostResponse } | { err: ErrorCode }): void;
  readonly settled: boolean;
}

/** `wasi:http/types.response-outparam`. */
export class ResponseOutparam {
  readonly #slot: ResponseSlot;
  constructor(slot: ResponseSlot) {
    this.#slot = slot;
  }
  sendInformational(): void {
    throw { tag: 'internal-error', val: 'informational responses are not supported' };
  }
  static set(param: ResponseOutparam, response: { tag: 'ok'; val: OutgoingResponse } | { tag: 'err'; val: ErrorCode }): void {
    if (param.#slot.settled) throw new Error('response-outparam.set called twice');
    if (response.tag === 'ok') param.#slot.settle({ ok: response.val.toHost() });
    else param.#slot.settle({ err: response.val });
  }
}

/** `wasi:http/types.incoming-response`. */
export class IncomingResponse {
  readonly #res: HostResponse;
  #headers: Fields | undefined;
  #consumed = false;
  constructor(res: HostResponse) {
    this.#res = res;
  }
  status(): number {
    return this.#res.status;
  }
  headers(): Fields {
    this.#headers ??= Fields.fromHost(this.#res.headers, true);
    return this.#headers;
  }
  consume(): IncomingBody {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return new IncomingBody(this.#res.body);
  }
}

/** `wasi:http/types.outgoing-request`. */
export class OutgoingRequest {
  readonly #headers: Fields;
  #method = 'GET';
  #path: string | undefined;
  #scheme: string | undefined;
  #authority: string | undefined;
  #body: OutgoingBody | undefined;

  constructor(headers: Fields) {
    this.#headers = headers.freeze();
  }
  body(): OutgoingBody {
    if (this.#body) throw undefined;
    this.#body = new OutgoingBody();
    return this.#body;
  }
  method(): { tag: string; val?: string } {
    return methodToWasi(this.#method);
  }
  setMethod(m: { tag: string; val?: string }): void {
    const name = methodFromWasi(m);
    if (!validName(name)) throw undefined;
    this.#method = name;
  }
  pathWithQuery(): string | undefined {
    return this.#path;
  }
  setPathWithQuery(p: string | undefined): void {
    if (p !== undefined && /[\s]/.test(p)) throw undefined;
    this.#path = p;
  }
  scheme(): { tag: string; val?: string } | undefined {
    return this.#scheme === undefined ? undefined : schemeToWasi(this.#scheme);
  }
  setScheme(s: { tag: string; val?: string } | undefined): void {
    this.#scheme = schemeFromWasi(s);
  }
  authority(): string | undefined {
    return this.#authority;
  }
  setAuthority(a: string | undefined): void {
    if (a !== undefined && /[\s/]/.test(a)) throw undefined;
    this.#authority = a;
  }
  headers(): Fields {
    return this.#headers;
  }

  /** @internal the request as the host sends it. The body ends empty if the guest never took it. */
  toHost(): HostRequest {
    let body = this.#body?.queue;
    if (!body) {
      body = new ByteQueue();
      body.end();
    }
    return {
      method: this.#method,
      pathWithQuery: this.#path ?? '/',
      scheme: (this.#scheme ?? 'http') as 'http' | 'https',
      authority: this.#authority ?? '',
      headers: this.#headers.entries(),
      body,
    };
  }
}

/** `wasi:http/types.request-options`; durations are nanoseconds. */
export class RequestOptions {
  #connect: bigint | undefined;
  #firstByte: bigint | undefined;
  #betweenBytes: bigint | undefined;
  connectTimeout(): bigint | undefined {
    return this.#connect;
  }
  setConnectTimeout(d: bigint | undefined): void {
    this.#connect = d;
  }
  firstByteTimeout(): bigint | undefined {
    return this.#firstByte;
  }
  setFirstByteTimeout(d: bigint | undefined): void {
    this.#firstByte = d;
  }
  betweenBytesTimeout(): bigint | undefined {
    return this.#betweenBytes;
  }
  setBetweenBytesTimeout(d: bigint | undefined): void {
    this.#betweenBytes = d;
  }
  /** @internal */
  toHost(): OutboundOptions {
    const ms = (d: bigint | undefined) => (d === undefined ? undefined : Number(d / 1_000_000n));
    return {
      connectTimeoutMs: ms(this.#connect),
      firstByteTimeoutMs: ms(this.#firstByte),
      betweenBytesTimeoutMs: ms(this.#betweenBytes),
    };
  }
}

/** `wasi:http/types.future-incoming-response`. */
export class FutureIncomingResponse {
  #state: { ok: HostResponse } | { err: ErrorCode } | undefined;
  #taken = false;
  #waiters: (() => void)[] = [];

  constructor(pending: Promise<HostResponse>) {
    pending.then(
      (res) => this.#settle({ ok: res }),
      (err: unknown) => this.#settle({ err: toErrorCode(err) }),
    );
  }

  #settle(state: { ok: HostResponse } | { err: ErrorCode }): void {
    this.#state = state;
    for (const w of this.#waiters.splice(0)) w();
  }

  subscribe(): Pollable {
    return new Pollable(
      () => this.#state !== undefined,
      () => new Promise<void>((resolve) => this.#waiters.push(resolve)),
    );
  }

  get(): unknown {
    if (this.#state === undefined) return undefined;
    if (this.#taken) return { tag: 'err', val: undefined };
    this.#taken = true;
    const s = this.#state;
    if ('ok' in s) return { tag: 'ok', val: { tag: 'ok', val: new IncomingResponse(s.ok) } };
    return { tag: 'ok', val: { tag: 'err', val: s.err } };
  }
}

/** Normalises anything thrown by the host's outbound path into a `wasi:http` error code. */
export function toErrorCode(err: unknown): ErrorCode {
  if (err instanceof HttpErrorCodeError) return err.code;
  if (err && typeof err === 'object' && 'tag' in err && typeof (err as ErrorCode).tag === 'string') return err as ErrorCode;
  if (err instanceof IoError && err.httpErrorCode) return err.httpErrorCode as ErrorCode;
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return { tag: 'connection-refused' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { tag: 'DNS-error', val: { rcode: code, infoCode: undefined } };
    case 'ECONNRESET':
    case 'EPIPE':
      return { tag: 'connection-terminated' };
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { tag: 'connection-timeout' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { tag: 'destination-unavailable' };
    default:
      return { tag: 'internal-error', val: err instanceof Error ? err.message : String(err) };
  }
}

/** `wasi:http/types.http-error-code`. */
export function httpErrorCode(err: IoError): ErrorCode | undefined {
  return err.httpErrorCode as ErrorCode | undefined;
}

/** Builds `wasi:http/outgoing-handler` for one instance. */
export function outgoingHandler(send: OutboundSender): {
  handle: (req: OutgoingRequest, opts: RequestOptions | undefined) => FutureIncomingResponse;
} {
  return {
    handle(req, opts) {
      const hostReq = req.toHost();
      let pending: Promise<HostResponse>;
      try {
        pending = send(hostReq, opts?.toHost() ?? {});
      } catch (err) {
        pending = Promise.reject(err);
      }
      return new FutureIncomingResponse(pending);
    },
  };
}

/** The `wasi:http/types` import object. */
export const httpTypes = {
  Fields,
  IncomingRequest,
  OutgoingRequest,
  RequestOptions,
  ResponseOutparam,
  IncomingResponse,
  IncomingBody,
  FutureTrailers,
  OutgoingResponse,
  OutgoingBody,
  FutureIncomingResponse,
  httpErrorCode,
};
