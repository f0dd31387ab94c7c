/**
 * The run lease over compare-and-swap (shared/workflow/lease.ts): concurrent acquirers, expiry, renewal and
 * release, over the in-memory {@link memoryAtomicKv}, whose swap really compares (a write between a handle's read
 * and its swap makes the swap fail). Races are staged by running rivals between an acquirer's read and its swap.
 */
import { describe, expect, it } from 'vitest';
import { memoryKv } from '../../shared/agents/registry.ts';
import { memoryAtomicKv, type AtomicKv, type CasHandle } from '../../shared/spin/atomic-kv.ts';
import { acquireLease, liveLease, releaseLease, renewLease, type LeaseOptions } from '../../shared/workflow/lease.ts';
import { WorkflowStore } from '../../shared/workflow/store.ts';

const TTL = 1000;

function setup(atomic: AtomicKv = memoryAtomicKv()): { store: WorkflowStore; o: LeaseOptions; clock: { now: number } } {
  const kv = memoryKv();
  const clock = { now: 1_000_000 };
  return {
    store: new WorkflowStore(
      () => kv,
      () => atomic,
    ),
    clock,
    o: { ttlMs: TTL, now: () => clock.now, sleep: async () => undefined },
  };
}

/**
 * An atomic store that, the first time each handle swaps, first runs `beforeSwap` (once per handle): the schedule
 * where a rival acts after we read and before we write, which defeats any read-then-write scheme.
 */
function staged(inner: AtomicKv, beforeSwap: () => void): AtomicKv {
  const wrap = (h: CasHandle): CasHandle => ({
    current: h.current,
    swap(value) {
      beforeSwap();
      const r = h.swap(value);
      return r.swapped ? r : { swapped: false, fresh: wrap(r.fresh) };
    },
  });
  return { get: (k) => inner.get(k), cas: (k) => wrap(inner.cas(k)) };
}

describe('the in-memory compare-and-swap the tests rely on', () => {
  it('fails a swap after an intervening write, including on an absent key, and hands back a fresh handle', () => {
    const kv = memoryAtomicKv();
    const absent = kv.cas('k');
    kv.set('k', 'rival');
    const r = absent.swap('mine');
    expect(r.swapped).toBe(false);
    if (r.swapped) return;
    expect(new TextDecoder().decode(r.fresh.current)).toBe('rival');
    expect(r.fresh.swap('mine')).toEqual({ swapped: true });
    expect(new TextDecoder().decode(kv.get('k'))).toBe('mine');
    // A handle swaps once.
    const h = kv.cas('k');
    h.swap('x');
    expect(() => h.swap('y')).toThrow(/already used/);
  });
});

describe('lease', () => {
  it('gives the run to exactly one of many acquirers that all read it free before any of them writes', () => {
    const owners = ['a', 'b', 'c', 'd', 'e'];
    const results = new Map<string, ReturnType<typeof acquireLease>>();
    const inner = memoryAtomicKv();
    const waiting = [...owners];
    let s: ReturnType<typeof setup>;
    // Each acquirer, about to swap, first lets the next one run its whole acquisition: all read "free", then
    // swap in reverse order.
    const atomic = staged(inner, () => {
      const next = waiting.shift();
      if (next) results.set(next, acquireLease(s.store, 'run', next, s.o));
    });
    s = setup(atomic);
    const first = waiting.shift()!;
    results.set(first, acquireLease(s.store, 'run', first, s.o));
    const winners = owners.filter((o) => results.get(o)?.ok);
    expect(winners).toHaveLength(1);
    const holder = s.store.getLease('run');
    expect(holder?.owner).toBe(winners[0]);
    for (const o of owners.filter((x) => x !== winners[0])) expect(results.get(o)).toEqual({ ok: false, held: holder });
  });

  it('refuses a live lease, and hands over an expired one', () => {
    const { store, o, clock } = setup();
    expect(acquireLease(store, 'run', 'a', o).ok).toBe(true);
    expect(acquireLease(store, 'run', 'b', o)).toEqual({ ok: false, held: { owner: 'a', expiresAt: clock.now + TTL } });
    clock.now += TTL + 1;
    expect(acquireLease(store, 'run', 'b', o).ok).toBe(true);
    // The old holder finds out at its next heartbeat.
    expect(renewLease(store, 'run', 'a', o)).toBe('lost');
    expect(renewLease(store, 'run', 'b', o)).toBe('renewed');
    expect(store.getLease('run')).toEqual({ owner: 'b', expiresAt: clock.now + TTL });
  });

  it('renews a lapsed lease nobody took, but not one that is gone', () => {
    const { store, o, clock } = setup();
    acquireLease(store, 'run', 'a', o);
    clock.now += TTL * 2;
    expect(renewLease(store, 'run', 'a', o)).toBe('renewed');
    expect(liveLease(store, 'run', clock.now)?.owner).toBe('a');
    expect(renewLease(setup().store, 'run', 'a', o)).toBe('lost');
  });

  it('releases only its own lease, leaving it expired so anyone can take the run at once', () => {
    const { store, o, clock } = setup();
    acquireLease(store, 'run', 'a', o);
    releaseLease(store, 'run', 'b', o);
    expect(liveLease(store, 'run', clock.now)?.owner).toBe('a');
    releaseLease(store, 'run', 'a', o);
    expect(liveLease(store, 'run', clock.now)).toBeUndefined();
    expect(store.getLease('run')).toEqual({ owner: 'a', expiresAt: clock.now });
    // A released lease is no longer the holder's to renew once someone else took it.
    expect(acquireLease(store, 'run', 'b', o).ok).toBe(true);
    expect(renewLease(store, 'run', 'a', o)).toBe('lost');
  });

  it('closes the window of a stalled rival: its write fails when the lease changed after it read', () => {
    const inner = memoryAtomicKv();
    const { store, o } = setup(inner);
    // The rival read the lease while it was free, then stalled before writing.
    const rival = inner.cas('lease/run');
    expect(rival.current).toBeUndefined();
    expect(acquireLease(store, 'run', 'a', o).ok).toBe(true);
    expect(rival.swap(JSON.stringify({ owner: 'b', expiresAt: o.now() + TTL })).swapped).toBe(false);
    expect(renewLease(store, 'run', 'a', o)).toBe('renewed');
  });

  it('loses the lease to a takeover between its heartbeat read and swap', () => {
    const inner = memoryAtomicKv();
    let s: ReturnType<typeof setup>;
    let rivalDone = false;
    const atomic = staged(inner, () => {
      if (!rivalDone && s.store.getLease('run')?.owner === 'a') {
        rivalDone = true;
        // The lease lapsed and `b` takes it between `a`'s read and swap.
        s.clock.now += TTL + 1;
        expect(acquireLease(s.store, 'run', 'b', s.o).ok).toBe(true);
      }
    });
    s = setup(atomic);
    rivalDone = true;
    expect(acquireLease(s.store, 'run', 'a', s.o).ok).toBe(true);
    rivalDone = false;
    expect(renewLease(s.store, 'run', 'a', s.o)).toBe('lost');
    expect(s.store.getLease('run')?.owner).toBe('b');
  });

  it('treats an unreadable lease as free and replaces it', () => {
    const inner = memoryAtomicKv();
    const { store, o } = setup(inner);
    inner.set('lease/run', '{not json');
    expect(store.getLease('run')).toBeUndefined();
    expect(acquireLease(store, 'run', 'a', o).ok).toBe(true);
    expect(store.getLease('run')?.owner).toBe('a');
  });
});
