/**
 * Runs outside the executor: creating them (idempotently), what `GET` shows, listing, cancelling and deciding
 * approval gates.
 *
 * @module
 */
import { sha256Hex } from '../http/auth.ts';
import { HttpError } from '../http/errors.ts';
import { TERMINAL, type Definition, type RunListQuery, type RunRecord, type RunStatus } from '../protocol/workflows.ts';
import { effectiveStatus, finalOutput, outputsOf } from './engine.ts';
import { liveLease } from './lease.ts';
import type { WorkflowStore } from './store.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** A time-ordered run id: 9 base-36 digits of milliseconds, then 15 random hex digits. */
export function newRunId(now: number): string {
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, 15);
  return now.toString(36).padStart(9, '0') + rand;
}

/**
 * Creates a run, or finds the one an idempotency key already created. The id of a keyed run is derived from the
 * key (and the caller's key id), so two concurrent creates with one key write the same record instead of racing
 * to make two runs.
 */
export async function createRun(
  store: WorkflowStore,
  def: Definition,
  input: string,
  idempotencyKey: string | undefined,
  caller: string | null,
  now: number,
): Promise<{ run: RunRecord; created: boolean }> {
  const fingerprint = await sha256Hex(JSON.stringify([def.id, def.createdAt, input]));
  let id: string;
  if (idempotencyKey === undefined) id = newRunId(now);
  else {
    id = `k${(await sha256Hex(`${caller ?? ''}\n${idempotencyKey}`)).slice(0, 23)}`;
    const existing = store.getRun(id);
    if (existing) {
      if (existing.fingerprint !== fingerprint)
        throw new HttpError(409, 'idempotency_conflict', 'this idempotencyKey was used for a run with a different workflow or input');
      return { run: existing, created: false };
    }
  }
  const run: RunRecord = {
    id,
    definition: def,
    input,
    status: 'pending',
    current: null,
    path: [],
    steps: Object.fromEntries(def.steps.map((s) => [s.id, { status: 'pending' as const, attempts: 0, failures: 0 }])),
    idempotencyKey,
    fingerprint,
    createdAt: iso(now),
    updatedAt: iso(now),
  };
  store.putRun(run);
  return { run, created: true };
}

/** The client's view of a run (`GET /api/v1/workflows/runs/<id>`). */
export function runView(store: WorkflowStore, run: RunRecord, now: number) {
  const cancelled = store.cancelRequested(run.id);
  const status = effectiveStatus(run, cancelled);
  const lease = status === 'running' ? liveLease(store, run.id, now) : undefined;
  const waiting = status === 'waiting_approval' && run.current !== null ? run.steps[run.current] : undefined;
  const base = `/api/v1/workflows/runs/${run.id}`;
  return {
    id: run.id,
    workflow: { id: run.definition.id, name: run.definition.name },
    status,
    /** A running run whose executor is gone (crashed, or its client disconnected): resume it. */
    interrupted: status === 'running' && lease === undefined,
    /** Set while the run waits at an approval gate: what to approve and where (A2A/MCP surface it as input-required). */
    approval:
      waiting && run.current !== null
        ? {
            step: run.current,
            message: waiting.message ?? '',
            requestedAt: waiting.startedAt ?? null,
            approve: `${base}/approve`,
            reject: `${base}/reject`,
          }
        : null,
    input: run.input,
    current: run.current,
    steps: run.definition.steps.map((d) => {
      const s = run.steps[d.id] ?? { status: 'pending', attempts: 0, failures: 0 };
      return {
        id: d.id,
        type: d.type,
        title: d.title ?? d.id,
        ...(d.type === 'agent' ? { agent: d.agent } : {}),
        status: s.status,
        attempts: s.attempts,
        failures: s.failures,
        output: s.output ?? null,
        error: s.error ?? null,
        startedAt: s.startedAt ?? null,
        finishedAt: s.finishedAt ?? null,
        durationMs: s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : null,
        ...(s.decision ? { decision: s.decision } : {}),
      };
    }),
    path: run.path,
    outputs: outputsOf(run),
    output: status === 'completed' ? finalOutput(run) : null,
    error: run.error ?? (status === 'cancelled' ? { code: 'cancelled', message: 'the run was cancelled' } : null),
    idempotencyKey: run.idempotencyKey ?? null,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    startedAt: run.startedAt ?? null,
    finishedAt: run.finishedAt ?? null,
  };
}

/** One page of runs, newest first; the cursor is the base64url of the last item's `createdAt|id`. */
export function listRuns(store: WorkflowStore, q: RunListQuery, now: number) {
  const { runs, corrupt } = store.listRuns();
  const key = (r: RunRecord) => `${r.createdAt}|${r.id}`;
  let after: string | undefined;
  if (q.cursor !== undefined) {
    try {
      after = atob(q.cursor.replace(/-/g, '+').replace(/_/g, '/'));
    } catch {
      throw new HttpError(400, 'invalid_request', 'cursor must be a nextCursor value returned by a previous page');
    }
  }
  const matching = runs
    .map((r) => ({ r, status: effectiveStatus(r, store.cancelRequested(r.id)) }))
    .filter(
      ({ r, status }) => (q.status === undefined || status === q.status) && (q.workflow === undefined || r.definition.id === q.workflow),
    )
    .sort((a, b) => (key(a.r) < key(b.r) ? 1 : key(a.r) > key(b.r) ? -1 : 0))
    .filter(({ r }) => after === undefined || key(r) < after);
  const page = matching.slice(0, q.limit);
  const last = page.at(-1);
  const more = matching.length > q.limit && last !== undefined;
  return {
    items: page.map(({ r, status }) => ({
      id: r.id,
      workflow: { id: r.definition.id, name: r.definition.name },
      status,
      current: r.current,
      error: r.error ?? null,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      finishedAt: r.finishedAt ?? null,
      interrupted: status === 'running' && liveLease(store, r.id, now) === undefined,
    })),
    nextCursor: more ? btoa(key(last.r)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : null,
    ...(corrupt.length > 0 ? { corrupt } : {}),
  };
}

function mustGet(store: WorkflowStore, id: string): RunRecord {
  const run = store.getRun(id);
  if (!run) throw new HttpError(404, 'not_found', `no workflow run ${id}`);
  return run;
}

/**
 * Cancels a run that has not finished. Without a live executor the record is finalised here; otherwise the
 * executor sees the request before its next step and finalises it (the step in flight still finishes).
 */
export function cancelRun(store: WorkflowStore, id: string, now: number): RunRecord {
  const run = mustGet(store, id);
  const status = effectiveStatus(run, store.cancelRequested(id));
  if (TERMINAL.includes(status)) throw new HttpError(409, 'run_finished', `run ${id} is already ${status}`);
  store.requestCancel(id, iso(now));
  if (!liveLease(store, id, now)) {
    const cur = run.current === null ? undefined : run.steps[run.current];
    if (cur && !['completed', 'skipped'].includes(cur.status)) cur.status = 'cancelled';
    run.status = 'cancelled';
    run.error = { code: 'cancelled', message: 'the run was cancelled' };
    run.finishedAt = run.updatedAt = iso(now);
    store.putRun(run);
  }
  return run;
}

/**
 * Records a decision on the approval gate the run waits at: approval makes the run `pending` again (the caller
 * then drives it), rejection ends it `rejected`. 409 when the run is not waiting for approval.
 */
export function decide(
  store: WorkflowStore,
  id: string,
  approved: boolean,
  comment: string | undefined,
  by: string | null,
  now: number,
): RunRecord {
  const run = mustGet(store, id);
  const status: RunStatus = effectiveStatus(run, store.cancelRequested(id));
  const step = run.current === null ? undefined : run.steps[run.current];
  if (status !== 'waiting_approval' || !step || step.status !== 'waiting_approval')
    throw new HttpError(409, 'not_waiting_approval', `run ${id} is ${status}, not waiting for approval`);
  step.decision = { approved, ...(comment !== undefined ? { comment } : {}), at: iso(now), by };
  if (approved) run.status = 'pending';
  else {
    step.status = 'rejected';
    step.finishedAt = iso(now);
    run.status = 'rejected';
    run.error = {
      code: 'rejected',
      message: comment ? `rejected: ${comment}` : 'rejected at the approval gate',
      step: run.current ?? undefined,
    };
    run.finishedAt = iso(now);
  }
  run.updatedAt = iso(now);
  store.putRun(run);
  return run;
}
