/**
 * A key-value store through `wasi:keyvalue@0.2.0-draft2`: the plain operations plus atomic `increment` and
 * compare-and-swap, which `fermyon:spin/key-value@2.0.0` lacks. A label opened here and through
 * `shared/spin/key-value.ts` is the same store, on Spin and on the edge-agents host.
 *
 * @module
 */
import { Cas, increment, swap, type CasError } from 'wasi:keyvalue/atomics@0.2.0-draft2';
import { open, type Bucket } from 'wasi:keyvalue/store@0.2.0-draft2';
import type { AtomicKv, CasHandle, SwapResult } from './atomic-kv.ts';
import { spinError } from './errors.ts';

const encoder = new TextEncoder();

const S64_MAX = 2n ** 63n - 1n;

/**
 * An `increment` delta a ComponentizeJS 0.23 guest can pass. Its embedding lowers an `s64` argument through an
 * unsigned 64-bit check, so a negative one traps the whole instance (bytecodealliance/ComponentizeJS#343, open);
 * refusing it here turns the trap into an ordinary exception. The host itself takes any `s64`, and results (which
 * the guest lifts correctly) may be negative.
 */
function incrementDelta(n: bigint): bigint {
  if (n < 0n || n > S64_MAX) throw new RangeError(`increment delta ${n} is not supported: must be 0 … 2^63-1 (ComponentizeJS#343)`);
  return n;
}

function handle(cas: Cas): CasHandle {
  let used = false;
  return {
    current: cas.current(),
    swap(value): SwapResult {
      if (used) throw new Error('this compare-and-swap handle was already used');
      used = true;
      try {
        swap(cas, typeof value === 'string' ? encoder.encode(value) : value);
        return { swapped: true };
      } catch (err) {
        const e = spinError(err) as CasError | undefined;
        if (e?.tag === 'cas-failed') return { swapped: false, fresh: handle(e.val) };
        // A store error: rethrow the store's own variant, so callers see `{ tag: 'other', … }` as from any call.
        if (e?.tag === 'store-error') throw Object.assign(new Error(`key-value store error: ${e.val.tag}`), { payload: e.val });
        throw err;
      }
    },
  };
}

/** A store the component was granted (`key_value_stores` in spin.toml), with atomic operations. */
export class AtomicStore implements AtomicKv {
  readonly label: string;
  readonly #bucket: Bucket;

  private constructor(label: string, bucket: Bucket) {
    this.label = label;
    this.#bucket = bucket;
  }

  /** Opens a granted label; throws `access-denied` for any other. */
  static open(label = 'default'): AtomicStore {
    return new AtomicStore(label, open(label));
  }

  get(key: string): Uint8Array | undefined {
    return this.#bucket.get(key);
  }
  set(key: string, value: Uint8Array | string): void {
    this.#bucket.set(key, typeof value === 'string' ? encoder.encode(value) : value);
  }
  delete(key: string): void {
    this.#bucket.delete(key);
  }
  exists(key: string): boolean {
    return this.#bucket.exists(key);
  }
  /** Every key, following the cursor across pages. */
  keys(): string[] {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = this.#bucket.listKeys(cursor);
      out.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return out;
  }

  /**
   * Adds `delta` to the counter under `key` atomically and returns the sum; an absent key counts as 0. A counter is
   * stored the way the backend keeps integers (on Spin's SQLite store 8 little-endian bytes, on Redis decimal text),
   * so read it back with `increment(key, 0n)` rather than `get`. `delta` must not be negative (a `RangeError`
   * otherwise; see {@link incrementDelta}).
   */
  increment(key: string, delta = 1n): bigint {
    return increment(this.#bucket, key, incrementDelta(delta));
  }

  cas(key: string): CasHandle {
    return handle(Cas.new(this.#bucket, key));
  }
}
