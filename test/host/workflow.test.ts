/**
 * The `workflow` component over HTTP on the host, end to end: runs go from the workflow component to the agents'
 * chat (through the app itself, `agents_url = http://self.alt`), from there to the `llm-router` and the LLM
 * fixture, whose request log shows which steps ran and how often.
 *
 * Covered: the built-in SPARC run streamed as SSE (five phases, each prompt filled from earlier outputs, default
 * agents created on first use), idempotent creation, approval gates (approve continues, reject ends the run),
 * branches and `when`, retries with backoff, step timeouts and resuming a failed run, cancelling, two concurrent
 * executions of one run, definitions CRUD, and bad input (invalid definitions → 422 naming the problem, malformed
 * and oversized bodies, unknown runs, approving a run that is not waiting).
 *
 * Crash recovery with a real child process is in workflow-durability.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture, type LoggedRequest } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

// ---------------------------------------------------------------------------------------------------------------------
// Wire shapes

interface StepView {
  id: string;
  type: 'agent' | 'approval';
  agent?: string;
  status: string;
  attempts: number;
  failures: number;
  output: string | null;
  error: { code: string; message: string } | null;
  decision?: { approved: boolean; comment?: string };
}
interface RunView {
  id: string;
  workflow: { id: string; name: string };
  status: string;
  interrupted: boolean;
  approval: { step: string; message: string; approve: string; reject: string } | null;
  steps: StepView[];
  path: string[];
  outputs: Record<string, string>;
  output: string | null;
  error: { code: string; message: string; step?: string } | null;
}
interface ErrorBody {
  error: { code: string; message: string; details?: { path: (string | number)[]; message: string }[] };
}
interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

const SPARC_PHASES = ['specification', 'pseudocode', 'architecture', 'refinement', 'completion'];

// ---------------------------------------------------------------------------------------------------------------------
// Setup

let fixture: LlmFixture;
let app: TestApp;
let rc: { file: string; remove(): void };

beforeAll(async () => {
  fixture = await startLlmFixture();
  rc = memoryRuntimeConfig(['agents', 'memory', 'router', 'workflows', 'tasks']);
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: fixtureVariables(fixture, [
      // Failures must reach the workflow instead of being answered by the offline provider.
      ['router_offline_fallback', 'false'],
      ['workflow_lease_ms', '5000'],
    ]),
  });
});

afterAll(async () => {
  await app?.close();
  await fixture?.close();
  rc?.remove();
});

beforeEach(() => {
  fixture.setBehaviour({ latencyMs: 0, failure: null, failFirst: 0 });
  fixture.clearLog();
});

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

interface Reply<T> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

async function call<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${app.url}${path}`, init);
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('application/json') && text !== '';
  return { status: res.status, headers: res.headers, body: (json ? JSON.parse(text) : undefined) as T, text };
}

/** Server-sent events of a response body (`event:` and one `data:` line each; comments skipped). */
function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
    if (lines.length === 0) continue;
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
    const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '{}';
    events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
  }
  return events;
}

const runs = '/api/v1/workflows/runs';
const defs = '/api/v1/workflows/definitions';

async function createRun(body: Record<string, unknown>): Promise<string> {
  const r = await call<RunView>('POST', runs, body);
  expect(r.status, r.text).toBe(201);
  return r.body.id;
}

/** Drives a run (or approves/resumes it) and returns its SSE events. */
async function stream(path: string, body?: unknown): Promise<{ status: number; events: SseEvent[]; text: string }> {
  const r = await call('POST', path, body, { accept: 'text/event-stream' });
  return { status: r.status, events: r.status === 200 ? parseSse(r.text) : [], text: r.text };
}

const getRun = async (id: string) => (await call<RunView>('GET', `${runs}/${id}`)).body;

/** The last user message of a chat request the fixture received. */
function userMessage(r: LoggedRequest): string {
  const messages = (r.body as { messages?: { role: string; content: string }[] } | undefined)?.messages ?? [];
  return messages.findLast((m) => m.role === 'user')?.content ?? '';
}
/**
 * Resolves once a logged request matches. Polls the live log: the fixture announces a request before its body is
 * parsed and next when it is answered, so `fixture.waitFor` on the body would only fire after the answer.
 */
async function arrived(predicate: (r: LoggedRequest) => boolean, timeoutMs = 60_000): Promise<LoggedRequest> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = fixture.requests.find(predicate);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no matching fixture request within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const chats = () => fixture.requests.filter((r) => r.path === '/v1/chat/completions');

let defCounter = 0;
/** Stores a definition (admin) and returns its id. */
async function define(steps: unknown[], name = 'Test'): Promise<string> {
  const id = `t-${++defCounter}-${Date.now().toString(36)}`;
  const r = await call('POST', defs, { id, name, steps });
  expect(r.status, r.text).toBe(201);
  return id;
}

// ---------------------------------------------------------------------------------------------------------------------

describe('SPARC', () => {
  it('runs five phases against the fixture, streamed as SSE, each prompt built from earlier outputs', async () => {
    const created = await call<RunView>('POST', runs, { template: 'sparc', input: 'Build a URL shortener with expiring links.' });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('pending');
    expect(created.headers.get('location')).toBe(`${runs}/${created.body.id}`);
    const id = created.body.id;

    const res = await fetch(`${app.url}${runs}/${id}/run`, { method: 'POST', headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());

    expect(events.map((e) => `${e.event}${e.data.step ? `:${String(e.data.step)}` : ''}`)).toEqual([
      'run_started',
      ...SPARC_PHASES.flatMap((p) => [`step_started:${p}`, `step_completed:${p}`]),
      'run_completed',
    ]);
    const done = events.at(-1)!.data as { outputs: Record<string, string>; output: string };
    SPARC_PHASES.forEach((p, i) => expect(done.outputs[p]).toMatch(new RegExp(`^Fixture answer to: SPARC phase ${i + 1} of 5`)));
    expect(done.output).toBe(done.outputs.completion);
    const started = events.filter((e) => e.event === 'step_started').map((e) => e.data.agent);
    expect(started).toEqual(['researcher', 'coder', 'reviewer', 'coder', 'coder']);

    // One model call per phase, in order; later prompts carry the earlier phases' outputs.
    const log = chats();
    expect(log.map((r) => /^SPARC phase (\d)/.exec(userMessage(r))?.[1])).toEqual(['1', '2', '3', '4', '5']);
    expect(userMessage(log[1]!)).toContain(done.outputs.specification);
    expect(userMessage(log[4]!)).toContain(done.outputs.refinement);
    expect(userMessage(log[0]!)).toContain('Build a URL shortener with expiring links.');

    const run = await getRun(id);
    expect(run.status).toBe('completed');
    expect(run.path).toEqual(SPARC_PHASES);
    expect(run.steps.map((s) => [s.id, s.status, s.attempts, s.output])).toEqual(
      SPARC_PHASES.map((p) => [p, 'completed', 1, done.outputs[p]]),
    );

    // The default agents the phases name by kind were created on first use.
    for (const kind of ['researcher', 'coder', 'reviewer']) expect((await call('GET', `/api/v1/agents/${kind}/workflow`)).status).toBe(200);

    // A finished run cannot be driven again.
    const again = await call<ErrorBody>('POST', `${runs}/${id}/run`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('run_finished');
  });

  it('answers JSON instead of SSE with ?stream=false', async () => {
    const id = await createRun({ template: 'sparc', input: 'Write a haiku generator.' });
    const r = await call<RunView>('POST', `${runs}/${id}/run?stream=false`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('completed');
    expect(Object.keys(r.body.outputs)).toEqual(SPARC_PHASES);
  });

  it('lists the built-in definition', async () => {
    const r = await call<{ items: { id: string; builtin: boolean; steps: { id: string; agent: string }[] }[] }>('GET', defs);
    const sparc = r.body.items.find((d) => d.id === 'sparc')!;
    expect(sparc.builtin).toBe(true);
    expect(sparc.steps.map((s) => s.id)).toEqual(SPARC_PHASES);
    expect((await call('GET', `${defs}/sparc`)).status).toBe(200);
  });
});

describe('idempotency', () => {
  it('returns the same run for the same key, and 409 for the key with a different input', async () => {
    const key = `key-${Date.now()}`;
    const a = await call<RunView>('POST', runs, { template: 'sparc', input: 'same', idempotencyKey: key });
    const b = await call<RunView>('POST', runs, { template: 'sparc', input: 'same', idempotencyKey: key });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    const c = await call<ErrorBody>('POST', runs, { template: 'sparc', input: 'different', idempotencyKey: key });
    expect(c.status).toBe(409);
    expect(c.body.error.code).toBe('idempotency_conflict');
  });

  it('makes one run of concurrent creates with one key', async () => {
    const key = `race-${Date.now()}`;
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => call<RunView>('POST', runs, { template: 'sparc', input: 'x', idempotencyKey: key })),
    );
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    const list = await call<{ items: { id: string }[] }>('GET', `${runs}?limit=100`);
    expect(list.body.items.filter((i) => i.id === replies[0]!.body.id)).toHaveLength(1);
  });
});

describe('approval gates', () => {
  const gated = () =>
    define([
      { id: 'draft', agent: 'coder', prompt: 'Draft release notes for {{input}}' },
      { id: 'gate', type: 'approval', message: 'Publish these notes? {{steps.draft.output}}' },
      { id: 'publish', agent: 'reviewer', prompt: 'Publish: {{steps.draft.output}} (approver said: {{steps.gate.output}})' },
    ]);

  it('pauses the run until approved, then continues', async () => {
    const id = await createRun({ definitionId: await gated(), input: 'v1.2' });
    const first = await stream(`${runs}/${id}/run`);
    expect(first.events.map((e) => e.event)).toEqual(['run_started', 'step_started', 'step_completed', 'waiting_approval']);
    expect(first.events.at(-1)!.data).toMatchObject({
      step: 'gate',
      message: expect.stringContaining('Fixture answer to: Draft release notes for v1.2'),
    });

    const waiting = await getRun(id);
    expect(waiting.status).toBe('waiting_approval');
    expect(waiting.approval).toEqual({
      step: 'gate',
      message: expect.stringContaining('Publish these notes?'),
      requestedAt: expect.any(String),
      approve: `${runs}/${id}/approve`,
      reject: `${runs}/${id}/reject`,
    });
    expect(chats()).toHaveLength(1);

    // Driving or resuming it is refused while it waits.
    expect((await call<ErrorBody>('POST', `${runs}/${id}/run`)).body.error.code).toBe('waiting_approval');
    expect((await call<ErrorBody>('POST', `${runs}/${id}/resume`)).status).toBe(409);

    const approved = await stream(`${runs}/${id}/approve`, { comment: 'ship it' });
    expect(approved.status).toBe(200);
    expect(approved.events.map((e) => `${e.event}:${String(e.data.step ?? '')}`)).toEqual([
      'run_started:',
      'step_completed:gate',
      'step_started:publish',
      'step_completed:publish',
      'run_completed:',
    ]);
    expect(chats()).toHaveLength(2);
    expect(userMessage(chats()[1]!)).toContain('(approver said: ship it)');
    const done = await getRun(id);
    expect(done.status).toBe('completed');
    expect(done.steps.find((s) => s.id === 'gate')!.decision).toMatchObject({ approved: true, comment: 'ship it' });
    expect(done.approval).toBeNull();

    // Approving a run that is not waiting.
    const late = await call<ErrorBody>('POST', `${runs}/${id}/approve`);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('not_waiting_approval');
  });

  it('records an approval without driving the run with ?wait=false', async () => {
    const id = await createRun({ definitionId: await gated(), input: 'v2' });
    await stream(`${runs}/${id}/run`);
    const r = await call<RunView>('POST', `${runs}/${id}/approve?wait=false`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('pending');
    expect(chats()).toHaveLength(1);
    const resumed = await call<RunView>('POST', `${runs}/${id}/resume?stream=false`);
    expect(resumed.body.status).toBe('completed');
  });

  it('ends the run as rejected when rejected', async () => {
    const id = await createRun({ definitionId: await gated(), input: 'v3' });
    await stream(`${runs}/${id}/run`);
    const r = await call<RunView>('POST', `${runs}/${id}/reject`, { comment: 'not yet' });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('rejected');
    expect(r.body.error).toMatchObject({ code: 'rejected', step: 'gate', message: expect.stringContaining('not yet') });
    expect(r.body.steps.find((s) => s.id === 'publish')!.status).toBe('pending');
    expect(chats()).toHaveLength(1);
    expect((await call('POST', `${runs}/${id}/resume`)).status).toBe(409);
    expect((await call('POST', `${runs}/${id}/reject`)).status).toBe(409);
  });

  it('refuses to approve a run that has not reached its gate', async () => {
    const id = await createRun({ definitionId: await gated(), input: 'v4' });
    const r = await call<ErrorBody>('POST', `${runs}/${id}/approve`);
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain('pending');
  });
});

describe('branches, conditions, retries, timeouts', () => {
  it('follows the first matching branch and skips steps whose when does not hold', async () => {
    const id = await createRun({
      definitionId: await define([
        { id: 'triage', agent: 'reviewer', prompt: 'Classify: {{input}}' },
        {
          id: 'route',
          agent: 'coder',
          prompt: 'Route {{steps.triage.output}}',
          when: { step: 'triage', contains: 'feature', ignoreCase: true },
        },
        {
          id: 'check',
          agent: 'coder',
          prompt: 'Check {{steps.triage.output}}',
          next: [{ when: { step: 'triage', matches: '^BUG\\b' }, goto: 'fix' }, { goto: 'docs' }],
        },
        { id: 'fix', agent: 'coder', prompt: 'Fix: {{steps.triage.output}}', next: 'end' },
        { id: 'docs', agent: 'coder', prompt: 'Document {{input}}' },
      ]),
      input: 'the app crashes on start',
    });
    fixture.enqueue({ content: 'BUG: crash at start' });
    const r = await stream(`${runs}/${id}/run`);
    expect(r.events.map((e) => `${e.event}:${String(e.data.step ?? '')}`)).toEqual([
      'run_started:',
      'step_started:triage',
      'step_completed:triage',
      'step_skipped:route',
      'step_started:check',
      'step_completed:check',
      'step_started:fix',
      'step_completed:fix',
      'run_completed:',
    ]);
    const run = await getRun(id);
    expect(run.path).toEqual(['triage', 'route', 'check', 'fix']);
    expect(run.steps.map((s) => s.status)).toEqual(['completed', 'skipped', 'completed', 'completed', 'pending']);
    expect(chats().map(userMessage)).toEqual([
      'Classify: the app crashes on start',
      'Check BUG: crash at start',
      'Fix: BUG: crash at start',
    ]);
  });

  it('retries transient failures with backoff', async () => {
    const id = await createRun({
      definitionId: await define([{ id: 'flaky', agent: 'coder', prompt: 'Try {{input}}', retry: { maxAttempts: 3, backoffMs: 20 } }]),
      input: 'again',
    });
    fixture.setBehaviour({ failFirst: 2 });
    const r = await stream(`${runs}/${id}/run`);
    expect(r.events.map((e) => e.event)).toEqual([
      'run_started',
      'step_started',
      'step_failed',
      'step_started',
      'step_failed',
      'step_started',
      'step_completed',
      'run_completed',
    ]);
    expect(r.events.filter((e) => e.event === 'step_failed').map((e) => e.data.retryInMs)).toEqual([20, 40]);
    expect(chats()).toHaveLength(3);
    const step = (await getRun(id)).steps[0]!;
    expect([step.attempts, step.failures, step.status]).toEqual([3, 2, 'completed']);
  });

  it('fails a step that exceeds its timeout, and resume retries it', async () => {
    const id = await createRun({
      definitionId: await define([
        { id: 'first', agent: 'coder', prompt: 'One {{input}}' },
        { id: 'slow', agent: 'coder', prompt: 'Two {{input}}', timeoutMs: 1500 },
      ]),
      input: 'x',
    });
    // Every model call takes 3 s: within the first step's default timeout, beyond the second's 1.5 s.
    fixture.setBehaviour({ latencyMs: 3000 });
    const r = await stream(`${runs}/${id}/run`);
    expect(r.events.map((e) => e.event)).toEqual([
      'run_started',
      'step_started',
      'step_completed',
      'step_started',
      'step_failed',
      'run_failed',
    ]);
    expect(r.events.at(-2)!.data.error).toMatchObject({ code: 'timeout', step: 'slow' });
    const failed = await getRun(id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'timeout', step: 'slow' });

    // run refuses a failed run; resume retries the failed step without re-running the first.
    expect((await call<ErrorBody>('POST', `${runs}/${id}/run`)).body.error.code).toBe('run_failed');
    fixture.setBehaviour({ latencyMs: 0 });
    fixture.clearLog();
    const resumed = await stream(`${runs}/${id}/resume`);
    expect(resumed.events.map((e) => `${e.event}:${String(e.data.step ?? '')}`)).toEqual([
      'run_started:',
      'step_started:slow',
      'step_completed:slow',
      'run_completed:',
    ]);
    expect(resumed.events[0]!.data).toMatchObject({ completedSteps: ['first'], resumedAt: 'slow' });
    expect(chats().map(userMessage)).toEqual(['Two x']);
  });

  it('fails at once on an agent that does not exist, without retrying', async () => {
    const id = await createRun({
      definitionId: await define([{ id: 'a', agent: 'coder/nobody-here', prompt: 'Hi', retry: { maxAttempts: 5, backoffMs: 1 } }]),
      input: 'x',
    });
    const r = await call<RunView>('POST', `${runs}/${id}/run?stream=false`);
    expect(r.body.status).toBe('failed');
    expect(r.body.error).toMatchObject({ code: 'agent_not_found', step: 'a' });
    expect(r.body.steps[0]!.attempts).toBe(1);
  });
});

describe('cancel and concurrency', () => {
  it('cancels a run that has not finished, and refuses to drive it afterwards', async () => {
    const id = await createRun({ template: 'sparc', input: 'cancel me' });
    const r = await call<RunView>('POST', `${runs}/${id}/cancel`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('cancelled');
    expect((await call<ErrorBody>('POST', `${runs}/${id}/run`)).body.error.code).toBe('run_finished');
    expect((await call('POST', `${runs}/${id}/cancel`)).status).toBe(409);
    expect(chats()).toHaveLength(0);
  });

  it('stops a running run before its next step when cancelled', async () => {
    const id = await createRun({ template: 'sparc', input: 'stop soon' });
    // Slow enough that the cancel lands while phase 1 is in flight, even on a loaded machine.
    fixture.setBehaviour({ latencyMs: 2000 });
    const runP = stream(`${runs}/${id}/run`);
    await arrived((r) => userMessage(r).startsWith('SPARC phase 1'));
    const c = await call<RunView>('POST', `${runs}/${id}/cancel`);
    expect(c.body.status).toBe('cancelled');
    const r = await runP;
    expect(r.events.at(-1)).toMatchObject({ event: 'run_failed', data: { status: 'cancelled' } });
    expect(r.events.map((e) => e.event)).toEqual(['run_started', 'step_started', 'step_completed', 'run_failed']);
    expect(chats()).toHaveLength(1);
    expect((await getRun(id)).status).toBe('cancelled');
  });

  it('lets only one of two concurrent executions of a run run its steps', async () => {
    const id = await createRun({
      definitionId: await define([
        { id: 'one', agent: 'coder', prompt: 'Step one of {{input}}' },
        { id: 'two', agent: 'coder', prompt: 'Step two of {{input}}' },
        { id: 'three', agent: 'coder', prompt: 'Step three of {{input}}' },
      ]),
      input: 'race',
    });
    fixture.setBehaviour({ latencyMs: 100 });
    const [a, b] = await Promise.all([stream(`${runs}/${id}/run`), stream(`${runs}/${id}/run`)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(JSON.parse(loser.text)).toMatchObject({ error: { code: 'run_in_progress' } });
    const winner = a.status === 200 ? a : b;
    expect(winner.events.at(-1)!.event).toBe('run_completed');
    expect(chats().map(userMessage)).toEqual(['Step one of race', 'Step two of race', 'Step three of race']);
  });
});

describe('listing', () => {
  it('pages runs newest first and filters by status and workflow', async () => {
    const wf = await define([{ id: 'a', agent: 'coder', prompt: 'List {{input}}' }]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await createRun({ definitionId: wf, input: `n${i}` }));
    await call('POST', `${runs}/${ids[1]}/run?stream=false`);

    const page1 = await call<{ items: { id: string; status: string }[]; nextCursor: string | null }>(
      'GET',
      `${runs}?workflow=${wf}&limit=2`,
    );
    expect(page1.body.items.map((i) => i.id)).toEqual([ids[2], ids[1]]);
    const page2 = await call<{ items: { id: string }[]; nextCursor: string | null }>(
      'GET',
      `${runs}?workflow=${wf}&limit=2&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body.items.map((i) => i.id)).toEqual([ids[0]]);
    expect(page2.body.nextCursor).toBeNull();

    const done = await call<{ items: { id: string; status: string }[] }>('GET', `${runs}?workflow=${wf}&status=completed`);
    expect(done.body.items.map((i) => [i.id, i.status])).toEqual([[ids[1], 'completed']]);
  });
});

describe('definitions', () => {
  it('creates, reads, lists and deletes a definition', async () => {
    const body = { id: 'crud-check', name: 'CRUD', steps: [{ id: 'a', agent: 'coder/alice', prompt: 'Hi {{input}}' }] };
    const r = await call<{ id: string; steps: { type: string; retry: { maxAttempts: number }; timeoutMs: number }[] }>('POST', defs, body);
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${defs}/crud-check`);
    expect(r.body.steps[0]).toMatchObject({ type: 'agent', retry: { maxAttempts: 1 }, timeoutMs: 120000 });
    expect((await call('POST', defs, body)).status).toBe(409);
    expect((await call('GET', `${defs}/crud-check`)).status).toBe(200);
    expect((await call<{ items: { id: string }[] }>('GET', defs)).body.items.some((d) => d.id === 'crud-check')).toBe(true);
    expect((await call('DELETE', `${defs}/crud-check`)).status).toBe(204);
    expect((await call('GET', `${defs}/crud-check`)).status).toBe(404);
    expect((await call('DELETE', `${defs}/crud-check`)).status).toBe(404);
    expect((await call<ErrorBody>('DELETE', `${defs}/sparc`)).body.error.code).toBe('builtin');
  });
});

describe('bad input', () => {
  async function invalidDefinition(steps: unknown[]): Promise<ErrorBody['error']> {
    const r = await call<ErrorBody>('POST', defs, { name: 'Bad', steps });
    expect(r.status, r.text).toBe(422);
    expect(r.body.error.code).toBe('invalid_definition');
    return r.body.error;
  }

  it('rejects an unknown agent kind with 422', async () => {
    const e = await invalidDefinition([{ id: 'a', agent: 'astrologer', prompt: 'Hi' }]);
    expect(e.message).toContain("unknown agent kind 'astrologer'");
    expect(e.message).toMatch(/coder.*researcher.*reviewer|coder/);
    expect(e.details![0]!.path).toEqual(['steps', 0, 'agent']);
  });

  it('rejects cycles with 422 naming them', async () => {
    const e = await invalidDefinition([
      { id: 'a', agent: 'coder', prompt: 'A' },
      { id: 'b', agent: 'coder', prompt: 'B', next: [{ when: { contains: 'x' }, goto: 'a' }] },
    ]);
    expect(e.message).toContain('cycle: a → b → a');
  });

  it('rejects references to missing or later steps with 422', async () => {
    expect((await invalidDefinition([{ id: 'a', agent: 'coder', prompt: 'Use {{steps.ghost.output}}' }])).message).toContain(
      "refers to unknown step 'ghost'",
    );
    expect(
      (
        await invalidDefinition([
          { id: 'a', agent: 'coder', prompt: 'Use {{steps.b.output}}' },
          { id: 'b', agent: 'coder', prompt: 'B' },
        ])
      ).message,
    ).toContain("refers to step 'b', which never runs before it");
    expect((await invalidDefinition([{ id: 'a', agent: 'coder', prompt: 'X', next: 'nowhere' }])).message).toContain(
      "next refers to unknown step 'nowhere'",
    );
    expect((await invalidDefinition([{ id: 'a', agent: 'coder', prompt: 'X', when: { step: 'zz', contains: 'y' } }])).message).toContain(
      "when refers to unknown step 'zz'",
    );
    expect((await invalidDefinition([{ id: 'a', agent: 'coder', prompt: 'Hi {{inptu}}' }])).message).toContain(
      'unknown placeholder {{inptu}}',
    );
  });

  it('rejects duplicate and unreachable steps with 422', async () => {
    expect(
      (
        await invalidDefinition([
          { id: 'a', agent: 'coder', prompt: 'A' },
          { id: 'a', agent: 'coder', prompt: 'B' },
        ])
      ).message,
    ).toContain("duplicate step id 'a'");
    expect(
      (
        await invalidDefinition([
          { id: 'a', agent: 'coder', prompt: 'A', next: 'end' },
          { id: 'b', agent: 'coder', prompt: 'B' },
        ])
      ).message,
    ).toContain("step 'b' is never reached");
  });

  it('rejects malformed definitions with 400 and the zod issues', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'X', steps: [] }, 'at least one step'],
      [{ name: 'X', steps: [{ id: 'a', agent: 'coder', prompt: 'x', retries: 3 }] }, ''],
      [{ name: 'X', steps: [{ id: 'a', type: 'webhook' }] }, 'unknown step type'],
      [{ name: 'X', steps: [{ id: 'end', agent: 'coder', prompt: 'x' }] }, 'reserved'],
      [{ name: 'X', steps: [{ id: 'a', agent: 'coder', prompt: 'x', when: { contains: 'a', equals: 'b' } }] }, 'exactly one of'],
      [{ name: 'X', steps: [{ id: 'a', agent: 'coder', prompt: 'x', when: { matches: '(' } }] }, 'valid regular expression'],
      [{ name: 'X', steps: [{ id: 'a', agent: 'Coder Agent', prompt: 'x' }] }, '<kind>/<name>'],
      [{ name: 'X', steps: [{ id: 'a', agent: 'coder', prompt: 'x', timeoutMs: 5 }] }, ''],
      [[1, 2], ''],
    ];
    for (const [body, message] of cases) {
      const r = await call<ErrorBody>('POST', defs, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      expect(r.body.error.message).toContain(message);
      expect(r.body.error.details!.length).toBeGreaterThan(0);
    }
  });

  it('answers 404 for unknown runs and definitions', async () => {
    for (const [method, path] of [
      ['GET', `${runs}/0000000000000000000000zz`],
      ['POST', `${runs}/0000000000000000000000zz/run`],
      ['POST', `${runs}/0000000000000000000000zz/resume`],
      ['POST', `${runs}/0000000000000000000000zz/approve`],
      ['POST', `${runs}/0000000000000000000000zz/reject`],
      ['POST', `${runs}/0000000000000000000000zz/cancel`],
      ['GET', `${runs}/..%2F..%2Fdef%2Fsparc`],
      ['GET', `${defs}/no-such-definition`],
    ] as const) {
      const r = await call<ErrorBody>(method, path);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    const r = await call<ErrorBody>('POST', runs, { template: 'no-such-template', input: 'x' });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toContain('no-such-template');
  });

  it('rejects malformed, oversized and hostile run bodies without a 500', async () => {
    const cases: [string | unknown, number, string][] = [
      ['{"template":', 400, 'invalid_json'],
      ['', 400, 'invalid_json'],
      [{ template: 'sparc' }, 400, 'invalid_request'],
      [{ template: 'sparc', input: '' }, 400, 'invalid_request'],
      [{ template: 'sparc', input: 42 }, 400, 'invalid_request'],
      [{ template: 'sparc', definitionId: 'sparc', input: 'x' }, 400, 'invalid_request'],
      [{ template: 'sparc', input: 'x', extra: true }, 400, 'invalid_request'],
      [{ template: 'sparc', input: 'x', idempotencyKey: 'has space' }, 400, 'invalid_request'],
      [{ template: '../../etc', input: 'x' }, 400, 'invalid_request'],
      [{ template: 'sparc', input: 'x'.repeat(64 * 1024 + 1) }, 400, 'invalid_request'],
      [{ template: 'sparc', input: 'x'.repeat(300 * 1024) }, 413, 'payload_too_large'],
      [{ __proto__: { polluted: true }, template: 'sparc', input: 'x', constructor: { prototype: {} } }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const r = await call<ErrorBody>('POST', runs, typeof body === 'string' ? body : JSON.stringify(body), {
        'content-type': 'application/json',
      });
      expect(r.status, String(body).slice(0, 60)).toBe(status);
      expect(r.body.error.code).toBe(code);
    }
    const big = await call<ErrorBody>('POST', defs, { name: 'Big', steps: [{ id: 'a', agent: 'coder', prompt: 'x'.repeat(300 * 1024) }] });
    expect(big.status).toBe(413);
    const id = await createRun({ template: 'sparc', input: 'bodies' });
    expect((await call<ErrorBody>('POST', `${runs}/${id}/approve`, '{nope')).status).toBe(400);
    expect((await call<ErrorBody>('POST', `${runs}/${id}/approve`, { comment: 5 })).status).toBe(400);
    expect((await call<ErrorBody>('POST', `${runs}/${id}/reject`, { comment: 'x'.repeat(20_000) })).status).toBe(413);
  });

  it('rejects bad list queries and wrong methods', async () => {
    for (const q of ['status=done', 'limit=0', 'limit=abc', 'cursor=%25%25', 'bogus=1', 'status=pending&status=failed']) {
      const r = await call<ErrorBody>('GET', `${runs}?${q}`);
      expect(r.status, q).toBe(400);
    }
    const r = await call('PUT', runs);
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, POST');
    expect((await call('GET', `${runs}/0000000000000000000000zz/approve`)).status).toBe(405);
  });

  it('keeps stored runs intact after bad requests', async () => {
    const id = await createRun({ template: 'sparc', input: 'survivor' });
    await call('POST', `${runs}/${id}/approve`, '{"comment":');
    await call('POST', `${runs}/${id}/reject`);
    await call('POST', runs, { template: 'sparc', input: 'x', idempotencyKey: '' });
    const run = await getRun(id);
    expect(run.status).toBe('pending');
    expect(run.steps.every((s) => s.status === 'pending')).toBe(true);
  });
});
