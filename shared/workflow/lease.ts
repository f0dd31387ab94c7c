/**
 * The executor lease of a run: at most one request drives a run at a time, so two concurrent `run`/`resume`
 * calls never execute the same step twice.
 *
 * The lease is the key `lease/<id>` holding `{owner, expiresAt}`, and every change to it is a compare-and-swap
 * (`wasi:keyvalue/atomics`, see store.ts): read the lease, decide, write only if the key still holds what was
 * read. Two executors that both read a free lease both try to swap; exactly one swap lands, the other sees the
 * winner's lease on its retry. So acquisition is exact, with no settle delay and no window for a stalled rival.
 *
 * - **acquire**: free (absent, expired or unreadable) or already `owner`'s → swap in `owner` with a fresh expiry.
 * - **renew** (heartbeat and per-step fence): only while the lease still names `owner`, even if it lapsed: nobody
 *   else can have run the steps meanwhile, since taking it would have changed the owner. A lease naming someone
 *   else, or gone, means this executor lost the run.
 * - **release**: swap in `{owner, expiresAt: now}`, an expired lease that frees the run at once. It is not deleted,
 *   because a delete cannot be conditional: it could remove a lease a rival swapped in just before.
 *
 * A crashed executor stops renewing, so its lease expires after `ttlMs` and the run can be resumed by anyone.
 *
 * @module
 */
import type { Lease } from '../protocol/workflows.ts';
import type { WorkflowStore } from './store.ts';

export interface LeaseOptions {
  ttlMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Swaps lost to concurrent writers before giving up; each loss means another executor changed the lease. */
const MAX_ATTEMPTS = 8;

/** The lease if someone holds it now. */
export function liveLease(store: WorkflowStore, runId: string, now: number): Lease | undefined {
  const lease = store.getLease(runId);
  return lease && lease.expiresAt > now ? lease : undefined;
}

/** Takes the lease for `owner`; returns the holder's lease when someone else has it. */
export function acquireLease(
  store: WorkflowStore,
  runId: string,
  owner: string,
  o: LeaseOptions,
): { ok: true } | { ok: false; held: Lease } {
  let cell = store.leaseCell(runId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const now = o.now();
    const held = cell.lease;
    if (held && held.owner !== owner && held.expiresAt > now) return { ok: false, held };
    const r = cell.swap({ owner, expiresAt: now + o.ttlMs });
    if (r.swapped) return { ok: true };
    cell = r.fresh;
  }
  // Only reachable if the lease keeps changing under us; report whoever has it now.
  return { ok: false, held: cell.lease ?? { owner: 'unknown', expiresAt: o.now() + o.ttlMs } };
}

/** Extends `owner`'s lease; `lost` when the lease no longer names `owner`. */
export function renewLease(store: WorkflowStore, runId: string, owner: string, o: LeaseOptions): 'renewed' | 'lost' {
  let cell = store.leaseCell(runId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (cell.lease?.owner !== owner) return 'lost';
    const r = cell.swap({ owner, expiresAt: o.now() + o.ttlMs });
    if (r.swapped) return 'renewed';
    cell = r.fresh;
  }
  return 'lost';
}

/** Gives the lease up, if it is still `owner`'s. */
export function releaseLease(store: WorkflowStore, runId: string, owner: string, o: LeaseOptions): void {
  let cell = store.leaseCell(runId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (cell.lease?.owner !== owner) return;
    const r = cell.swap({ owner, expiresAt: Math.min(o.now(), cell.lease.expiresAt) });
    if (r.swapped) return;
    cell = r.fresh;
  }
}
