/**
 * A guest for the `fermyon:spin/postgres` host tests. Every request opens a connection to the address in the
 * `PG_CONNECTION_STRING` header, then, by the path inside its route (`spin-path-info`):
 * - `POST /query` and `POST /execute` with `{ statement, params }` run one statement; params are
 *   `parameter-value` variants with 64-bit integers as decimal strings and `binary` as an array of bytes;
 * - `POST /script` with `[{ op: 'query' | 'execute', statement, params }]` runs them in order on one connection;
 * - `POST /rendezvous` with `{ table, n, tries }` inserts a row into `table`, then polls until it holds `n` rows
 *   (proof that `n` guests ran at the same time) or gives up after `tries` polls.
 * Answers are JSON with bigints as strings and `binary` as byte arrays; a Spin error answers 500 with its Rust SDK
 * rendering (`Error::QueryFailed("…")`).
 */
import { Connection, type DbValue, type ParameterValue, type RowSet } from 'fermyon:spin/postgres@2.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError } from '../../../shared/spin/errors.ts';

interface JsonParam {
  tag: ParameterValue['tag'];
  val?: unknown;
}

interface Step {
  op: 'query' | 'execute';
  statement: string;
  params?: JsonParam[];
}

/** JSON can't carry bigints or bytes; the tests send them as strings and arrays. */
function toParam(p: JsonParam): ParameterValue {
  if (p.tag === 'int64' || p.tag === 'uint64') return { tag: p.tag, val: BigInt(p.val as string) };
  if (p.tag === 'binary') return { tag: 'binary', val: new Uint8Array(p.val as number[]) };
  return p as ParameterValue;
}

function fromValue(v: DbValue): unknown {
  if (!('val' in v)) return { tag: v.tag };
  if (typeof v.val === 'bigint') return { tag: v.tag, val: v.val.toString() };
  // `instanceof Uint8Array` fails for lists lifted by the bindings, so test for any typed array.
  if (ArrayBuffer.isView(v.val)) return { tag: v.tag, val: Array.from(v.val as Uint8Array) };
  return v;
}

function fromRowSet(r: RowSet): unknown {
  return { columns: r.columns, rows: r.rows.map((row) => row.map(fromValue)) };
}

function run(conn: Connection, step: Step): unknown {
  const params = (step.params ?? []).map(toParam);
  if (step.op === 'query') return fromRowSet(conn.query(step.statement, params));
  return { affected: conn.execute(step.statement, params).toString() };
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const action = (request.headers.get('spin-path-info') ?? url.pathname).split('/')[1] ?? '';
  const address = request.headers.get('PG_CONNECTION_STRING') ?? '';
  const body: unknown = request.method === 'POST' ? await request.json() : undefined;
  try {
    const conn = Connection.open(address);
    if (action === 'query' || action === 'execute') return json(run(conn, { ...(body as Omit<Step, 'op'>), op: action }));
    if (action === 'script') return json((body as Step[]).map((step) => run(conn, step)));
    if (action === 'rendezvous') {
      const { table, n, tries } = body as { table: string; n: number; tries: number };
      conn.execute(`INSERT INTO ${table} DEFAULT VALUES`, []);
      for (let i = 1; i <= tries; i++) {
        const count = conn.query(`SELECT count(*) FROM ${table}`, []).rows[0]![0]!;
        if (count.tag === 'int64' && count.val >= BigInt(n)) return json({ met: true, polls: i });
        conn.execute('SELECT pg_sleep(0.02)', []);
      }
      return json({ met: false, polls: tries });
    }
    return new Response(`pg: unknown action '${action}'`, { status: 404 });
  } catch (err) {
    return new Response(describeSpinError(err), { status: 500 });
  }
}

fire({ fetch: handle });
