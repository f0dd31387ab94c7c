/**
 * Workflow runs as A2A tasks on the platform endpoint, with the official client (`@a2a-js/sdk` 1.3.0) against the
 * real host, the real `a2a`, `workflow` and agent kind components and the LLM fixture: the card's `workflow/sparc`
 * skill, a SPARC run to `completed` with one artifact per phase, an approval gate surfacing as `input-required`
 * (approve, reject, and replies that are neither), streaming, cancel, and unknown definitions.
 */
import { Role, SendMessageRequest, TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

const SPARC_PHASES = ['specification', 'pseudocode', 'architecture', 'refinement', 'completion'];

let fixture: LlmFixture;
let app: TestApp;
let rc: { file: string; remove(): void };
let client: Client;
let gated: string;

beforeAll(async () => {
  fixture = await startLlmFixture();
  rc = memoryRuntimeConfig(['agents', 'memory', 'router', 'tasks', 'workflows']);
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: fixtureVariables(fixture),
  });
  const res = await fetch(`${app.url}/api/v1/workflows/definitions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'release-notes',
      name: 'Release notes',
      steps: [
        { id: 'draft', agent: 'coder', prompt: 'Draft release notes for {{input}}' },
        { id: 'gate', type: 'approval', message: 'Publish these notes? {{steps.draft.output}}' },
        { id: 'publish', agent: 'reviewer', prompt: 'Publish: {{steps.draft.output}} (approver said: {{steps.gate.output}})' },
      ],
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  gated = 'workflow/release-notes';
  client = await new ClientFactory().createFromUrl(app.url);
});

afterAll(async () => {
  await app?.close();
  await fixture?.close();
  rc?.remove();
});

function request(text: string, extra: Record<string, unknown> = {}): SendMessageRequest {
  return SendMessageRequest.fromJSON({ message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...extra } });
}

const start = (skill: string, text: string) => request(text, { metadata: { skill } });
const reply = (task: Task, text: string) => request(text, { taskId: task.id });

async function send(req: SendMessageRequest): Promise<Task> {
  const r = await client.sendMessage(req);
  expect('messageId' in r, 'the platform answers with a task').toBe(false);
  return r as Task;
}

const state = (t: Task) => TaskState[t.status!.state];
const textOf = (parts: Task['artifacts'][number]['parts']) =>
  parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
const statusText = (t: Task) => textOf(t.status?.message?.parts ?? []);
const getTask = (id: string) => client.getTask({ id, tenant: '', historyLength: undefined });

async function errorCode(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { envelopeCode?: number }).envelopeCode;
  }
  throw new Error('expected the call to fail');
}

async function runView(
  id: string,
): Promise<{ status: string; steps: { id: string; decision?: { approved: boolean; comment?: string } }[] }> {
  const res = await fetch(`${app.url}/api/v1/workflows/runs/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as never;
}

describe('workflow skills on the platform card', () => {
  it('lists workflow/sparc', async () => {
    const card = await client.getAgentCard();
    const skill = card.skills.find((s) => s.id === 'workflow/sparc');
    expect(skill).toMatchObject({
      name: 'SPARC workflow',
      description: 'Run the SPARC workflow: specification, pseudocode, architecture, refinement, completion',
      tags: ['workflow', 'sparc'],
    });
  });
});

describe('SPARC over A2A', () => {
  it('runs to completed with one artifact per phase; GetTask shows the run id', async () => {
    fixture.clearLog();
    const task = await send(start('workflow/sparc', 'Build a URL shortener with expiring links.'));
    expect(state(task)).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts.map((a) => a.name)).toEqual(SPARC_PHASES);
    task.artifacts.forEach((a, i) => expect(textOf(a.parts)).toMatch(new RegExp(`^Fixture answer to: SPARC phase ${i + 1} of 5`)));
    expect(statusText(task)).toBe(textOf(task.artifacts.at(-1)!.parts));

    const runId = task.metadata?.workflowRunId;
    expect(runId).toMatch(/^[a-z0-9]{24}$/);
    expect(task.metadata).toMatchObject({ workflow: 'sparc' });
    const got = await getTask(task.id);
    expect(state(got)).toBe('TASK_STATE_COMPLETED');
    expect(got.metadata?.workflowRunId).toBe(runId);
    expect((await runView(String(runId))).status).toBe('completed');
  });

  it('streams working, one artifact per completed phase, then completed', async () => {
    const events: StreamResponse[] = [];
    for await (const e of client.sendMessageStream(start('workflow/sparc', 'A todo list CLI'))) events.push(e);
    expect(events[0]!.payload?.$case).toBe('task');
    const artifacts = events.flatMap((e) => (e.payload?.$case === 'artifactUpdate' ? [e.payload.value.artifact!.name] : []));
    expect(artifacts).toEqual(SPARC_PHASES);
    const states = events.flatMap((e) => (e.payload?.$case === 'statusUpdate' ? [TaskState[e.payload.value.status!.state]] : []));
    expect(states[0]).toBe('TASK_STATE_WORKING');
    expect(states.at(-1)).toBe('TASK_STATE_COMPLETED');
    expect(states.slice(0, -1).every((s) => s === 'TASK_STATE_WORKING')).toBe(true);
  });

  it('answers an unknown definition with -32602 and creates no task', async () => {
    const count = async () =>
      (await client.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined })).totalSize;
    const before = await count();
    expect(await errorCode(client.sendMessage(start('workflow/no-such-flow', 'x')))).toBe(-32602);
    expect(await count()).toBe(before);
  });
});

describe('approval gates over A2A', () => {
  async function waiting(input: string): Promise<Task> {
    const task = await send(start(gated, input));
    expect(state(task)).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(statusText(task)).toContain('step "gate"');
    expect(statusText(task)).toContain('Publish these notes?');
    expect(statusText(task)).toMatch(/"approve" or "reject"/);
    expect(task.artifacts.map((a) => a.name)).toEqual(['draft']);
    return task;
  }

  it('pauses at input-required; GetTask shows it; "approve" completes it', async () => {
    const task = await waiting('v1.2');
    const got = await getTask(task.id);
    expect(state(got)).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(got.metadata).toMatchObject({ workflow: 'release-notes', workflowApprovalStep: 'gate' });
    const runId = String(got.metadata?.workflowRunId);
    expect((await runView(runId)).status).toBe('waiting_approval');

    fixture.clearLog();
    const done = await send(reply(task, 'Approve: ship it'));
    expect(done.id).toBe(task.id);
    expect(state(done)).toBe('TASK_STATE_COMPLETED');
    expect(done.artifacts.map((a) => a.name)).toEqual(['draft', 'publish']);
    expect(textOf(done.artifacts[1]!.parts)).toMatch(/^Fixture answer to: Publish:/);
    // The comment reached the step after the gate (the fixture's echo is shortened, its request log is not).
    expect(fixture.requests.some((r) => JSON.stringify(r).includes('(approver said: ship it)'))).toBe(true);
    const run = await runView(runId);
    expect(run.status).toBe('completed');
    expect(run.steps.find((s) => s.id === 'gate')!.decision).toMatchObject({ approved: true, comment: 'ship it' });
    // A finished task takes no further replies.
    expect(await errorCode(client.sendMessage(reply(task, 'approve')))).toBe(-32004);
  });

  it('"reject" ends the task rejected and the run rejected', async () => {
    const task = await waiting('v1.3');
    const done = await send(reply(task, 'reject - not yet'));
    expect(state(done)).toBe('TASK_STATE_REJECTED');
    expect(done.artifacts.map((a) => a.name)).toEqual(['draft']);
    expect((await runView(String(done.metadata?.workflowRunId))).status).toBe('rejected');
    expect(state(await getTask(task.id))).toBe('TASK_STATE_REJECTED');
  });

  it('keeps the task input-required on replies that are neither approve nor reject', async () => {
    const task = await waiting('v1.4');
    for (const text of ['maybe later', 'approval pending?', 'rejection', '']) {
      const again = await send(reply(task, text || ' '));
      expect(state(again), text).toBe('TASK_STATE_INPUT_REQUIRED');
      expect(statusText(again)).toContain('not an answer');
      expect(again.status?.message?.role).toBe(Role.ROLE_AGENT);
    }
    const tooLong = await send(reply(task, `approve ${'x'.repeat(2001)}`));
    expect(state(tooLong)).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(statusText(tooLong)).toContain('longer than 2000');
    expect((await runView(String(task.metadata?.workflowRunId))).status).toBe('waiting_approval');
    // Still answerable afterwards, over a stream this time.
    const events: StreamResponse[] = [];
    for await (const e of client.sendMessageStream(reply(task, 'APPROVED'))) events.push(e);
    const last = events.at(-1)!;
    expect(last.payload?.$case).toBe('statusUpdate');
    expect(last.payload?.$case === 'statusUpdate' && TaskState[last.payload.value.status!.state]).toBe('TASK_STATE_COMPLETED');
    expect(events.some((e) => e.payload?.$case === 'artifactUpdate' && e.payload.value.artifact!.name === 'publish')).toBe(true);
  });

  it('a streamed start closes at input-required; CancelTask cancels the run', async () => {
    const events: StreamResponse[] = [];
    for await (const e of client.sendMessageStream(start(gated, 'v1.5'))) events.push(e);
    const last = events.at(-1)!;
    expect(last.payload?.$case === 'statusUpdate' && TaskState[last.payload.value.status!.state]).toBe('TASK_STATE_INPUT_REQUIRED');
    const first = events[0]!.payload;
    const id = first?.$case === 'task' ? first.value.id : '';
    const task = await getTask(id);
    const canceled = await client.cancelTask({ id, tenant: '', metadata: undefined });
    expect(TaskState[canceled.status!.state]).toBe('TASK_STATE_CANCELED');
    expect((await runView(String(task.metadata?.workflowRunId))).status).toBe('cancelled');
  });
});
