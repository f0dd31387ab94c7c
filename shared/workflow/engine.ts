/**
 * The executor: drives one run from its checkpoint until it completes, fails, is cancelled or reaches an approval
 * gate, emitting {@link WorkflowEvent}s as it goes.
 *
 * Durability: each agent step is checkpointed in the run record before it starts (`running`, attempt n, owner)
 * and after it ends (`completed` with its output and the cursor moved on, in the same write). A run interrupted by
 * a crash therefore has its cursor on the interrupted step, every earlier step completed; resuming re-runs that
 * step only. A crash-interrupted attempt does not count against the step's retry budget.
 *
 * Exclusivity: {@link claim} takes the run's lease (lease.ts) before anything runs, and fences a step another
 * executor started less than a lease period ago; a heartbeat renews the lease every third of its period, and the
 * executor re-checks that it still holds it after writing each `running` checkpoint, before calling the agent.
 *
 * @module
 */
import { HttpError } from '../http/errors.ts';
import { END, TERMINAL, type AgentStep, type ErrorInfo, type RunRecord, type Step, type WorkflowEvent } from '../protocol/workflows.ts';
import { StepError, type AskAgent } from './agents.ts';
import { holds, resolveNext, stepById } from './graph.ts';
import { acquireLease, liveLease, releaseLease, renewLease, type LeaseOptions } from './lease.ts';
import type { WorkflowStore } from './store.ts';
import { render } from './template.ts';

/** The agents' message limit (`MAX_MESSAGE_CHARS` of the agent runtime). */
export const MAX_PROMPT_CHARS = 32 * 1024;
/** Outputs stored per step (a longer reply is cut, marked). */
export const MAX_OUTPUT_CHARS = 256 * 1024;

export interface EngineDeps {
  store: WorkflowStore;
  lease: LeaseOptions;
  ask: AskAgent;
  log(line: string): void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The outputs of the steps that completed, by step id. */
export function outputsOf(run: RunRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, s] of Object.entries(run.steps)) if (s.status === 'completed' && s.output !== undefined) out[id] = s.output;
  return out;
}

/** The run's result: the output of the last completed step on its path. */
export function finalOutput(run: RunRecord): string {
  for (let i = run.path.length - 1; i >= 0; i--) {
    const s = run.steps[run.path[i]!];
    if (s?.status === 'completed' && s.output !== undefined) return s.output;
  }
  return '';
}

/** What a run's status is once a pending cancel request is taken into account. */
export function effectiveStatus(run: RunRecord, cancelRequested: boolean): RunRecord['status'] {
  return cancelRequested && !TERMINAL.includes(run.status) ? 'cancelled' : run.status;
}

function conflict(code: string, message: string, details?: unknown): HttpError {
  return new HttpError(409, code, message, { details });
}

/**
 * Makes `owner` the run's executor: checks the run can be driven (`resume` also retries a failed run from its
 * failed step), takes the lease and writes the run as `running`. Throws 404/409 {@link HttpError}s.
 */
export async function claim(deps: EngineDeps, runId: string, owner: string, mode: 'run' | 'resume'): Promise<RunRecord> {
  const { store } = deps;
  const check = (run: RunRecord | undefined): RunRecord => {
    if (!run) throw new HttpError(404, 'not_found', `no workflow run ${runId}`);
    const status = effectiveStatus(run, store.cancelRequested(runId));
    if (status === 'completed' || status === 'cancelled' || status === 'rejected')
      throw conflict('run_finished', `run ${runId} is ${status}; start a new run instead`);
    if (status === 'waiting_approval')
      throw conflict('waiting_approval', `run ${runId} is waiting for approval of step '${run.current}'; approve or reject it first`);
    if (status === 'failed' && mode === 'run')
      throw conflict(
        'run_failed',
        `run ${runId} failed at step '${run.error?.step ?? run.current}'; POST …/resume to retry from that step`,
      );
    return run;
  };
  check(store.getRun(runId));
  const held = liveLease(store, runId, deps.lease.now());
  if (held && held.owner !== owner) throw inProgress(runId, held.expiresAt - deps.lease.now());
  const got = acquireLease(store, runId, owner, deps.lease);
  if (!got.ok) throw inProgress(runId, got.held.expiresAt - deps.lease.now());
  try {
    // Read again under the lease: a rival may have finished or changed the run meanwhile.
    const run = check(store.getRun(runId));
    const now = deps.lease.now();
    const cur = run.current === null ? undefined : run.steps[run.current];
    if (cur?.status === 'running' && cur.owner !== owner && cur.startedAt && Date.parse(cur.startedAt) + deps.lease.ttlMs > now)
      throw inProgress(runId, Date.parse(cur.startedAt) + deps.lease.ttlMs - now);
    if (run.status === 'failed' && run.current !== null) {
      const failed = run.steps[run.current];
      if (failed) Object.assign(failed, { status: 'pending', failures: 0, error: undefined, finishedAt: undefined });
      run.error = undefined;
      run.finishedAt = undefined;
    }
    run.status = 'running';
    run.startedAt ??= iso(now);
    run.updatedAt = iso(now);
    store.putRun(run);
    return run;
  } catch (err) {
    releaseLease(store, runId, owner, deps.lease);
    throw err;
  }
}

function inProgress(runId: string, retryInMs: number): HttpError {
  const err = conflict('run_in_progress', `run ${runId} is being executed by another request; try again later`, {
    retryAfterMs: Math.max(0, Math.ceil(retryInMs)),
  });
  return err;
}

/** Drives a claimed run (see {@link claim}) until it stops; resolves with the final record. Never throws. */
export async function drive(deps: EngineDeps, claimed: RunRecord, owner: string, emit: (e: WorkflowEvent) => void): Promise<RunRecord> {
  const { store } = deps;
  const now = () => deps.lease.now();
  let run = claimed;
  const runId = run.id;
  const def = run.definition;
  let lost = false;
  const safeEmit = (e: WorkflowEvent) => {
    try {
      emit(e);
    } catch {
      // the client went away; the run goes on (and stays resumable)
    }
  };
  const heartbeat = setInterval(
    () => {
      if (!lost && renewLease(store, runId, owner, deps.lease) === 'lost') lost = true;
    },
    Math.max(50, Math.floor(deps.lease.ttlMs / 3)),
  );
  const save = () => {
    run.updatedAt = iso(now());
    store.putRun(run);
  };
  const fail = (status: 'failed' | 'cancelled', error: ErrorInfo): RunRecord => {
    run.status = status;
    run.error = error;
    run.finishedAt = iso(now());
    save();
    safeEmit({ event: 'run_failed', data: { runId, status, error } });
    return run;
  };
  const leaseLost = (): RunRecord => {
    // Another executor owns the run now: write nothing more, let it finish.
    deps.log(`workflow run ${runId}: lease lost by ${owner}; stopping without writing`);
    safeEmit({
      event: 'run_failed',
      data: { runId, status: 'running', error: { code: 'lease_lost', message: 'another request took over this run; follow it with GET' } },
    });
    return store.getRun(runId) ?? run;
  };
  const values = () => ({ input: run.input, runId, outputs: outputsOf(run) });
  const advance = (step: Step) => {
    const next = resolveNext(def, step, values());
    run.current = next === END ? null : next;
    if (run.current !== null) run.path.push(run.current);
  };

  try {
    if (run.current === null && run.path.length === 0) {
      run.current = def.steps[0]!.id;
      run.path.push(run.current);
    }
    const completed = run.path.filter((id) => run.steps[id]?.status === 'completed');
    save();
    safeEmit({
      event: 'run_started',
      data: { runId, status: 'running', resumedAt: completed.length > 0 ? run.current : null, completedSteps: completed },
    });

    for (;;) {
      if (lost) return leaseLost();
      if (store.cancelRequested(runId)) {
        const cur = run.current === null ? undefined : run.steps[run.current];
        if (cur && !['completed', 'skipped'].includes(cur.status)) cur.status = 'cancelled';
        return fail('cancelled', { code: 'cancelled', message: 'the run was cancelled' });
      }
      if (run.current === null) {
        run.status = 'completed';
        run.finishedAt = iso(now());
        save();
        safeEmit({ event: 'run_completed', data: { runId, status: 'completed', output: finalOutput(run), outputs: outputsOf(run) } });
        return run;
      }
      const step = stepById(def, run.current);
      if (!step) return fail('failed', { code: 'invalid_definition', message: `no step '${run.current}'`, step: run.current });
      const state = (run.steps[step.id] ??= { status: 'pending', attempts: 0, failures: 0 });

      if (state.status === 'completed' || state.status === 'skipped') {
        // Completed but the cursor was not moved (cannot happen with single-write checkpoints; kept for old records).
        advance(step);
        save();
        continue;
      }
      if (step.when && !holds(step.when, values())) {
        state.status = 'skipped';
        state.finishedAt = iso(now());
        advance(step);
        save();
        safeEmit({ event: 'step_skipped', data: { runId, step: step.id, reason: 'its when condition does not hold' } });
        continue;
      }
      if (step.type === 'approval') {
        if (state.decision?.approved) {
          state.status = 'completed';
          state.output = state.decision.comment ?? 'approved';
          state.finishedAt = iso(now());
          advance(step);
          save();
          safeEmit({ event: 'step_completed', data: { runId, step: step.id, output: state.output, attempts: 0, durationMs: 0 } });
          continue;
        }
        state.status = 'waiting_approval';
        state.message = render(step.message || `Approve step '${step.id}' of ${def.name}?`, values(), MAX_PROMPT_CHARS);
        state.startedAt ??= iso(now());
        run.status = 'waiting_approval';
        save();
        safeEmit({ event: 'waiting_approval', data: { runId, step: step.id, message: state.message } });
        return run;
      }

      const outcome = await runAgentStep(step, state);
      if (outcome === 'lost') return leaseLost();
      if (outcome === 'retry') continue;
      if (outcome === 'failed') return fail('failed', state.error!);
      advance(step);
      save();
      safeEmit({
        event: 'step_completed',
        data: {
          runId,
          step: step.id,
          output: state.output ?? '',
          attempts: state.attempts,
          durationMs: Date.parse(state.finishedAt!) - Date.parse(state.startedAt!),
        },
      });
    }
  } catch (err) {
    deps.log(`workflow run ${runId}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (lost) return leaseLost();
    try {
      return fail('failed', { code: 'internal', message: 'the executor failed; POST …/resume to retry', step: run.current ?? undefined });
    } catch {
      return run;
    }
  } finally {
    clearInterval(heartbeat);
    releaseLease(store, runId, owner, deps.lease);
  }

  async function runAgentStep(step: AgentStep, state: RunRecord['steps'][string]): Promise<'done' | 'retry' | 'failed' | 'lost'> {
    // Checkpoint before: a crash from here on leaves the cursor on this step, marked running.
    state.status = 'running';
    state.attempts += 1;
    state.owner = owner;
    state.agent = step.agent;
    state.startedAt = iso(now());
    state.finishedAt = undefined;
    state.error = undefined;
    save();
    // Fence: the lease must still be ours now that the checkpoint is written.
    if (renewLease(store, runId, owner, deps.lease) === 'lost') {
      lost = true;
      return 'lost';
    }
    safeEmit({ event: 'step_started', data: { runId, step: step.id, attempt: state.attempts, agent: step.agent } });
    const prompt = render(step.prompt, values(), MAX_PROMPT_CHARS);
    try {
      const reply = await deps.ask(step.agent, prompt, `wf-${runId}-${step.id}-${state.attempts}`, step.timeoutMs);
      if (lost) return 'lost';
      state.status = 'completed';
      state.output = reply.length > MAX_OUTPUT_CHARS ? `${reply.slice(0, MAX_OUTPUT_CHARS)} […truncated]` : reply;
      state.finishedAt = iso(now());
      return 'done';
    } catch (err) {
      if (lost) return 'lost';
      const e = err instanceof StepError ? err : new StepError('internal', err instanceof Error ? err.message : String(err), false);
      state.failures += 1;
      state.finishedAt = iso(now());
      state.error = { code: e.code, message: e.message, step: step.id };
      const r = step.retry;
      if (e.retryable && state.failures < r.maxAttempts) {
        const delay = Math.min(r.maxBackoffMs, Math.round(r.backoffMs * r.factor ** (state.failures - 1)));
        state.status = 'pending';
        save();
        safeEmit({ event: 'step_failed', data: { runId, step: step.id, attempt: state.attempts, error: state.error, retryInMs: delay } });
        await deps.lease.sleep(delay);
        return 'retry';
      }
      state.status = 'failed';
      safeEmit({ event: 'step_failed', data: { runId, step: step.id, attempt: state.attempts, error: state.error, retryInMs: null } });
      return 'failed';
    }
  }
}
