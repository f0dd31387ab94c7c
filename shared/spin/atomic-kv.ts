/**
 * Compare-and-swap over a key-value store, as code that needs it sees it: {@link AtomicKv}. The Spin-backed one is
 * `AtomicStore` in `wasi-keyvalue.ts` (`wasi:keyvalue/atomics`); {@link memoryAtomicKv} keeps a `Map`, for
 * warm-up at component initialisation (no host calls there) and for tests.
 *
 * This module imports nothing from the host, so it loads anywhere.
 *
 * @module
 */

/** The outcome of {@link CasHandle.swap}. */
export type SwapResult = { swapped: true } | { swapped: false; fresh: CasHandle };

/** One compare-and-swap on one key. */
export interface CasHandle {
  /** The value the key had when the handle was made; `undefined` when it was absent. */
  readonly current: Uint8Array | undefined;
  /**
   * Writes `value` if the key still holds {@link current}. Otherwise nothing is written and `fresh` is a new
   * handle on the key's newest value, for a retry. A handle swaps at most once.
   */
  swap(value: Uint8Array | string): SwapResult;
}

/** A key-value store with an atomic compare-and-swap per key. */
export interface AtomicKv {
  get(key: string): Uint8Array | undefined;
  /** Reads `key` and returns a handle that can write it only if it has not changed since. */
  cas(key: string): CasHandle;
}

const encoder = new TextEncoder();

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * An {@link AtomicKv} in a `Map` with the same semantics as the host: a handle remembers a copy of the value it
 * read, and its swap compares that copy with what the map holds at swap time, so a write in between (by another
 * handle or by `set`) makes it fail.
 */
export function memoryAtomicKv(): AtomicKv & { set(key: string, value: Uint8Array | string): void; delete(key: string): void } {
  const map = new Map<string, Uint8Array>();
  const handle = (key: string): CasHandle => {
    const seen = map.get(key)?.slice();
    let used = false;
    return {
      current: seen,
      swap(value) {
        if (used) throw new Error('this compare-and-swap handle was already used');
        used = true;
        if (!sameBytes(map.get(key), seen)) return { swapped: false, fresh: handle(key) };
        map.set(key, typeof value === 'string' ? encoder.encode(value) : value.slice());
        return { swapped: true };
      },
    };
  };
  return {
    get: (key) => map.get(key)?.slice(),
    cas: handle,
    set: (key, value) => void map.set(key, typeof value === 'string' ? encoder.encode(value) : value.slice()),
    delete: (key) => void map.delete(key),
  };
}
