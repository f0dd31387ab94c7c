/**
 * A guest for the `fermyon:spin/redis` host tests. Each request opens a connection to the address in the
 * `REDIS_ADDRESS` header and runs the calls in its JSON body, `[{ op, args }]`, in order:
 * `publish(channel, text)`, `get(key)`, `set(key, text)`, `incr(key)`, `del(keys)`, `sadd(key, members)`,
 * `smembers(key)`, `srem(key, members)`, `execute(command, params)` with params `{ int64: "…" }` or `{ text: "…" }`.
 * Bytes travel as text; bigints as strings. The answer is the list of results, or 500 with the Spin error rendered
 * as the Rust SDK would (`Error::TypeError`, `Error::Other("…")`).
 */
import { Connection, type RedisParameter, type RedisResult } from 'fermyon:spin/redis@2.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError } from '../../../shared/spin/errors.ts';

interface Call {
  op: string;
  args: unknown[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function param(p: { int64?: string; text?: string }): RedisParameter {
  return p.int64 !== undefined ? { tag: 'int64', val: BigInt(p.int64) } : { tag: 'binary', val: enc.encode(p.text ?? '') };
}

function result(r: RedisResult): unknown {
  switch (r.tag) {
    case 'nil':
      return { nil: true };
    case 'status':
      return { status: r.val };
    case 'int64':
      return { int64: r.val.toString() };
    case 'binary':
      return { binary: dec.decode(r.val) };
  }
}

function run(conn: Connection, { op, args }: Call): unknown {
  const s = (i: number) => args[i] as string;
  const list = (i: number) => args[i] as string[];
  switch (op) {
    case 'publish':
      return conn.publish(s(0), enc.encode(s(1))) ?? null;
    case 'get': {
      const v = conn.get(s(0));
      return v === undefined ? null : dec.decode(v);
    }
    case 'set':
      return conn.set(s(0), enc.encode(s(1))) ?? null;
    case 'incr':
      return conn.incr(s(0)).toString();
    case 'del':
      return conn.del(list(0));
    case 'sadd':
      return conn.sadd(s(0), list(1));
    case 'smembers':
      return conn.smembers(s(0)).sort();
    case 'srem':
      return conn.srem(s(0), list(1));
    case 'execute':
      return conn.execute(s(0), (args[1] as { int64?: string; text?: string }[]).map(param)).map(result);
    default:
      throw new Error(`unknown op ${op}`);
  }
}

async function handle(request: Request): Promise<Response> {
  const calls = (await request.json()) as Call[];
  try {
    const conn = Connection.open(request.headers.get('REDIS_ADDRESS') ?? '');
    const out = calls.map((c) => run(conn, c));
    return new Response(JSON.stringify(out), { headers: { 'content-type': 'application/json' } });
  } catch (err) {
    return new Response(describeSpinError(err), { status: 500 });
  }
}

fire({ fetch: handle });
