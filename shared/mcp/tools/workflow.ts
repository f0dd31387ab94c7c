/**
 * `execute_workflow`: create a run, drive it over the workflow component's SSE endpoint to its end or to an approval
 * gate (reported as `input-required`), relaying each event as progress, then read the run record.
 *
 * @module
 */
import { z } from 'zod';
import { slug } from '../../protocol/agents.ts';
import { WORKFLOW_LIMITS } from '../../protocol/workflows.ts';
import { CalleeError, calleeError } from '../platform.ts';
import { field, readSse } from '../../http/sse.ts';
import { tool } from '../tool.ts';

/** A whole run: several model calls. */
const WORKFLOW_TIMEOUT_MS = 600_000;

/** Workflow run states as MCP clients and A2A peers read them. */
const RUN_STATES = ['completed', 'failed', 'input-required', 'working'] as const;

export const executeWorkflow = tool({
  name: 'execute_workflow',
  title: 'Execute workflow',
  description:
    'Starts a workflow run (SPARC by default: specification, pseudocode, architecture, refinement, completion, each step an ' +
    'agent call, checkpointed) and runs it to the end or to a step that waits for human approval (state input-required; ' +
    'approve with POST /api/v1/workflows/runs/<runId>/approve). Send a progressToken to get a progress notification per event.',
  input: z.strictObject({
    template: slug('template').default('sparc').describe('A built-in (sparc) or stored workflow definition id'),
    input: z
      .string()
      .min(1, { error: 'input must not be empty' })
      .max(WORKFLOW_LIMITS.inputChars, { error: `input must be at most ${WORKFLOW_LIMITS.inputChars} characters` })
      .describe('The task for the workflow'),
    idempotencyKey: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, { error: 'idempotencyKey must be 1-128 visible ASCII characters' })
      .optional()
      .describe('Retrying with the same key returns the same run'),
  }),
  output: z.object({
    runId: z.string(),
    template: z.string(),
    status: z.string().describe('The run status: completed, failed, rejected, cancelled, waiting_approval, running, ...'),
    state: z.enum(RUN_STATES).describe('completed, failed, input-required (waiting for approval) or working'),
    output: z.string().nullable().describe('The final output of a completed run'),
    approval: z.object({ step: z.string(), message: z.string() }).nullable().describe('The step waiting for approval'),
    events: z.array(z.object({ event: z.string(), step: z.string().nullable() })),
    error: z.string().nullable(),
    run: z.record(z.string(), z.unknown()).nullable().describe('The run record (GET /api/v1/workflows/runs/<runId>)'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, { platform, progress }) {
    const create: Record<string, unknown> = { template: args.template, input: args.input };
    if (args.idempotencyKey !== undefined) create.idempotencyKey = args.idempotencyKey;
    const created = await platform.json<{ id?: unknown; status?: unknown }>('workflow', '/api/v1/workflows/runs', { body: create });
    if (typeof created.id !== 'string' || created.id === '')
      throw new CalleeError('workflow', 201, 'invalid_response', 'workflow created a run without an id');
    const runId = created.id;
    const runPath = `/api/v1/workflows/runs/${encodeURIComponent(runId)}`;
    let status = typeof created.status === 'string' ? created.status : 'pending';
    let output: string | null = null;
    let approval: { step: string; message: string } | null = null;
    let error: string | null = null;
    const events: { event: string; step: string | null }[] = [];
    // A run already finished (an idempotent replay) or waiting needs no executor; anything else is run now.
    if (!['completed', 'failed', 'cancelled', 'rejected', 'waiting_approval'].includes(status)) {
      const res = await platform.send('workflow', `${runPath}/run`, {
        method: 'POST',
        body: {},
        headers: { accept: 'text/event-stream' },
        timeoutMs: WORKFLOW_TIMEOUT_MS,
      });
      if (!res.ok && res.status !== 409) throw calleeError('workflow', res.status, await res.text());
      if (res.ok && (res.headers.get('content-type') ?? '').includes('text/event-stream') && res.body) {
        const deadline = Date.now() + WORKFLOW_TIMEOUT_MS;
        const late = () =>
          new CalleeError('workflow', 0, 'timeout', `run ${runId} did not finish or pause within ${WORKFLOW_TIMEOUT_MS} ms`);
        try {
          for await (const e of readSse(res.body, deadline, late)) {
            const step = field(e.data, 'step');
            events.push({ event: e.event, step: typeof step === 'string' ? step : null });
            progress(events.length, `${e.event}${typeof step === 'string' ? ` ${step}` : ''}`);
            if (e.event === 'run_completed') {
              status = 'completed';
              const out = field(e.data, 'output');
              if (typeof out === 'string') output = out;
            } else if (e.event === 'run_failed') {
              const st = field(e.data, 'status');
              status = typeof st === 'string' ? st : 'failed';
              const why = field(e.data, 'error');
              error = typeof why === 'object' && why !== null ? String(field(why, 'message') ?? status) : status;
            } else if (e.event === 'waiting_approval') {
              status = 'waiting_approval';
              approval = { step: String(step ?? ''), message: String(field(e.data, 'message') ?? '') };
            }
            if (['completed', 'failed', 'cancelled', 'rejected', 'waiting_approval'].includes(status)) break;
          }
        } catch (err) {
          // Out of time: report the run as still working (its id lets the client look it up later), not as a failure.
          if (!(err instanceof CalleeError && err.code === 'timeout')) throw err;
        }
      } else {
        // 409: another executor holds the run (a concurrent call with the same idempotency key); the record tells.
        await res.text();
      }
    }
    // The run record is the source of truth (the stream may have ended early, or another executor ran it).
    let run: Record<string, unknown> | null = null;
    try {
      run = await platform.json<Record<string, unknown>>('workflow', runPath);
    } catch (err) {
      if (!(err instanceof CalleeError)) throw err;
    }
    if (run) {
      if (typeof run.status === 'string') status = run.status;
      const steps = (typeof run.steps === 'object' && run.steps !== null ? run.steps : {}) as Record<string, Record<string, unknown>>;
      const path = Array.isArray(run.path) ? (run.path as unknown[]).filter((p): p is string => typeof p === 'string') : [];
      if (status === 'completed' && output === null) {
        const last = path.length > 0 ? steps[path[path.length - 1]!]?.output : undefined;
        if (typeof last === 'string') output = last;
      }
      if (status === 'waiting_approval' && approval === null && typeof run.current === 'string') {
        approval = { step: run.current, message: String(steps[run.current]?.message ?? '') };
      }
      if (error === null && typeof run.error === 'object' && run.error !== null) error = String(field(run.error, 'message') ?? status);
    }
    const state: (typeof RUN_STATES)[number] =
      status === 'completed'
        ? 'completed'
        : status === 'waiting_approval'
          ? 'input-required'
          : ['failed', 'cancelled', 'rejected'].includes(status)
            ? 'failed'
            : 'working';
    return {
      structured: { runId, template: args.template, status, state, output, approval, events, error, run },
      isError: state === 'failed',
    };
  },
});
