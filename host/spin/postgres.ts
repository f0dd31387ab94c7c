/**
 * `fermyon:spin/postgres@2.0.0` over real Postgres connections (`pg`), pooled per address and shared by every
 * component and instance of the app.
 *
 * `open` checks every host of the address against the component's `allowed_outbound_hosts` (scheme `postgres`,
 * default port 5432) before any network traffic, then borrows a pooled connection once so that an unreachable
 * server or bad credentials fail at `open` with `connection-failed`, as on Spin.
 *
 * Difference from Spin: Spin's connection resource holds one pooled client for its lifetime, so session state
 * (`BEGIN`…`COMMIT` across calls, `SET`, temporary tables) carries over between calls. Here every `query` and
 * `execute` borrows a client for that statement only, because a guest instance is discarded without dropping its
 * resources and a held client would leak from the pool. A statement that needs a transaction must be one call.
 *
 * Results are read in Postgres's text format and converted by column type OID, so no value is reinterpreted by
 * `pg`'s parsers (dates stay the server's text, `int8` keeps all 64 bits).
 *
 * @module
 */
import pg from 'pg';
import { denialMessage, type AllowedHosts } from '../outbound-hosts.ts';

/** `fermyon:spin/rdbms-types.error` as jco represents it. */
export type PgError =
  | { tag: 'connection-failed'; val: string }
  | { tag: 'bad-parameter'; val: string }
  | { tag: 'query-failed'; val: string }
  | { tag: 'value-conversion-failed'; val: string }
  | { tag: 'other'; val: string };

/** `spin:postgres@3.0.0`'s date and time values: `(year, month, day)`, `(hour, minute, second, nanosecond)`, both. */
type DateTuple = [number, number, number];
type TimeTuple = [number, number, number, number];
type DatetimeTuple = [number, number, number, number, number, number, number];
type DateTimeValue =
  | { tag: 'date'; val: DateTuple }
  | { tag: 'time'; val: TimeTuple }
  | { tag: 'datetime'; val: DatetimeTuple }
  | { tag: 'timestamp'; val: bigint };

/** `parameter-value` (2.0.0), plus the date and time cases of 3.0.0. */
export type ParameterValue =
  | DateTimeValue
  | { tag: 'boolean'; val: boolean }
  | { tag: 'int8' | 'int16' | 'int32' | 'uint8' | 'uint16' | 'uint32' | 'floating32' | 'floating64'; val: number }
  | { tag: 'int64' | 'uint64'; val: bigint }
  | { tag: 'str'; val: string }
  | { tag: 'binary'; val: Uint8Array }
  | { tag: 'db-null' };

/** `db-value` (2.0.0), plus the date and time cases of 3.0.0. */
export type DbValue =
  | DateTimeValue
  | { tag: 'boolean'; val: boolean }
  | { tag: 'int16' | 'int32' | 'floating32' | 'floating64'; val: number }
  | { tag: 'int64'; val: bigint }
  | { tag: 'str'; val: string }
  | { tag: 'binary'; val: Uint8Array }
  | { tag: 'db-null' }
  | { tag: 'unsupported' };

/** `db-data-type` (a WIT enum, which jco represents as its case name). */
export type DbDataType =
  'boolean' | 'int16' | 'int32' | 'int64' | 'floating32' | 'floating64' | 'str' | 'binary' | 'date' | 'time' | 'datetime' | 'other';

/** Which interface a connection serves: `fermyon:spin/postgres@2.0.0` or `spin:postgres/postgres@3.0.0`. */
export type PostgresVersion = 2 | 3;

/** `row-set`. */
export interface RowSet {
  columns: { name: string; dataType: DbDataType }[];
  rows: DbValue[][];
}

/** Where a client connects, parsed from an address. */
export interface PgAddress {
  /** Every host the address names (libpq allows a comma-separated list); the first is used. */
  hosts: { host: string; port: number }[];
  user?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
  sslmode?: string | undefined;
}

const DEFAULT_PORT = 5432;

/** A statement that never gets a connection fails instead of holding the guest forever. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Column type OIDs (`pg_type.oid`) → the `db-data-type` they are reported as. */
const TYPES: ReadonlyMap<number, DbDataType> = new Map([
  [16, 'boolean'],
  [21, 'int16'],
  [23, 'int32'],
  [20, 'int64'],
  [700, 'floating32'],
  [701, 'floating64'],
  [17, 'binary'],
  // text, varchar, bpchar, name, json, jsonb, uuid, date, time, timestamp, timestamptz, numeric, char
  ...[25, 1043, 1042, 19, 114, 3802, 2950, 1082, 1083, 1114, 1184, 1700, 18].map((oid): [number, DbDataType] => [oid, 'str']),
]);

/** What 3.0.0 reports instead of `str` for date and time columns (`timestamptz` is converted to UTC). */
const TYPES_V3: ReadonlyMap<number, DbDataType> = new Map([
  [1082, 'date'],
  [1083, 'time'],
  [1114, 'datetime'],
  [1184, 'datetime'],
]);

/** Keeps every value as the server's text; {@link toDbValue} converts by OID. */
const RAW_TYPES = { getTypeParser: () => (value: string) => value };

/** The `pg.Pool` of every address the app's components opened, created on first use. */
export class PostgresPools {
  readonly #pools = new Map<string, pg.Pool>();

  /** The pool for `address` (the guest's string, so equal strings share connections). */
  get(address: string, parsed: PgAddress): pg.Pool {
    let pool = this.#pools.get(address);
    if (!pool) {
      const first = parsed.hosts[0]!;
      const ssl = parsed.sslmode === 'require' ? { rejectUnauthorized: false } : parsed.sslmode?.startsWith('verify') ? true : undefined;
      pool = new pg.Pool({
        host: first.host,
        port: first.port,
        user: parsed.user,
        password: parsed.password,
        database: parsed.database,
        ...(ssl !== undefined ? { ssl } : {}),
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      });
      // An idle client losing its server emits here; without a listener that would crash the host.
      pool.on('error', () => {});
      this.#pools.set(address, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}

/** The `fermyon:spin/postgres` import object of one component. */
export interface PostgresImport {
  Connection: {
    open(address: string): Promise<PgConnection>;
  };
}

/** The `connection` resource. */
export interface PgConnection {
  query(statement: string, params: ParameterValue[]): Promise<RowSet>;
  execute(statement: string, params: ParameterValue[]): Promise<bigint>;
}

/**
 * Builds the `fermyon:spin/postgres` import for one component.
 * @param allowed the component's `allowed_outbound_hosts`
 * @param log where denials are reported, as Spin prints them
 * @param pools the app's pools; closing them is the caller's job
 */
export function postgresImport(
  allowed: AllowedHosts,
  log: (line: string) => void,
  pools: PostgresPools,
  version: PostgresVersion = 2,
): PostgresImport {
  const typeOf = (oid: number): DbDataType => (version === 3 ? TYPES_V3.get(oid) : undefined) ?? TYPES.get(oid) ?? 'other';
  class Connection implements PgConnection {
    readonly #pool: pg.Pool;

    private constructor(pool: pg.Pool) {
      this.#pool = pool;
    }

    static async open(address: string): Promise<Connection> {
      let parsed: PgAddress;
      try {
        parsed = parseAddress(address);
      } catch (err) {
        throw { tag: 'connection-failed', val: message(err) } satisfies PgError;
      }
      for (const { host, port } of parsed.hosts) {
        if (!allowed.allows({ scheme: 'postgres', host, port })) {
          log(denialMessage('postgres', `${host}:${port}`));
          throw { tag: 'connection-failed', val: `address postgres://${host}:${port} is not permitted` } satisfies PgError;
        }
      }
      const pool = pools.get(address, parsed);
      try {
        (await pool.connect()).release();
      } catch (err) {
        throw { tag: 'connection-failed', val: message(err) } satisfies PgError;
      }
      return new Connection(pool);
    }

    async query(statement: string, params: ParameterValue[]): Promise<RowSet> {
      const result = await this.#run(statement, params);
      const types = result.fields.map((f) => typeOf(f.dataTypeID));
      return {
        columns: result.fields.map((f, i) => ({ name: f.name, dataType: types[i]! })),
        rows: (result.rows as unknown as (string | null)[][]).map((row) => row.map((v, i) => toDbValue(v, types[i]!))),
      };
    }

    async execute(statement: string, params: ParameterValue[]): Promise<bigint> {
      const result = await this.#run(statement, params);
      return BigInt(result.rowCount ?? 0);
    }

    async #run(statement: string, params: ParameterValue[]): Promise<pg.QueryResult> {
      const values = params.map(toJs);
      try {
        return await this.#pool.query({ text: statement, values, rowMode: 'array', types: RAW_TYPES });
      } catch (err) {
        // A server's answer (it has a SQLSTATE) is the statement's fault; anything else is the connection's.
        const tag = err instanceof pg.DatabaseError ? 'query-failed' : 'connection-failed';
        throw { tag, val: message(err) } satisfies PgError;
      }
    }
  }
  return { Connection };
}

/** A guest parameter as `pg` sends it; 64-bit integers as text so no precision is lost. */
function toJs(p: ParameterValue): unknown {
  switch (p.tag) {
    case 'db-null':
      return null;
    case 'int64':
    case 'uint64':
      return p.val.toString();
    case 'binary':
      return Buffer.from(p.val.buffer, p.val.byteOffset, p.val.byteLength);
    case 'boolean':
    case 'str':
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'floating32':
    case 'floating64':
      return p.val;
    case 'date':
      return formatDate(p.val[0], p.val[1], p.val[2]);
    case 'time':
      return formatTime(...p.val);
    case 'datetime':
      return `${formatDate(p.val[0], p.val[1], p.val[2])} ${formatTime(p.val[3], p.val[4], p.val[5], p.val[6])}`;
    case 'timestamp': {
      const ms = Number(p.val) * 1000;
      if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15)
        throw { tag: 'bad-parameter', val: `timestamp ${p.val} is out of range` } satisfies PgError;
      return new Date(ms).toISOString();
    }
    default:
      throw { tag: 'bad-parameter', val: `unsupported parameter type '${(p as { tag: string }).tag}'` } satisfies PgError;
  }
}

/** One result value from its text form and its column's type. */
function toDbValue(text: string | null, type: DbDataType): DbValue {
  if (text === null) return { tag: 'db-null' };
  switch (type) {
    case 'boolean':
      return { tag: 'boolean', val: text === 't' };
    case 'int16':
    case 'int32':
    case 'floating32':
    case 'floating64':
      return { tag: type, val: Number(text) };
    case 'int64':
      return { tag: 'int64', val: BigInt(text) };
    case 'binary':
      // bytea's text output is `\x` followed by hex (the default `bytea_output`).
      return text.startsWith('\\x') ? { tag: 'binary', val: new Uint8Array(Buffer.from(text.slice(2), 'hex')) } : { tag: 'unsupported' };
    case 'date': {
      const d = parseDate(text);
      return d ? { tag: 'date', val: d } : { tag: 'unsupported' };
    }
    case 'time': {
      const t = parseTime(text);
      return t ? { tag: 'time', val: t } : { tag: 'unsupported' };
    }
    case 'datetime': {
      const dt = parseDatetime(text);
      return dt ? { tag: 'datetime', val: dt } : { tag: 'unsupported' };
    }
    default:
      return { tag: 'str', val: text };
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO date; years before 1 are written the way Postgres reads them (`0044-03-15 BC` for year -43). */
function formatDate(year: number, month: number, day: number): string {
  return year >= 1 ? `${pad(year, 4)}-${pad(month)}-${pad(day)}` : `${pad(1 - year, 4)}-${pad(month)}-${pad(day)} BC`;
}

/** Postgres keeps microseconds, so nanoseconds are truncated to them. */
function formatTime(hour: number, minute: number, second: number, nanosecond: number): string {
  return `${pad(hour)}:${pad(minute)}:${pad(second)}.${pad(Math.floor(nanosecond / 1000), 6)}`;
}

/** `YYYY-MM-DD[ BC]` (the ISO `DateStyle` every server uses by default). */
function parseDate(text: string): DateTuple | undefined {
  const m = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/.exec(text);
  if (!m) return undefined; // infinity, -infinity
  const year = Number(m[1]);
  return [m[4] ? 1 - year : year, Number(m[2]), Number(m[3])];
}

/** `HH:MM:SS[.ffffff]`. */
function parseTime(text: string): TimeTuple | undefined {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number((m[4] ?? '').padEnd(6, '0')) * 1000];
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]][ BC]`; a zone offset (timestamptz) is converted to UTC. */
function parseDatetime(text: string): DatetimeTuple | undefined {
  const m = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?( BC)?$/.exec(
    text,
  );
  if (!m) return undefined;
  const year = m[12] ? 1 - Number(m[1]) : Number(m[1]);
  const micros = Number((m[7] ?? '').padEnd(6, '0'));
  if (!m[8]) return [year, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), micros * 1000];
  const offset = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0));
  const d = new Date(0);
  d.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]) - offset, 0);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), micros * 1000];
}

/**
 * Parses a connection URL (`postgres://user:pass@host:port/db?sslmode=…`, also `postgresql://`) or a libpq
 * keyword string (`host=… port=… user=… password=… dbname=… sslmode=…`, values optionally single-quoted).
 * @throws {Error} with a reason when the address is neither
 */
export function parseAddress(address: string): PgAddress {
  const trimmed = address.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    const url = new URL(trimmed);
    const port = url.port ? Number(url.port) : DEFAULT_PORT;
    if (!url.hostname) throw new Error(`address '${address}' names no host`);
    const dec = (s: string) => (s ? decodeURIComponent(s) : undefined);
    return {
      hosts: [{ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port }],
      user: dec(url.username),
      password: dec(url.password),
      database: dec(url.pathname.replace(/^\//, '')),
      sslmode: url.searchParams.get('sslmode') ?? undefined,
    };
  }
  const pairs = new Map<string, string>();
  const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/y;
  let pos = 0;
  while (pos < trimmed.length) {
    re.lastIndex = pos;
    const m = re.exec(trimmed);
    if (!m) throw new Error(`address '${address}' is neither a postgres:// URL nor key=value pairs`);
    pairs.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    pos = re.lastIndex;
    while (pos < trimmed.length && /\s/.test(trimmed[pos]!)) pos++;
  }
  const hostList = (pairs.get('host') ?? pairs.get('hostaddr') ?? 'localhost').split(',');
  const portList = (pairs.get('port') ?? '').split(',');
  const hosts = hostList.map((host, i) => {
    const p = portList[i] ?? portList[0] ?? '';
    const port = p === '' ? DEFAULT_PORT : Number(p);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port '${p}' in address`);
    return { host: host.trim(), port };
  });
  return { hosts, user: pairs.get('user'), password: pairs.get('password'), database: pairs.get('dbname'), sslmode: pairs.get('sslmode') };
}

function message(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(message).join('; ');
  return err instanceof Error ? err.message || err.name : String(err);
}
