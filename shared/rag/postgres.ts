/**
 * The component's database access: `fermyon:spin/postgres@2.0.0` behind a small interface (so the store can be
 * exercised without Spin), Spin errors mapped to HTTP errors, and the schema migration.
 *
 * NOTE: a Spin Postgres connection may run each statement on a different pooled session (the edge-agents host
 * does), so nothing here relies on session state: every unit of work that must be atomic is ONE statement (a CTE,
 * or a call of a PL/pgSQL function that the migration installs).
 *
 * @module
 */
import { Connection, type DbValue, type ParameterValue } from 'fermyon:spin/postgres@2.0.0';
import { HttpError } from '../http/errors.ts';
import { spinError } from '../spin/errors.ts';
import type { SqlValue } from './filter.ts';
import { MIGRATION, SCHEMA_VERSION } from './schema.ts';

export type Row = Record<string, unknown>;

/** What the store needs from a database connection. */
export interface Sql {
  query(statement: string, params?: SqlValue[]): Row[];
  execute(statement: string, params?: SqlValue[]): number;
}

function toParam(v: SqlValue): ParameterValue {
  if (v === null) return { tag: 'db-null' };
  if (typeof v === 'string') return { tag: 'str', val: v };
  if (typeof v === 'bigint') return { tag: 'int64', val: v };
  if (typeof v === 'boolean') return { tag: 'boolean', val: v };
  return { tag: 'floating64', val: v };
}

function fromValue(v: DbValue): unknown {
  switch (v.tag) {
    case 'db-null':
    case 'unsupported':
      return null;
    case 'int64':
    case 'uint64':
      return Number(v.val);
    default:
      return v.val;
  }
}

/**
 * A failed statement or connection: the Spin error variant as a real `Error` (what componentize-js throws is not
 * one, and Hono's error handler only receives `Error`s).
 */
export class DatabaseError extends Error {
  readonly tag: string;
  readonly text: string;
  constructor(tag: string, text: string) {
    super(`${tag}: ${text}`);
    this.tag = tag;
    this.text = text;
  }
}

function wrap<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    const e = spinError(err);
    if (!e) throw err;
    throw new DatabaseError(e.tag, typeof e.val === 'string' ? e.val : '');
  }
}

/** Database errors as the HTTP errors the API answers with; other values are returned as they are. */
export function databaseError(err: unknown): unknown {
  const e = err instanceof DatabaseError ? { tag: err.tag, val: err.text } : spinError(err);
  if (!e) return err;
  const text = typeof e.val === 'string' ? e.val : '';
  if (e.tag === 'connection-failed') return new HttpError(503, 'database_unavailable', `the knowledge database is unavailable: ${text}`);
  if (/extension "vector"|could not open extension control file/i.test(text)) {
    return new HttpError(
      503,
      'pgvector_missing',
      `the knowledge database has no pgvector: install the vector extension on the server (or point database_url at one that has it): ${text}`,
    );
  }
  if (/connection|terminat|ECONN|socket|timeout/i.test(text) && e.tag !== 'query-failed') {
    return new HttpError(503, 'database_unavailable', `the knowledge database is unavailable: ${text}`);
  }
  return new HttpError(500, 'database_error', `database error (${e.tag}): ${text}`);
}

/** The raw Spin error text of a failed statement, for callers that recognise specific failures. */
export function queryFailure(err: unknown): string | undefined {
  return err instanceof DatabaseError && err.tag === 'query-failed' ? err.text : undefined;
}

/** An {@link Sql} over a Spin connection; statements run as they are called. */
export function spinSql(conn: Connection): Sql {
  return {
    query(statement, params = []) {
      const rs = wrap(() => conn.query(statement, params.map(toParam)));
      const names = rs.columns.map((c) => c.name);
      return rs.rows.map((row) => {
        const out: Row = {};
        row.forEach((v, i) => (out[names[i]!] = fromValue(v)));
        return out;
      });
    },
    execute(statement, params = []) {
      return Number(wrap(() => conn.execute(statement, params.map(toParam))));
    },
  };
}

/** Opens the database at `url`; an empty url or an unreachable server is a 503 with the reason. */
export function openDatabase(url: string | undefined): Sql {
  if (!url) {
    throw new HttpError(503, 'database_not_configured', 'the knowledge database is not configured: set the database_url variable');
  }
  try {
    return spinSql(wrap(() => Connection.open(url)));
  } catch (err) {
    throw databaseError(err);
  }
}

/**
 * Brings the schema to {@link SCHEMA_VERSION}. Cheap when it is current (one indexed read); otherwise the
 * migration runs as one DO block under a transaction-scoped advisory lock, so simultaneous first requests wait
 * for one another instead of racing on `CREATE`.
 */
export function ensureSchema(sql: Sql): void {
  let current = 0;
  try {
    current = Number(sql.query('SELECT max(version) AS v FROM rag_schema')[0]?.v ?? 0);
  } catch (err) {
    const failure = queryFailure(err);
    if (failure === undefined || !/does not exist/.test(failure)) throw err;
  }
  if (current >= SCHEMA_VERSION) return;
  sql.execute(MIGRATION);
}
