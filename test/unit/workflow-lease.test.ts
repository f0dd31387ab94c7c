/**
 * The run lease over a key-value store without compare-and-set (shared/workflow/lease.ts): concurrent acquirers,
 * expiry, renewal and release — and the documented limit of the approach.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { memoryKv } from '../../shared/agents/registry.ts';
import { acquireLease, releaseLease, renewLease, type LeaseOptions } from '../../shared/workflow/lease.ts';
import { WorkflowStore } from '../../shared/workflow/store.ts';

function setup(ttlMs = 1000, settleMs = 20): { store: WorkflowStore; o: LeaseOptions; clock: { now: number } } {
  const kv = memoryKv();
  const clock = { now: 1_000_000 };
  return { store: new WorkflowStore(() => kv), clock, o: { ttlMs, settleMs, now: () => clock.now, sleep: (ms) => sleep(ms) } };
}

describe('lease', () => {
  it('gives the run to exactly one of many concurrent acquirers', async () => {
    for (let round = 0; round < 20; round++) {
      const { store, o } = setup();
      const results = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => acquireLease(store, 'run', owner, o)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    }
  });

  it('refuses a live lease, and hands over an expired one', async () => {
    const { store, o, clock } = setup();
    expect((await acquireLease(store, 'run', 'a', o)).ok).toBe(true);
    const refused = await acquireLease(store, 'run', 'b', o);
    expect(refused).toEqual({ ok: false, held: { owner: 'a', expiresAt: clock.now + 1000 } });
    clock.now += 1001;
    expect((await acquireLease(store, 'run', 'b', o)).ok).toBe(true);
    // The old holder finds out at its next heartbeat.
    expect(renewLease(store, 'run', 'a', o)).toBe('lost');
    expect(renewLease(store, 'run', 'b', o)).toBe('renewed');
  });

  it('re-takes a lease a rival deleted, and releases only its own', async () => {
    const { store, o } = setup();
    await acquireLease(store, 'run', 'a', o);
    releaseLease(store, 'run', 'b');
    expect(store.getLease('run')?.owner).toBe('a');
    store.deleteLease('run');
    expect(renewLease(store, 'run', 'a', o)).toBe('renewed');
    releaseLease(store, 'run', 'a');
    expect(store.getLease('run')).toBeUndefined();
  });

  it('documents its limit: a rival stalled between read and write for longer than the settle delay also wins', async () => {
    const { store, o } = setup(1000, 20);
    // The rival read the lease while it was free, then stalled before writing.
    const rivalSawFree = store.getLease('run') === undefined;
    expect((await acquireLease(store, 'run', 'a', o)).ok).toBe(true);
    expect(rivalSawFree).toBe(true);
    store.setLease('run', { owner: 'b', expiresAt: o.now() + o.ttlMs });
    // With compare-and-set the rival's write would have failed here; without it, `a` learns at its next fence.
    expect(renewLease(store, 'run', 'a', o)).toBe('lost');
  });
});
