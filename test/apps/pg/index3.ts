/**
 * A guest for the `spin:postgres/postgres@3.0.0` host tests: `POST /pg3` with `{ address, statement, params }` runs
 * one query on the address. Params are `parameter-value` variants in JSON (64-bit integers and timestamps as
 * decimal strings); the answer is `{ columns, rows }` with the same encoding, or 500 with the Spin error.
 */
import { Connection, type DbValue, type ParameterValue } from 'spin:postgres/postgres@3.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError } from '../../../shared/spin/errors.ts';

function toParam(p: { tag: string; val?: unknown }): ParameterValue {
  if (p.tag === 'int64' || p.tag === 'timestamp') return { tag: p.tag, val: BigInt(p.val as string) } as ParameterValue;
  return p as ParameterValue;
}

function fromValue(v: DbValue): unknown {
  if (v.tag === 'int64' || v.tag === 'timestamp') return { tag: v.tag, val: v.val.toString() };
  if (v.tag === 'binary') return { tag: 'binary', val: [...v.val] };
  return v;
}

async function handle(request: Request): Promise<Response> {
  const { address, statement, params } = (await request.json()) as {
    address: string;
    statement: string;
    params: { tag: string; val?: unknown }[];
  };
  try {
    const result = Connection.open(address).query(statement, params.map(toParam));
    return new Response(JSON.stringify({ columns: result.columns, rows: result.rows.map((r) => r.map(fromValue)) }), {
      headers: { 'content-type': 'application/json' },
    });
  } catch (err) {
    return new Response(describeSpinError(err), { status: 500 });
  }
}

fire({ fetch: handle });
