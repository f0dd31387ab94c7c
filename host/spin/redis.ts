/**
 * `fermyon:spin/redis@2.0.0` over real Redis connections, pooled per address and shared by every component and
 * instance of the app.
 *
 * The host speaks RESP2 itself (a small client below) rather than through a general-purpose library, because the
 * interface distinguishes a status reply (`+OK`) from a bulk string, which client libraries fold together.
 *
 * `open` checks the address against `allowed_outbound_hosts` (scheme `redis`, default port 6379) and, as on Spin,
 * answers a denied or unparsable address with `invalid-address`. It connects once so that an unreachable server
 * fails at `open` (`other`, with the reason).
 *
 * Difference from Spin: Spin's connection resource keeps one multiplexed connection for its lifetime. Here each call
 * borrows a pooled connection for that command (a guest instance is discarded without dropping its resources, so
 * a held connection would leak). Commands that change a connection's session (`SELECT`, `MULTI`, `WATCH`,
 * `SUBSCRIBE`, `CLIENT`, `AUTH`, `RESET`, …) retire the connection instead of returning it, so no session state
 * leaks into another guest; a transaction must therefore be sent as one `execute` per step on Spin and is not
 * supported across calls here.
 *
 * @module
 */
import { createConnection, type Socket } from 'node:net';
import { denialMessage, type AllowedHosts } from '../outbound-hosts.ts';

/** `fermyon:spin/redis.error`. */
export type RedisError =
  { tag: 'invalid-address' } | { tag: 'too-many-connections' } | { tag: 'type-error' } | { tag: 'other'; val: string };

/** `redis-parameter`. */
export type RedisParameter = { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };

/** `redis-result`. */
export type RedisResult =
  { tag: 'nil' } | { tag: 'status'; val: string } | { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };

/** A decoded RESP2 reply. */
export type Reply =
  | { type: 'status'; value: string }
  | { type: 'error'; value: string }
  | { type: 'integer'; value: bigint }
  | { type: 'bulk'; value: Uint8Array | null }
  | { type: 'array'; value: Reply[] | null };

/** Connections kept per address; a guest beyond this waits for one to be returned. */
const MAX_CONNECTIONS_PER_ADDRESS = 32;
/** How long an unused pooled connection stays open. */
const IDLE_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;

/** Commands after which a connection is not returned to the pool (they change the connection's session). */
const SESSION_COMMANDS = new Set([
  'SELECT',
  'MULTI',
  'EXEC',
  'DISCARD',
  'WATCH',
  'UNWATCH',
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'MONITOR',
  'CLIENT',
  'AUTH',
  'HELLO',
  'RESET',
  'READONLY',
  'READWRITE',
  'QUIT',
]);

export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/** Parses `redis://[user:pass@]host[:port][/db]` (and `rediss://`); throws on anything else. */
export function parseRedisAddress(address: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new Error(`not a redis URL: ${JSON.stringify(address)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`unsupported scheme ${url.protocol.slice(0, -1)}`);
  if (!url.hostname) throw new Error('the address names no host');
  const path = url.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new Error(`database must be a non-negative integer, got ${JSON.stringify(path)}`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host,
    port: url.port ? Number(url.port) : 6379,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    tls: url.protocol === 'rediss:',
  };
}

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * Decodes one reply from `buf` at `offset`: the reply and the offset after it, or undefined when `buf` does not
 * hold a whole reply yet.
 */
export function decodeReply(buf: Buffer, offset = 0): { reply: Reply; next: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const kind = String.fromCharCode(buf[offset]!);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (kind) {
    case '+':
      return { reply: { type: 'status', value: line }, next: after };
    case '-':
      return { reply: { type: 'error', value: line }, next: after };
    case ':':
      return { reply: { type: 'integer', value: BigInt(line) }, next: after };
    case '$': {
      const n = Number(line);
      if (n < 0) return { reply: { type: 'bulk', value: null }, next: after };
      if (buf.length < after + n + 2) return undefined;
      return { reply: { type: 'bulk', value: new Uint8Array(buf.subarray(after, after + n)) }, next: after + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { reply: { type: 'array', value: null }, next: after };
      const items: Reply[] = [];
      let at = after;
      for (let i = 0; i < n; i++) {
        const item = decodeReply(buf, at);
        if (!item) return undefined;
        items.push(item.reply);
        at = item.next;
      }
      return { reply: { type: 'array', value: items }, next: at };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(kind)}`);
  }
}

/** One RESP2 connection; commands are answered in order. */
class RespConnection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #waiting: { resolve(r: Reply): void; reject(e: Error): void }[] = [];
  #failed: Error | undefined;
  idleTimer: NodeJS.Timeout | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  static async connect(address: RedisAddress): Promise<RespConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: address.host, port: address.port });
      const timer = setTimeout(() => s.destroy(new Error(`connecting to ${address.host}:${address.port} timed out`)), CONNECT_TIMEOUT_MS);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    socket.setNoDelay(true);
    const conn = new RespConnection(socket);
    if (address.password !== undefined) {
      const auth = await conn.send(
        address.username !== undefined ? ['AUTH', address.username, address.password] : ['AUTH', address.password],
      );
      if (auth.type === 'error') {
        conn.close();
        throw new Error(auth.value);
      }
    }
    if (address.db !== 0) {
      const sel = await conn.send(['SELECT', String(address.db)]);
      if (sel.type === 'error') {
        conn.close();
        throw new Error(sel.value);
      }
    }
    return conn;
  }

  get usable(): boolean {
    return this.#failed === undefined;
  }

  send(args: (string | Uint8Array)[]): Promise<Reply> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#socket.write(encodeCommand(args));
    });
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let offset = 0;
    try {
      while (this.#waiting.length > 0) {
        const decoded = decodeReply(this.#buffer, offset);
        if (!decoded) break;
        offset = decoded.next;
        this.#waiting.shift()!.resolve(decoded.reply);
      }
    } catch (err) {
      this.#fail(err as Error);
      this.#socket.destroy();
      return;
    }
    this.#buffer = this.#buffer.subarray(offset);
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }
}

/** Idle connections per address, with a cap on how many are open at once. */
class Pool {
  readonly #address: RedisAddress;
  readonly #idle: RespConnection[] = [];
  readonly #queue: ((c: RespConnection | Error) => void)[] = [];
  #open = 0;

  constructor(address: RedisAddress) {
    this.#address = address;
  }

  async acquire(): Promise<RespConnection> {
    for (let c = this.#idle.pop(); c; c = this.#idle.pop()) {
      clearTimeout(c.idleTimer);
      if (c.usable) return c;
      this.#open--;
      c.close();
    }
    if (this.#open >= MAX_CONNECTIONS_PER_ADDRESS) {
      const got = await new Promise<RespConnection | Error>((resolve) => this.#queue.push(resolve));
      if (got instanceof Error) throw got;
      return got;
    }
    this.#open++;
    try {
      return await RespConnection.connect(this.#address);
    } catch (err) {
      this.#open--;
      throw err;
    }
  }

  release(c: RespConnection, reusable: boolean): void {
    if (!reusable || !c.usable) {
      this.#open--;
      c.close();
      // A waiter gets a fresh connection instead.
      const next = this.#queue.shift();
      if (next) {
        this.#open++;
        RespConnection.connect(this.#address).then(next, (err: Error) => {
          this.#open--;
          next(err);
        });
      }
      return;
    }
    const next = this.#queue.shift();
    if (next) return next(c);
    c.idleTimer = setTimeout(() => {
      const i = this.#idle.indexOf(c);
      if (i !== -1) this.#idle.splice(i, 1);
      this.#open--;
      c.close();
    }, IDLE_MS);
    c.idleTimer.unref();
    this.#idle.push(c);
  }

  close(): void {
    for (const c of this.#idle.splice(0)) c.close();
    for (const w of this.#queue.splice(0)) w(new Error('the app is shutting down'));
  }
}

/** Every Redis pool of an app, keyed by the guest's address string. */
export class RedisPools {
  readonly #pools = new Map<string, Pool>();

  get(address: string, parsed: RedisAddress): Pool {
    let pool = this.#pools.get(address);
    if (!pool) {
      pool = new Pool(parsed);
      this.#pools.set(address, pool);
    }
    return pool;
  }

  close(): void {
    for (const p of this.#pools.values()) p.close();
    this.#pools.clear();
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const decoder = new TextDecoder();

interface RedisConnection {
  publish(channel: string, payload: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
  incr(key: string): Promise<bigint>;
  del(keys: string[]): Promise<number>;
  sadd(key: string, values: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  srem(key: string, values: string[]): Promise<number>;
  execute(command: string, args: RedisParameter[]): Promise<RedisResult[]>;
}

export interface RedisImport {
  Connection: { open(address: string): Promise<RedisConnection> };
}

/** Flattens a reply into `redis-result`s as Spin does (arrays are spliced in, errors fail the call). */
function toResults(reply: Reply, out: RedisResult[] = []): RedisResult[] {
  switch (reply.type) {
    case 'status':
      out.push({ tag: 'status', val: reply.value });
      break;
    case 'integer':
      out.push({ tag: 'int64', val: reply.value });
      break;
    case 'bulk':
      out.push(reply.value === null ? { tag: 'nil' } : { tag: 'binary', val: reply.value });
      break;
    case 'array':
      if (reply.value === null) out.push({ tag: 'nil' });
      else for (const r of reply.value) toResults(r, out);
      break;
    case 'error':
      throw { tag: 'other', val: reply.value } satisfies RedisError;
  }
  return out;
}

export function redisImport(allowed: AllowedHosts, log: (line: string) => void, pools: RedisPools): RedisImport {
  class Connection implements RedisConnection {
    readonly #pool: Pool;

    private constructor(pool: Pool) {
      this.#pool = pool;
    }

    static async open(address: string): Promise<Connection> {
      let parsed: RedisAddress;
      try {
        parsed = parseRedisAddress(address);
      } catch {
        throw { tag: 'invalid-address' } satisfies RedisError;
      }
      const scheme = parsed.tls ? 'rediss' : 'redis';
      if (!allowed.allows({ scheme, host: parsed.host, port: parsed.port })) {
        log(denialMessage(scheme, `${parsed.host}:${parsed.port}`));
        throw { tag: 'invalid-address' } satisfies RedisError;
      }
      if (parsed.tls) throw { tag: 'other', val: 'rediss:// (TLS) is not supported by this host' } satisfies RedisError;
      const pool = pools.get(address, parsed);
      let conn: RespConnection;
      try {
        conn = await pool.acquire();
      } catch (err) {
        throw { tag: 'other', val: message(err) } satisfies RedisError;
      }
      pool.release(conn, true);
      return new Connection(pool);
    }

    async #send(args: (string | Uint8Array)[]): Promise<Reply> {
      let conn: RespConnection;
      try {
        conn = await this.#pool.acquire();
      } catch (err) {
        throw { tag: 'other', val: message(err) } satisfies RedisError;
      }
      const name = typeof args[0] === 'string' ? args[0].toUpperCase() : decoder.decode(args[0]).toUpperCase();
      try {
        const reply = await conn.send(args);
        this.#pool.release(conn, !SESSION_COMMANDS.has(name));
        return reply;
      } catch (err) {
        this.#pool.release(conn, false);
        throw { tag: 'other', val: message(err) } satisfies RedisError;
      }
    }

    /** A reply of the expected type, `type-error` for a WRONGTYPE error, `other` for any other error. */
    async #expect<T extends Reply['type']>(args: (string | Uint8Array)[], type: T): Promise<Extract<Reply, { type: T }>> {
      const reply = await this.#send(args);
      if (reply.type === 'error') {
        throw (reply.value.startsWith('WRONGTYPE') ? { tag: 'type-error' } : { tag: 'other', val: reply.value }) satisfies RedisError;
      }
      if (reply.type !== type) throw { tag: 'type-error' } satisfies RedisError;
      return reply as Extract<Reply, { type: T }>;
    }

    async publish(channel: string, payload: Uint8Array): Promise<void> {
      await this.#expect(['PUBLISH', channel, payload], 'integer');
    }

    async get(key: string): Promise<Uint8Array | undefined> {
      return (await this.#expect(['GET', key], 'bulk')).value ?? undefined;
    }

    async set(key: string, value: Uint8Array): Promise<void> {
      await this.#expect(['SET', key, value], 'status');
    }

    async incr(key: string): Promise<bigint> {
      return (await this.#expect(['INCR', key], 'integer')).value;
    }

    async del(keys: string[]): Promise<number> {
      return Number((await this.#expect(['DEL', ...keys], 'integer')).value);
    }

    async sadd(key: string, values: string[]): Promise<number> {
      return Number((await this.#expect(['SADD', key, ...values], 'integer')).value);
    }

    async smembers(key: string): Promise<string[]> {
      const reply = await this.#expect(['SMEMBERS', key], 'array');
      return (reply.value ?? []).map((r) => {
        if (r.type !== 'bulk' || r.value === null) throw { tag: 'type-error' } satisfies RedisError;
        return decoder.decode(r.value);
      });
    }

    async srem(key: string, values: string[]): Promise<number> {
      return Number((await this.#expect(['SREM', key, ...values], 'integer')).value);
    }

    async execute(command: string, args: RedisParameter[]): Promise<RedisResult[]> {
      const reply = await this.#send([command, ...args.map((a) => (a.tag === 'int64' ? a.val.toString() : a.val))]);
      return toResults(reply);
    }
  }
  return { Connection };
}
