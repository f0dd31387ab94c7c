/**
 * A2A v1.0 end to end with the official client (`@a2a-js/sdk` 1.3.0) against the real host, the real `a2a` and agent
 * kind components and the LLM fixture: card discovery (platform and per agent, ETag/304, capability-derived
 * skills), send, stream, get, list, cancel, resubscribe, push notifications, dispatch by skill, and tasks surviving
 * across requests (different instances). Bad input and restarts are in `a2a-errors.test.ts`, v0.3 in
 * `a2a-v03.test.ts`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Role, SendMessageRequest, TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

let fixture: LlmFixture;
let app: TestApp;
let rc: { remove(): void };
let platform: Client;

/** A push receiver: a real HTTP server recording what it gets. */
const received: { headers: IncomingMessage['headers']; body: unknown }[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    received.push({ headers: req.headers, body: JSON.parse(body) as unknown });
    res.end();
  });
});
let receiverUrl: string;

async function createAgent(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${app.url}/api/v1/agents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

beforeAll(async () => {
  fixture = await startLlmFixture();
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const config = memoryRuntimeConfig(['agents', 'memory', 'router', 'tasks', 'workflows']);
  rc = config;
  app = await startApp(APPS.main, {
    runtimeConfigFile: config.file,
    variables: fixtureVariables(fixture, [['a2a_push_hosts', 'http://127.0.0.1:*']]),
  });
  await createAgent({
    name: 'ada',
    kind: 'coder',
    description: 'Writes TypeScript.',
    skills: [{ id: 'typescript', name: 'TypeScript', tags: ['code', 'typescript'], examples: ['Fix this function'] }],
    tools: ['remember', 'recall', 'ask_agent', 'search_knowledge'],
  });
  await createAgent({
    name: 'rex',
    kind: 'researcher',
    skills: [{ id: 'papers', name: 'Literature search', tags: ['research', 'papers'] }],
  });
  platform = await new ClientFactory().createFromUrl(app.url);
});

afterAll(async () => {
  await app?.close();
  await fixture?.close();
  rc?.remove();
  await new Promise((r) => receiver.close(r));
});

function request(text: string, extra: Record<string, unknown> = {}): SendMessageRequest {
  return SendMessageRequest.fromJSON({ message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...extra } });
}

function textOf(task: Task): string {
  return task.artifacts.flatMap((a) => a.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : ''))).join('');
}

async function sendTask(client: Client, req: SendMessageRequest): Promise<Task> {
  const r = await client.sendMessage(req);
  expect('messageId' in r, 'the agent answers with a task').toBe(false);
  return r as Task;
}

/** The JSON-RPC error code the client surfaced. */
async function errorCode(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { envelopeCode?: number }).envelopeCode;
  }
  throw new Error('expected the call to fail');
}

describe('agent cards', () => {
  it('the platform card lists every agent skill and its JSON-RPC interfaces', async () => {
    const card = await platform.getAgentCard();
    expect(card.name).toBe('edge-agents');
    expect(card.supportedInterfaces.map((i) => [i.protocolBinding, i.protocolVersion, i.url])).toEqual([
      ['JSONRPC', '1.0', `${app.url}/a2a`],
      ['JSONRPC', '0.3', `${app.url}/a2a`],
    ]);
    expect(card.skills.map((s) => s.id).sort()).toEqual(['coder/ada/typescript', 'researcher/rex/papers', 'workflow/sparc']);
    expect(card.capabilities).toMatchObject({ streaming: true, pushNotifications: true });
    // Authentication is off: no security schemes, no extended card.
    expect(card.securitySchemes ?? {}).toEqual({});
    expect(card.capabilities?.extendedAgentCard).toBeFalsy();
  });

  it('is cacheable: ETag and Cache-Control, 304 for If-None-Match, and a new ETag when the agents change', async () => {
    const first = await fetch(`${app.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    expect(first.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const again = await fetch(`${app.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0', 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    await createAgent({ name: 'tmp', kind: 'reviewer', skills: [{ id: 'review', name: 'Review' }] });
    const changed = await fetch(`${app.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0', 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { skills: { id: string }[] }).skills.map((s) => s.id)).toContain('reviewer/tmp/review');
    expect((await fetch(`${app.url}/api/v1/agents/reviewer/tmp`, { method: 'DELETE' })).status).toBe(204);
  });

  it('serves a v0.3 card without A2A-Version and at /.well-known/agent.json', async () => {
    for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json']) {
      const card = (await (await fetch(`${app.url}${path}`)).json()) as Record<string, unknown>;
      expect(card).toMatchObject({ protocolVersion: '0.3.0', url: `${app.url}/a2a`, preferredTransport: 'JSONRPC' });
    }
  });

  it('a per-agent card advertises the record skills plus only the tools its component can run', async () => {
    const client = await new ClientFactory().createFromUrl(`${app.url}/agents/coder/ada/`);
    const card = await client.getAgentCard();
    expect(card.name).toBe('coder/ada');
    expect(card.supportedInterfaces[0]!.url).toBe(`${app.url}/agents/coder/ada/a2a`);
    const ids = card.skills.map((s) => s.id);
    // search_knowledge is in the record, but ada has no knowledge collections to search: not advertised.
    expect(ids).toEqual(['typescript', 'tool-remember', 'tool-recall', 'tool-ask_agent']);
    expect(card.skills[0]!.examples).toEqual(['Fix this function']);
  });

  it('an unknown agent has no card', async () => {
    expect((await fetch(`${app.url}/agents/coder/nobody/.well-known/agent-card.json`)).status).toBe(404);
  });
});

describe('messages and tasks (v1.0)', () => {
  it('SendMessage runs the agent and returns the completed task; GetTask reads it from another request', async () => {
    const task = await sendTask(platform, request('Please fix my typescript code'));
    expect(TaskState[task.status!.state]).toBe('TASK_STATE_COMPLETED');
    expect(textOf(task)).toBe('Fixture answer to: Please fix my typescript code');
    expect(task.history.map((m) => Role[m.role])).toEqual(['ROLE_USER', 'ROLE_AGENT']);

    const again = await platform.getTask({ id: task.id, tenant: '' });
    expect(again).toEqual(task);
    const short = await platform.getTask({ id: task.id, tenant: '', historyLength: 1 });
    expect(short.history.map((m) => Role[m.role])).toEqual(['ROLE_AGENT']);
    const none = await platform.getTask({ id: task.id, tenant: '', historyLength: 0 });
    expect(none.history).toEqual([]);
  });

  it('dispatches by metadata skill, by tag match, and keeps a context with its agent', async () => {
    const bySkill = await fetch(`${app.url}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: { messageId: 'd1', role: 'ROLE_USER', parts: [{ text: 'hello' }], metadata: { skill: 'researcher/rex/papers' } },
        },
      }),
    });
    expect(bySkill.headers.get('x-a2a-agent')).toBe('researcher/rex');
    expect(bySkill.headers.get('x-a2a-dispatch')).toBe('skill');
    const task = ((await bySkill.json()) as { result: { task: { contextId: string } } }).result.task;

    const byTag = await sendTask(platform, request('find research papers about wasm'));
    const tasks = await platform.listTasks({
      tenant: '',
      contextId: byTag.contextId,
      status: 0,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    expect(tasks.tasks).toHaveLength(1);
    // Which agent ran it is visible through the agent's own endpoint: only rex's endpoint knows the task.
    const rex = await new ClientFactory().createFromUrl(`${app.url}/agents/researcher/rex/`);
    expect((await rex.getTask({ id: byTag.id, tenant: '' })).id).toBe(byTag.id);
    const ada = await new ClientFactory().createFromUrl(`${app.url}/agents/coder/ada/`);
    expect(await errorCode(ada.getTask({ id: byTag.id, tenant: '' }))).toBe(-32001);

    // A follow-up in the same context goes to the same agent, whatever it says.
    const followUp = await fetch(`${app.url}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'SendMessage',
        params: {
          message: { messageId: 'd2', role: 'ROLE_USER', parts: [{ text: 'now some typescript code' }], contextId: task.contextId },
        },
      }),
    });
    expect(followUp.headers.get('x-a2a-dispatch')).toBe('context');
    expect(followUp.headers.get('x-a2a-agent')).toBe('researcher/rex');
  });

  it('SendStreamingMessage streams the task, working, the reply in chunks, then completed', async () => {
    const events: StreamResponse[] = [];
    for await (const e of platform.sendMessageStream(request('stream this answer'))) events.push(e);
    const cases = events.map((e) => e.payload?.$case);
    expect(cases[0]).toBe('task');
    expect(cases[1]).toBe('statusUpdate');
    expect(cases.at(-1)).toBe('statusUpdate');
    expect(cases.slice(2, -1).every((c) => c === 'artifactUpdate')).toBe(true);
    const chunks = events.flatMap((e) => (e.payload?.$case === 'artifactUpdate' ? [e.payload.value] : []));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks[0]!.append).toBe(false);
    expect(chunks.slice(1).every((c) => c.append)).toBe(true);
    expect(chunks.map((c) => c.lastChunk)).toEqual([...chunks.slice(1).map(() => false), true]);
    const text = chunks.map((c) => c.artifact!.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('')).join('');
    expect(text).toBe('Fixture answer to: stream this answer');
    const last = events.at(-1)!.payload;
    expect(last?.$case === 'statusUpdate' && TaskState[last.value.status!.state]).toBe('TASK_STATE_COMPLETED');

    const taskId = events[0]!.payload?.$case === 'task' ? events[0]!.payload.value.id : '';
    const stored = await platform.getTask({ id: taskId, tenant: '' });
    expect(textOf(stored)).toBe(text);
  });

  it('ListTasks filters by context and state and pages with nextPageToken, newest first', async () => {
    const contextId = crypto.randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await sendTask(platform, request(`list me ${i}`, { contextId }))).id);
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await platform.listTasks({
        tenant: '',
        contextId,
        status: TaskState.TASK_STATE_COMPLETED,
        pageSize: 2,
        pageToken,
        statusTimestampAfter: undefined,
      });
      expect(page.totalSize).toBe(3);
      expect(
        page.tasks.every((t) => t.artifacts.length === 0),
        'artifacts only with includeArtifacts',
      ).toBe(true);
      seen.push(...page.tasks.map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual([...ids].reverse());
    const withArtifacts = await platform.listTasks({
      tenant: '',
      contextId,
      status: 0,
      pageSize: 1,
      pageToken: '',
      includeArtifacts: true,
      statusTimestampAfter: undefined,
    });
    expect(withArtifacts.tasks[0]!.artifacts).toHaveLength(1);
    const failed = await platform.listTasks({
      tenant: '',
      contextId,
      status: TaskState.TASK_STATE_FAILED,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    expect(failed).toMatchObject({ tasks: [], totalSize: 0, nextPageToken: '' });
  });

  it('a non-blocking send returns at once; CancelTask cancels the running task and the run does not undo it', async () => {
    fixture.setBehaviour({ latencyMs: 1500 });
    try {
      const polling = await new ClientFactory().createFromUrl(app.url);
      const req = request('slow question');
      req.configuration = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };
      const task = await sendTask(polling, req);
      expect(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING']).toContain(TaskState[task.status!.state]);
      const canceled = await platform.cancelTask({ id: task.id, tenant: '', metadata: undefined });
      expect(TaskState[canceled.status!.state]).toBe('TASK_STATE_CANCELED');
      // The run finishes in the background; the task stays canceled.
      await sleep(2500);
      const after = await platform.getTask({ id: task.id, tenant: '' });
      expect(TaskState[after.status!.state]).toBe('TASK_STATE_CANCELED');
      expect(after.artifacts).toEqual([]);
      // Canceling again is idempotent; a completed task cannot be canceled.
      expect(TaskState[(await platform.cancelTask({ id: task.id, tenant: '', metadata: undefined })).status!.state]).toBe(
        'TASK_STATE_CANCELED',
      );
    } finally {
      fixture.setBehaviour({ latencyMs: 0 });
    }
    const done = await sendTask(platform, request('quick one'));
    expect(await errorCode(platform.cancelTask({ id: done.id, tenant: '', metadata: undefined }))).toBe(-32002);
    expect(await errorCode(platform.getTask({ id: 'no-such-task', tenant: '' }))).toBe(-32001);
  });

  it('a non-blocking task completes in the background and SubscribeToTask streams it to the end', async () => {
    fixture.setBehaviour({ latencyMs: 1000 });
    try {
      const req = request('subscribe to me');
      req.configuration = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };
      const task = await sendTask(platform, req);
      const events: StreamResponse[] = [];
      for await (const e of platform.resubscribeTask({ id: task.id, tenant: '' })) events.push(e);
      expect(events[0]!.payload?.$case).toBe('task');
      const last = events.at(-1)!.payload;
      expect(last?.$case === 'statusUpdate' && TaskState[last.value.status!.state]).toBe('TASK_STATE_COMPLETED');
      const artifact = events.find((e) => e.payload?.$case === 'artifactUpdate');
      expect(artifact).toBeDefined();
      const final = await platform.getTask({ id: task.id, tenant: '' });
      expect(textOf(final)).toBe('Fixture answer to: subscribe to me');
      // Subscribing to a finished task is an unsupported operation in v1.0.
      const again = platform.resubscribeTask({ id: task.id, tenant: '' });
      expect(await errorCode(again.next())).toBe(-32004);
    } finally {
      fixture.setBehaviour({ latencyMs: 0 });
    }
  });

  it('push notification configs: create, get, list, delete, and delivery of the final task to the webhook', async () => {
    fixture.setBehaviour({ latencyMs: 800 });
    let taskId: string;
    try {
      const req = request('notify me');
      req.configuration = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };
      const task = await sendTask(platform, req);
      taskId = task.id;
      const created = await platform.createTaskPushNotificationConfig({
        tenant: '',
        id: 'hook-1',
        taskId,
        url: receiverUrl,
        token: 'secret-token',
        authentication: { scheme: 'Bearer', credentials: 'hook-cred' },
      });
      expect(created).toMatchObject({ id: 'hook-1', taskId, url: receiverUrl, token: 'secret-token' });
      expect(await platform.getTaskPushNotificationConfig({ tenant: '', taskId, id: 'hook-1' })).toMatchObject({ url: receiverUrl });
      const listed = await platform.listTaskPushNotificationConfig({ tenant: '', taskId, pageSize: 0, pageToken: '' });
      expect(listed.configs.map((c) => c.id)).toEqual(['hook-1']);
    } finally {
      fixture.setBehaviour({ latencyMs: 0 });
    }
    const deadline = Date.now() + 10_000;
    while (
      !received.some(
        (r) => (r.body as { task?: { id: string; status: { state: string } } }).task?.status.state === 'TASK_STATE_COMPLETED',
      ) &&
      Date.now() < deadline
    )
      await sleep(100);
    const delivery = received.find(
      (r) => (r.body as { task?: { status: { state: string } } }).task?.status.state === 'TASK_STATE_COMPLETED',
    )!;
    expect(delivery, 'the webhook got the completed task').toBeDefined();
    expect(delivery.headers['content-type']).toBe('application/a2a+json');
    expect(delivery.headers['x-a2a-notification-token']).toBe('secret-token');
    expect(delivery.headers.authorization).toBe('Bearer hook-cred');
    expect((delivery.body as { task: { id: string } }).task.id).toBe(taskId);

    await platform.deleteTaskPushNotificationConfig({ tenant: '', taskId, id: 'hook-1' });
    const empty = await platform.listTaskPushNotificationConfig({ tenant: '', taskId, pageSize: 0, pageToken: '' });
    expect(empty.configs).toEqual([]);
  });
});
