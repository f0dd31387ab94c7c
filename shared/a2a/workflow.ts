/**
 * Workflow runs as A2A tasks on the platform endpoint (`/a2a`). A send whose `metadata.skill` is
 * `workflow/<definitionId>` (the card lists `workflow/sparc`) creates a run of that definition with the message text
 * as its input and drives it over the workflow component's SSE endpoint inside the request:
 *
 * | run event                  | task                                                                               |
 * | -------------------------- | ---------------------------------------------------------------------------------- |
 * | `step_started`             | `working`, status message naming the step                                          |
 * | `step_completed`           | an artifact `step-<id>` with the step's output (streamed as one chunk)             |
 * | `waiting_approval`         | `input-required`, status message naming the gate and how to answer                 |
 * | `run_completed`            | `completed`, every agent step's output as an artifact, the final output as message |
 * | `run_failed`               | `failed` (`rejected` for a rejected run, `canceled` for a cancelled one)          |
 *
 * A message naming an `input-required` workflow task answers the gate: text starting with `approve` or `reject`
 * (optionally followed by a comment) calls `…/approve` (which drives the run on, in the same request) or `…/reject`.
 * Any other text leaves the task `input-required` and asks again. A rejected run ends the task `rejected`: the run
 * was stopped on purpose at the gate, which is neither an error (`failed`) nor a `CancelTask` (`canceled`).
 *
 * The run id is in the task's metadata (`workflowRunId`, with `workflow`, and `workflowApprovalStep` while a gate
 * waits), so `GetTask` shows where to find the run in `/api/v1/workflows/runs/<id>`.
 *
 * @module
 */
import { field, readSse } from '../http/sse.ts';
import { isTerminal, type Artifact, type Message, type StoredTask, type TaskState } from '../protocol/a2a.ts';
import { SLUG } from '../protocol/agents.ts';
import { JsonRpcError, JSONRPC_ERRORS } from '../protocol/jsonrpc.ts';
import { WORKFLOW_LIMITS } from '../protocol/workflows.ts';
import type { CardSkill } from './card.ts';
import { messageText, type TaskEvent } from './execute.ts';
import { deliverPush } from './push.ts';
import { uuid, type TaskStore } from './tasks.ts';

/** `task.agent` of workflow tasks and the skill prefix: `workflow/<definitionId>`. */
export const WORKFLOW_PREFIX = 'workflow/';
/** How long one request drives a run before giving up on it (several model calls). */
export const WORKFLOW_TIMEOUT_MS = 600_000;

/** The workflow skills the platform card lists when the workflow component is reachable. */
export const WORKFLOW_SKILLS: readonly CardSkill[] = [
  {
    id: 'workflow/sparc',
    name: 'SPARC workflow',
    description: 'Run the SPARC workflow: specification, pseudocode, architecture, refinement, completion',
    tags: ['workflow', 'sparc'],
    examples: ['Build a URL shortener with expiring links'],
  },
];

/** The definition id a skill names (`workflow/<definitionId>`), or undefined when it names no workflow. */
export function workflowDefinitionOf(skill: string | undefined): string | undefined {
  if (skill === undefined || !skill.startsWith(WORKFLOW_PREFIX)) return undefined;
  const id = skill.slice(WORKFLOW_PREFIX.length);
  return SLUG.test(id) ? id : undefined;
}

/** How the a2a component reaches the workflow component for one request. */
export interface WorkflowClient {
  /** `workflow_url` without a trailing slash. */
  baseUrl: string;
  /** The caller's `Authorization` header, forwarded (the workflow routes need the invoke scope). */
  authorization: string | null;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
}

/** What a send turns into when the platform runs it itself instead of forwarding it to an agent. */
export interface LocalSend {
  /** `task.agent` of the task (`workflow/<definitionId>`). */
  agent: string;
  /** Metadata of a new task. */
  metadata?: Record<string, unknown> | undefined;
  /** Drives the opened task to a terminal or interrupted state; never throws. */
  run: (store: TaskStore, task: StoredTask, onEvent?: (e: TaskEvent) => void) => Promise<StoredTask>;
}

const RUNS = '/api/v1/workflows/runs';

/** The `{id, status, steps, approval, error}` part of the workflow component's run view that tasks use. */
interface RunView {
  id: string;
  status: string;
  steps: { id: string; type: string; title: string; status: string; output: string | null }[];
  approval: { step: string; message: string } | null;
  error: { message: string } | null;
}

function call(client: WorkflowClient, path: string, init: { method?: string; body?: unknown; accept?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: init.accept ?? 'application/json' };
  if (client.authorization !== null) headers.authorization = client.authorization;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const request = client.fetch(`${client.baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  // `fetch` ignores AbortSignal in the guest: race it against a timer.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the workflow component did not answer within ${WORKFLOW_TIMEOUT_MS} ms`)),
      WORKFLOW_TIMEOUT_MS,
    );
  });
  return Promise.race([request, late]).finally(() => clearTimeout(timer));
}

/** The `error.message` of a platform error body, else the start of the text. */
function errorMessage(text: string): string {
  try {
    const message = field(field(JSON.parse(text) as unknown, 'error'), 'message');
    if (typeof message === 'string') return message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || 'no details';
}

/** Creates the run before the task exists, so an unknown definition is a JSON-RPC error rather than a failed task. */
async function createRun(client: WorkflowClient, definitionId: string, input: string): Promise<string> {
  let res: Response;
  try {
    res = await call(client, RUNS, { method: 'POST', body: { definitionId, input } });
  } catch (err) {
    throw new JsonRpcError(
      JSONRPC_ERRORS.internalError,
      `the workflow component cannot be reached: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const text = await res.text();
  if (res.status === 404)
    throw new JsonRpcError(
      JSONRPC_ERRORS.invalidParams,
      `invalid params: no workflow definition ${JSON.stringify(definitionId)} (skill ${WORKFLOW_PREFIX}${definitionId}); see GET ${RUNS.replace('/runs', '/definitions')}`,
    );
  if (res.status === 400) throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, `invalid params: ${errorMessage(text)}`);
  if (!res.ok) throw new JsonRpcError(JSONRPC_ERRORS.internalError, `the workflow component answered ${res.status}: ${errorMessage(text)}`);
  const id = field(JSON.parse(text) as unknown, 'id');
  if (typeof id !== 'string' || id === '')
    throw new JsonRpcError(JSONRPC_ERRORS.internalError, 'the workflow component created a run without an id');
  return id;
}

function agentMessage(task: StoredTask, text: string): Message {
  return { messageId: uuid(), role: 'agent', parts: [{ text }], contextId: task.contextId, taskId: task.id };
}

const stepArtifactId = (step: string) => `step-${step}`;

/** The approval prompt a waiting task shows. */
function approvalPrompt(step: string, message: string): string {
  const what = message.trim() === '' ? '' : `\n\n${message.trim()}`;
  return `The workflow waits for approval at step "${step}".${what}\n\nReply "approve" or "reject", optionally followed by a comment (for example "approve: ship it").`;
}

/** `approve`/`reject` (and their past tenses) at the start of a reply, with the rest as the comment. */
export function parseDecision(text: string): { approved: boolean; comment: string | undefined } | undefined {
  const m = /^\s*(approve|reject)d?(?![a-z0-9])[\s:,.;!-]*([\s\S]*)$/i.exec(text);
  if (!m) return undefined;
  const comment = m[2]!.trim();
  return { approved: m[1]!.toLowerCase() === 'approve', comment: comment === '' ? undefined : comment };
}

/**
 * One task's run: re-reads the task before every write so a cancel from another request is never overwritten, and
 * stops emitting once the task is terminal.
 */
class Driver {
  readonly #store: TaskStore;
  readonly #client: WorkflowClient;
  readonly #emit: (e: TaskEvent) => void;
  readonly runId: string;
  task: StoredTask;

  constructor(store: TaskStore, client: WorkflowClient, task: StoredTask, onEvent: ((e: TaskEvent) => void) | undefined) {
    this.#store = store;
    this.#client = client;
    this.#emit = onEvent ?? (() => {});
    this.task = task;
    this.runId = String(task.metadata?.workflowRunId ?? '');
  }

  get #path(): string {
    return `${RUNS}/${encodeURIComponent(this.runId)}`;
  }

  /** Writes a change unless the task became terminal elsewhere; emits the new status. */
  async status(
    state: TaskState,
    text: string | undefined,
    change: { artifacts?: Artifact[]; toHistory?: boolean; metadata?: Record<string, unknown> } = {},
  ): Promise<void> {
    const current = this.#store.get(this.task.id) ?? this.task;
    if (isTerminal(current.state)) {
      this.task = current;
      return;
    }
    const message = text === undefined ? undefined : agentMessage(current, text);
    this.task = {
      ...current,
      state,
      timestamp: new Date().toISOString(),
      message,
      artifacts: change.artifacts ?? current.artifacts,
      history: change.toHistory && message ? [...current.history, message] : current.history,
      metadata: change.metadata ? { ...current.metadata, ...change.metadata } : current.metadata,
    };
    this.#store.put(this.task);
    this.#emit({ type: 'status', task: this.task });
    if (state !== 'working' || text === undefined) await deliverPush(this.#store, this.task);
  }

  /** Records one step's output as an artifact and streams it. */
  artifact(step: string, output: string): void {
    const current = this.#store.get(this.task.id) ?? this.task;
    if (isTerminal(current.state)) return;
    const artifact: Artifact = { artifactId: stepArtifactId(step), name: step, parts: [{ text: output }] };
    this.task = { ...current, artifacts: [...current.artifacts.filter((a) => a.artifactId !== artifact.artifactId), artifact] };
    this.#store.put(this.task);
    this.#emit({ type: 'artifact', task: this.task, artifact, append: false, lastChunk: true });
  }

  /** Reads a run's event stream (the answer of `…/run` or `…/approve`) until it ends, pauses or fails. */
  async follow(res: Response): Promise<void> {
    if (!res.ok || !(res.headers.get('content-type') ?? '').includes('text/event-stream') || !res.body) {
      // 409 (another request drives it, or it is not waiting any more) or 202 after an approval: the record tells.
      await res.text();
      return;
    }
    const gate = this.task.metadata?.workflowApprovalStep;
    const late = () => new Error(`run ${this.runId} did not finish or pause within ${WORKFLOW_TIMEOUT_MS} ms`);
    for await (const e of readSse(res.body, Date.now() + WORKFLOW_TIMEOUT_MS, late)) {
      if (isTerminal((this.#store.get(this.task.id) ?? this.task).state)) return;
      const step = field(e.data, 'step');
      if (e.event === 'step_started' && typeof step === 'string') {
        const agent = field(e.data, 'agent');
        await this.status('working', `Running step "${step}"${typeof agent === 'string' ? ` (agent ${agent})` : ''}.`);
      } else if (e.event === 'step_completed' && typeof step === 'string' && step !== gate) {
        const output = field(e.data, 'output');
        if (typeof output === 'string') this.artifact(step, output);
      } else if (e.event === 'waiting_approval' || e.event === 'run_completed' || e.event === 'run_failed') {
        return;
      }
    }
  }

  /** The run record (the source of truth once a stream has ended), or undefined when it cannot be read. */
  async view(): Promise<RunView | undefined> {
    try {
      const res = await call(this.#client, this.#path);
      if (!res.ok) {
        await res.text();
        return undefined;
      }
      return (await res.json()) as RunView;
    } catch {
      return undefined;
    }
  }

  /** Maps the run's status onto the task: the end of every request that drives or decides a run. */
  async settle(view: RunView | undefined): Promise<StoredTask> {
    if (!view) {
      await this.status('failed', `The workflow run ${this.runId} cannot be read from the workflow component.`, { toHistory: true });
      return this.task;
    }
    const outputs: Artifact[] = view.steps
      .filter((s) => s.type === 'agent' && s.status === 'completed' && s.output !== null)
      .map((s) => ({ artifactId: stepArtifactId(s.id), name: s.id, description: s.title, parts: [{ text: s.output! }] }));
    const why = view.error?.message;
    switch (view.status) {
      case 'completed': {
        const last = outputs.at(-1)?.parts[0]?.text ?? '';
        await this.status('completed', last, { artifacts: outputs, toHistory: true, metadata: { workflowApprovalStep: undefined } });
        break;
      }
      case 'waiting_approval': {
        const step = view.approval?.step ?? '';
        await this.status('input-required', approvalPrompt(step, view.approval?.message ?? ''), {
          artifacts: outputs,
          toHistory: true,
          metadata: { workflowApprovalStep: step },
        });
        break;
      }
      case 'rejected':
        await this.status('rejected', `The workflow run was rejected${why ? `: ${why}` : '.'}`, { artifacts: outputs, toHistory: true });
        break;
      case 'cancelled':
        await this.status('canceled', 'The workflow run was cancelled.', { artifacts: outputs, toHistory: true });
        break;
      case 'failed':
        await this.status('failed', `The workflow run failed${why ? `: ${why}` : '.'}`, { artifacts: outputs, toHistory: true });
        break;
      default:
        // Still running: another request drives it, or this one gave up waiting. The task cannot follow it from here.
        await this.status(
          'failed',
          `The workflow run ${this.runId} is still ${view.status} but this request stopped following it; see ${RUNS}/${this.runId}.`,
          { artifacts: outputs, toHistory: true },
        );
    }
    return this.task;
  }

  /** POSTs to the run (`run`, `approve`, `reject`), follows what it streams and settles the task. */
  async drive(action: 'run' | 'approve' | 'reject', body: Record<string, unknown> = {}): Promise<StoredTask> {
    try {
      const res = await call(this.#client, `${this.#path}/${action}`, { method: 'POST', body, accept: 'text/event-stream' });
      await this.follow(res);
    } catch (err) {
      console.error(`a2a: workflow run ${this.runId}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (isTerminal((this.#store.get(this.task.id) ?? this.task).state)) return this.#store.get(this.task.id) ?? this.task;
    return this.settle(await this.view());
  }
}

/** Starts a run of `definitionId` for a new task (the run id goes into the task's metadata). */
export async function startWorkflow(
  client: WorkflowClient,
  definitionId: string,
  message: Message,
  metadata: Record<string, unknown> | undefined,
): Promise<LocalSend> {
  const runId = await createRun(client, definitionId, messageText(message));
  return {
    agent: `${WORKFLOW_PREFIX}${definitionId}`,
    metadata: { ...metadata, workflow: definitionId, workflowRunId: runId },
    run: async (store, task, onEvent) => {
      const d = new Driver(store, client, task, onEvent);
      await d.status('working', undefined);
      return d.drive('run');
    },
  };
}

/** Answers the approval gate of a waiting workflow task with the (last) message of the task. */
export function continueWorkflow(client: WorkflowClient, agent: string): LocalSend {
  return {
    agent,
    run: async (store, task, onEvent) => {
      const d = new Driver(store, client, task, onEvent);
      const last = task.history.at(-1);
      const decision = parseDecision(last ? messageText(last) : '');
      const step = String(task.metadata?.workflowApprovalStep ?? '');
      const again = (why: string) =>
        d.status('input-required', `${why} Step "${step}" still waits: reply "approve" or "reject", optionally followed by a comment.`, {
          toHistory: true,
        });
      if (!decision) {
        await again('That is not an answer to the approval gate.');
        return d.task;
      }
      if (decision.comment !== undefined && decision.comment.length > WORKFLOW_LIMITS.comment) {
        await again(`The comment is longer than ${WORKFLOW_LIMITS.comment} characters.`);
        return d.task;
      }
      await d.status('working', `${decision.approved ? 'Approved' : 'Rejected'} step "${step}".`);
      const body = decision.comment === undefined ? {} : { comment: decision.comment };
      return d.drive(decision.approved ? 'approve' : 'reject', body);
    },
  };
}

/** Cancels the run of a canceled workflow task (best effort: the task is canceled whatever the run does). */
export async function cancelWorkflowRun(client: WorkflowClient, task: StoredTask): Promise<void> {
  const runId = task.metadata?.workflowRunId;
  if (!task.agent.startsWith(WORKFLOW_PREFIX) || typeof runId !== 'string') return;
  try {
    const res = await call(client, `${RUNS}/${encodeURIComponent(runId)}/cancel`, { method: 'POST', body: {} });
    await res.text();
  } catch (err) {
    console.error(`a2a: cancelling workflow run ${runId}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
