/**
 * The executor lease of a run: at most one request drives a run at a time, so two concurrent `run`/`resume`
 * calls never execute the same step twice.
 *
 * NOTE: `fermyon:spin/key-value@2.0.0` has no compare-and-set, so this lease is best-effort, built from plain
 * writes: read the lease; if it is free or expired, write `{owner, expiresAt}`, wait `settleMs` so that a rival who
 * read the same free lease has written too, then read it back; whoever's write landed last owns it. It fails only
 * when a rival's read and write are further apart than `settleMs` (a stalled instance). The engine adds a second
 * fence per step (see engine.ts). With an atomic compare-and-swap from the host (`wasi:keyvalue/atomics`) the
 * settle delay and the residual race would both go away; `acquire` is the one place to change.
 *
 * A holder renews its lease while it works (heartbeat), so a crashed executor's lease expires after `ttlMs` and
 * the run can be resumed by anyone.
 *
 * @module
 */
import type { Lease } from '../protocol/workflows.ts';
import type { WorkflowStore } from './store.ts';

export interface LeaseOptions {
  ttlMs: number;
  settleMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The lease if someone holds it now. */
export function liveLease(store: WorkflowStore, runId: string, now: number): Lease | undefined {
  const lease = store.getLease(runId);
  return lease && lease.expiresAt > now ? lease : undefined;
}

/** Takes the lease for `owner`; resolves with the holder's lease when someone else has it. */
export async function acquireLease(
  store: WorkflowStore,
  runId: string,
  owner: string,
  o: LeaseOptions,
): Promise<{ ok: true } | { ok: false; held: Lease }> {
  const held = liveLease(store, runId, o.now());
  if (held && held.owner !== owner) return { ok: false, held };
  store.setLease(runId, { owner, expiresAt: o.now() + o.ttlMs });
  await o.sleep(o.settleMs);
  const after = store.getLease(runId);
  if (after?.owner === owner) return { ok: true };
  return { ok: false, held: after ?? { owner: 'unknown', expiresAt: o.now() + o.ttlMs } };
}

/**
 * Extends `owner`'s lease. An absent lease is re-taken (a rival that lost the settle race deletes only its own
 * write, which may have replaced ours); a live lease of someone else means this executor lost the run.
 */
export function renewLease(store: WorkflowStore, runId: string, owner: string, o: LeaseOptions): 'renewed' | 'lost' {
  const lease = store.getLease(runId);
  if (lease && lease.owner !== owner && lease.expiresAt > o.now()) return 'lost';
  store.setLease(runId, { owner, expiresAt: o.now() + o.ttlMs });
  return 'renewed';
}

/** Gives the lease up, if it is still `owner`'s. */
export function releaseLease(store: WorkflowStore, runId: string, owner: string): void {
  if (store.getLease(runId)?.owner === owner) store.deleteLease(runId);
}
