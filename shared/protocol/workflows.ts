/**
 * Workflows on the wire and in storage: definitions (steps, conditions, branches, retries, approval gates), the
 * bodies of the run endpoints, the stored run record and the server-sent events of a run.
 *
 * Shape errors (wrong types, unknown fields) are caught here and answered with 400; what needs the whole graph —
 * unknown agent kinds, references to steps that cannot have run, cycles, unreachable steps — is checked by
 * `shared/workflow/validate.ts` and answered with 422.
 *
 * NOTE: guest code has no ICU, so every pattern here is ASCII-only.
 *
 * @module
 */
import { z } from 'zod';
import { PageCursorSchema, PageLimitSchema, SLUG, slug } from './agents.ts';

export const WORKFLOW_LIMITS = {
  steps: 50,
  branches: 20,
  promptChars: 16 * 1024,
  inputChars: 64 * 1024,
  conditionText: 1024,
  regexChars: 256,
  name: 128,
  description: 2000,
  idempotencyKey: 128,
  comment: 2000,
  maxAttempts: 10,
  maxTimeoutMs: 600_000,
  minTimeoutMs: 100,
  maxBackoffMs: 300_000,
} as const;

/** The end of the graph, as a branch target. Not a valid step id. */
export const END = 'end';

/** Step ids: slugs other than the reserved `end`. */
const StepIdSchema = slug('step id').refine((s) => s !== END, { error: `'${END}' is reserved (it is the branch target that ends a run)` });

/** Where a step's agent comes from: `<kind>/<name>`, or `<kind>` alone for the platform's default agent of that kind. */
export const AgentRefSchema = z.string({ error: 'agent must be "<kind>" or "<kind>/<name>"' }).refine(
  (s) => {
    const parts = s.split('/');
    return parts.length <= 2 && parts.every((p) => SLUG.test(p));
  },
  { error: (iss) => `agent must be "<kind>" or "<kind>/<name>" with slug parts, got ${JSON.stringify(iss.input)}` },
);

/**
 * A test on the run input (no `step`) or on an earlier step's output: exactly one of `contains`, `equals`
 * (both optionally case-insensitive) and `matches` (a JavaScript regular expression); `not` inverts it.
 */
export const ConditionSchema = z
  .strictObject({
    step: StepIdSchema.optional(),
    contains: z.string().max(WORKFLOW_LIMITS.conditionText).optional(),
    equals: z.string().max(WORKFLOW_LIMITS.conditionText).optional(),
    matches: z
      .string()
      .max(WORKFLOW_LIMITS.regexChars, { error: `matches must be at most ${WORKFLOW_LIMITS.regexChars} characters` })
      .refine(
        (s) => {
          try {
            new RegExp(s);
            return true;
          } catch {
            return false;
          }
        },
        { error: 'matches must be a valid regular expression' },
      )
      .optional(),
    ignoreCase: z.boolean().default(false),
    not: z.boolean().default(false),
  })
  .refine((c) => [c.contains, c.equals, c.matches].filter((v) => v !== undefined).length === 1, {
    error: 'a condition needs exactly one of contains, equals or matches',
  });
export type Condition = z.output<typeof ConditionSchema>;

/** One branch of `next`: go to `goto` when `when` holds (no `when`: always). */
export const BranchSchema = z.strictObject({
  when: ConditionSchema.optional(),
  goto: z.union([z.literal(END), StepIdSchema]),
});

/** What follows a step: a step id or `end`, or branches tried in order; without it, the next step in the list. */
export const NextSchema = z.union([
  z.literal(END),
  StepIdSchema,
  z
    .array(BranchSchema)
    .min(1, { error: 'next needs at least one branch' })
    .max(WORKFLOW_LIMITS.branches, { error: `a step has at most ${WORKFLOW_LIMITS.branches} branches` }),
]);
export type Next = z.output<typeof NextSchema>;

/** Attempts and exponential backoff of an agent step; only transient failures (timeouts, 5xx, 429, network) retry. */
export const RetrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(WORKFLOW_LIMITS.maxAttempts).default(1),
  backoffMs: z.number().int().min(0).max(WORKFLOW_LIMITS.maxBackoffMs).default(1000),
  factor: z.number().min(1).max(10).default(2),
  maxBackoffMs: z.number().int().min(0).max(WORKFLOW_LIMITS.maxBackoffMs).default(30_000),
});
export type Retry = z.output<typeof RetrySchema>;

const title = z
  .string()
  .min(1)
  .max(WORKFLOW_LIMITS.name, { error: `a title must be at most ${WORKFLOW_LIMITS.name} characters` });
const template = (what: string) =>
  z.string().max(WORKFLOW_LIMITS.promptChars, { error: `${what} must be at most ${WORKFLOW_LIMITS.promptChars} characters` });

/** Sends a prompt (a template over `{{input}}`, `{{steps.<id>.output}}`, `{{run.id}}`) to an agent; its reply is the output. */
export const AgentStepSchema = z.strictObject({
  id: StepIdSchema,
  type: z.literal('agent').default('agent'),
  title: title.optional(),
  agent: AgentRefSchema,
  prompt: template('prompt').min(1, { error: 'prompt must not be empty' }),
  when: ConditionSchema.optional(),
  next: NextSchema.optional(),
  retry: RetrySchema.default({ maxAttempts: 1, backoffMs: 1000, factor: 2, maxBackoffMs: 30_000 }),
  timeoutMs: z.number().int().min(WORKFLOW_LIMITS.minTimeoutMs).max(WORKFLOW_LIMITS.maxTimeoutMs).default(120_000),
});
export type AgentStep = z.output<typeof AgentStepSchema>;

/** Pauses the run until a person approves (the run continues) or rejects (the run ends `rejected`). */
export const ApprovalStepSchema = z.strictObject({
  id: StepIdSchema,
  type: z.literal('approval'),
  title: title.optional(),
  /** Shown to the approver; a template like an agent step's prompt. */
  message: template('message').default(''),
  when: ConditionSchema.optional(),
  next: NextSchema.optional(),
});
export type ApprovalStep = z.output<typeof ApprovalStepSchema>;

export const StepSchema = z.union([AgentStepSchema, ApprovalStepSchema], {
  error: (iss) =>
    typeof iss.input === 'object' && iss.input !== null && 'type' in iss.input && !['agent', 'approval'].includes(String(iss.input.type))
      ? `unknown step type ${JSON.stringify(iss.input.type)}; step types are agent and approval`
      : undefined,
});
export type Step = z.output<typeof StepSchema>;

/** `POST /api/v1/workflows/definitions`. Runs start at the first step. */
export const CreateDefinitionSchema = z.strictObject({
  id: slug('id').optional(),
  name: title,
  description: z.string().max(WORKFLOW_LIMITS.description).default(''),
  steps: z
    .array(StepSchema)
    .min(1, { error: 'a workflow needs at least one step' })
    .max(WORKFLOW_LIMITS.steps, { error: `a workflow has at most ${WORKFLOW_LIMITS.steps} steps` }),
});
export type CreateDefinitionInput = z.input<typeof CreateDefinitionSchema>;

/** A stored (or built-in) definition. */
export const DefinitionSchema = CreateDefinitionSchema.extend({
  id: slug('id'),
  builtin: z.boolean().default(false),
  createdAt: z.iso.datetime(),
});
export type Definition = z.output<typeof DefinitionSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Runs

/** Idempotency keys: visible ASCII, so they are safe in logs and hashes. */
const IdempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,128}$/, { error: 'idempotencyKey must be 1-128 visible ASCII characters' });

/** `POST /api/v1/workflows/runs`: `template` names a built-in (`sparc`) or stored definition; `definitionId` is its alias. */
export const CreateRunSchema = z
  .strictObject({
    template: slug('template').optional(),
    definitionId: slug('definitionId').optional(),
    input: z
      .string({ error: 'input must be a string' })
      .min(1, { error: 'input must not be empty' })
      .max(WORKFLOW_LIMITS.inputChars, { error: `input must be at most ${WORKFLOW_LIMITS.inputChars} characters` }),
    idempotencyKey: IdempotencyKeySchema.optional(),
  })
  .refine((r) => (r.template === undefined) !== (r.definitionId === undefined), {
    error: 'give exactly one of template (e.g. "sparc") and definitionId',
  });
export type CreateRun = z.output<typeof CreateRunSchema>;

/** `POST …/approve` and `…/reject`. */
export const DecisionSchema = z.strictObject({
  comment: z
    .string()
    .max(WORKFLOW_LIMITS.comment, { error: `comment must be at most ${WORKFLOW_LIMITS.comment} characters` })
    .optional(),
});

export const RUN_STATUSES = ['pending', 'running', 'waiting_approval', 'completed', 'failed', 'cancelled', 'rejected'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** States a run never leaves. */
export const TERMINAL: readonly RunStatus[] = ['completed', 'failed', 'cancelled', 'rejected'];

/** Run ids: 24 lowercase alphanumerics (time-ordered, or derived from an idempotency key). */
export const RUN_ID = /^[a-z0-9]{24}$/;

/** `GET /api/v1/workflows/runs`. */
export const RunListQuerySchema = z.strictObject({
  status: z.enum(RUN_STATUSES, { error: `status must be one of ${RUN_STATUSES.join(', ')}` }).optional(),
  workflow: slug('workflow').optional(),
  limit: PageLimitSchema,
  cursor: PageCursorSchema,
});
export type RunListQuery = z.output<typeof RunListQuerySchema>;

export const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped', 'waiting_approval', 'rejected', 'cancelled'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

const ErrorInfoSchema = z.strictObject({ code: z.string(), message: z.string(), step: z.string().optional() });
export type ErrorInfo = z.output<typeof ErrorInfoSchema>;

/** One step's checkpoint inside the run record. */
export const StepStateSchema = z.strictObject({
  status: z.enum(STEP_STATUSES),
  /** Times the step was started (a crash-interrupted start counts; it does not use up a retry). */
  attempts: z.number().int().min(0),
  /** Failed attempts, which the retry budget counts. */
  failures: z.number().int().min(0),
  /** Executor that started the current attempt (fences concurrent executors). */
  owner: z.string().optional(),
  agent: z.string().optional(),
  output: z.string().optional(),
  error: ErrorInfoSchema.optional(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  decision: z
    .strictObject({ approved: z.boolean(), comment: z.string().optional(), at: z.iso.datetime(), by: z.string().nullable() })
    .optional(),
  /** The rendered approval message while waiting. */
  message: z.string().optional(),
});
export type StepState = z.output<typeof StepStateSchema>;

/** The stored run: a snapshot of its definition, the input and every step's checkpoint. */
export const RunRecordSchema = z.strictObject({
  id: z.string().regex(RUN_ID),
  definition: DefinitionSchema,
  input: z.string(),
  status: z.enum(RUN_STATUSES),
  /** The step to run next (or running, or waiting); null before the first and after the last. */
  current: z.string().nullable(),
  /** Step ids in the order they were reached. */
  path: z.array(z.string()),
  steps: z.record(z.string(), StepStateSchema),
  error: ErrorInfoSchema.optional(),
  idempotencyKey: z.string().optional(),
  /** sha256 of what created the run, to tell a replay from a conflicting reuse of an idempotency key. */
  fingerprint: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
});
export type RunRecord = z.output<typeof RunRecordSchema>;

/** The executor lease of a run (KV `lease/<runId>`). */
export const LeaseSchema = z.strictObject({ owner: z.string(), expiresAt: z.number() });
export type Lease = z.output<typeof LeaseSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Events

/** Server-sent events of `POST …/run`, `…/resume` and `…/approve`, in order. */
export type WorkflowEvent =
  | { event: 'run_started'; data: { runId: string; status: RunStatus; resumedAt: string | null; completedSteps: string[] } }
  | { event: 'step_started'; data: { runId: string; step: string; attempt: number; agent?: string } }
  | { event: 'step_completed'; data: { runId: string; step: string; output: string; attempts: number; durationMs: number } }
  | { event: 'step_skipped'; data: { runId: string; step: string; reason: string } }
  | { event: 'step_failed'; data: { runId: string; step: string; attempt: number; error: ErrorInfo; retryInMs: number | null } }
  | { event: 'waiting_approval'; data: { runId: string; step: string; message: string } }
  | { event: 'run_completed'; data: { runId: string; status: 'completed'; output: string; outputs: Record<string, string> } }
  | { event: 'run_failed'; data: { runId: string; status: RunStatus; error: ErrorInfo } };
