/**
 * A guest for the `wasi:keyvalue@0.2.0-draft2` host tests. `POST /kv/<label>` opens the bucket `<label>` and runs
 * the calls in its JSON body, `[{ op, args }]`, in order; the answer is the list of results, or 500 with the error
 * variant rendered as Spin's Rust SDK would (`Error::AccessDenied`, `Error::Other("…")`). Values travel as text,
 * integers as strings. NOTE: a negative `increment` delta traps a ComponentizeJS 0.23 guest (ComponentizeJS#343), so
 * tests send only non-negative ones; `incrementWrapped` goes through the shared wrapper, which refuses negative ones.
 * Besides the raw functions:
 * - `casRace(key, rival, value)`: reads with `cas.new`, lets `set(key, rival)` change the key, then swaps; reports
 *   the failed swap, the fresh handle's value and the retry with it;
 * - `casIncrement(key, times, pauseMs)`: `times` increments of a decimal counter by read/compare-and-swap loops,
 *   waiting `pauseMs` between read and swap so that concurrent guests contend; reports the conflicts it retried.
 */
import { Cas, increment, swap, type CasError } from 'wasi:keyvalue/atomics@0.2.0-draft2';
import { deleteMany, getMany, setMany } from 'wasi:keyvalue/batch@0.2.0-draft2';
import { open, type Bucket } from 'wasi:keyvalue/store@0.2.0-draft2';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError, spinError } from '../../../shared/spin/errors.ts';
import { AtomicStore } from '../../../shared/spin/wasi-keyvalue.ts';

interface Call {
  op: string;
  args: unknown[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (v: Uint8Array | undefined) => (v === undefined ? null : dec.decode(v));
const hex = (v: Uint8Array | undefined) => (v === undefined ? null : [...v].map((b) => b.toString(16).padStart(2, '0')).join(''));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Swaps, and returns the fresh handle of a `cas-failed` (other errors are rethrown). */
function trySwap(cas: Cas, value: string): Cas | undefined {
  try {
    swap(cas, enc.encode(value));
    return undefined;
  } catch (err) {
    const e = spinError(err) as CasError | undefined;
    if (e?.tag === 'cas-failed') return e.val;
    throw err;
  }
}

async function run(bucket: Bucket, label: string, { op, args }: Call): Promise<unknown> {
  const s = (i: number) => args[i] as string;
  switch (op) {
    case 'get':
      return text(bucket.get(s(0)));
    case 'getHex':
      return hex(bucket.get(s(0)));
    case 'set':
      return bucket.set(s(0), enc.encode(s(1))) ?? null;
    case 'delete':
      return bucket.delete(s(0)) ?? null;
    case 'exists':
      return bucket.exists(s(0));
    case 'listKeys': {
      const page = bucket.listKeys((args[0] as string | null | undefined) ?? undefined);
      return { keys: page.keys.sort(), cursor: page.cursor ?? null };
    }
    case 'increment':
      return increment(bucket, s(0), BigInt(s(1))).toString();
    case 'incrementWrapped':
      return AtomicStore.open(label)
        .increment(s(0), BigInt(s(1)))
        .toString();
    case 'casSwap': {
      const cas = Cas.new(bucket, s(0));
      const before = text(cas.current());
      return { before, swapped: trySwap(cas, s(1)) === undefined };
    }
    case 'casRace': {
      const cas = Cas.new(bucket, s(0));
      const before = text(cas.current());
      bucket.set(s(0), enc.encode(s(1)));
      const fresh = trySwap(cas, s(2));
      if (!fresh) return { before, failed: false };
      const freshCurrent = text(fresh.current());
      return { before, failed: true, freshCurrent, retried: trySwap(fresh, s(2)) === undefined };
    }
    case 'casIncrement': {
      // Through the shared wrapper, which the workflow lease uses too.
      const store = AtomicStore.open(label);
      let conflicts = 0;
      for (let i = 0; i < Number(args[1]); i++) {
        let h = store.cas(s(0));
        for (;;) {
          const n = h.current === undefined ? 0 : Number(dec.decode(h.current));
          if (Number(args[2]) > 0) await sleep(Number(args[2]));
          const r = h.swap(String(n + 1));
          if (r.swapped) break;
          conflicts++;
          h = r.fresh;
        }
      }
      return { conflicts };
    }
    case 'getMany':
      return getMany(bucket, args[0] as string[]).map(([k, v]) => [k, text(v)]);
    case 'setMany':
      return (
        setMany(
          bucket,
          (args[0] as [string, string][]).map(([k, v]) => [k, enc.encode(v)]),
        ) ?? null
      );
    case 'deleteMany':
      return deleteMany(bucket, args[0] as string[]) ?? null;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

async function handle(request: Request): Promise<Response> {
  const label = decodeURIComponent(new URL(request.url).pathname.replace(/^\/kv\//, ''));
  const calls = (await request.json()) as Call[];
  try {
    const bucket = open(label);
    const out: unknown[] = [];
    for (const c of calls) out.push(await run(bucket, label, c));
    return new Response(JSON.stringify(out), { headers: { 'content-type': 'application/json' } });
  } catch (err) {
    return new Response(describeSpinError(err), { status: 500 });
  }
}

fire({ fetch: handle });
