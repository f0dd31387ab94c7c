/**
 * A2A over raw HTTP where clients misbehave, with authentication on, and across a host restart:
 * - bad input on the platform endpoint and on an agent endpoint: malformed JSON (-32700, id null), bad envelopes
 *   and batches (-32600), unknown methods (-32601), bad params (-32602), unknown tasks (-32001), cancel of a
 *   finished task (-32002), subscribe to a finished task (-32004), unreadable parts and output modes (-32005), an
 *   unsupported `A2A-Version` (-32009), oversized bodies (413), wrong `Content-Type` (415) and `Accept` (406),
 *   wrong HTTP method (405) — and the stored tasks are byte-for-byte the same afterwards;
 * - API keys: the card declares bearer security and the extended card; scopes and task visibility per key;
 * - a task created by `SendMessage` is readable after the host process restarts (file-backed key-value).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, startHostProcess, tempDir, type TestApp } from '../helpers/host.ts';

const LABELS = ['agents', 'memory', 'router', 'tasks', 'workflows'];

let fixture: LlmFixture;
const cleanups: (() => Promise<unknown> | void)[] = [];

const llmVariables = (extra: [string, string][] = []) => fixtureVariables(fixture, extra);

async function start(extra: [string, string][] = []): Promise<TestApp> {
  const rc = memoryRuntimeConfig(LABELS);
  const app = await startApp(APPS.main, { runtimeConfigFile: rc.file, variables: llmVariables(extra) });
  cleanups.push(
    () => app.close(),
    () => rc.remove(),
  );
  return app;
}

beforeAll(async () => {
  fixture = await startLlmFixture();
  cleanups.push(() => fixture.close());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface RpcReply {
  status: number;
  headers: Headers;
  text: string;
  body: { jsonrpc?: string; id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<RpcReply> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...headers }, body });
  const text = await res.text();
  let parsed: RpcReply['body'] = {};
  try {
    parsed = JSON.parse(text) as RpcReply['body'];
  } catch {
    // not JSON (asserted by the caller)
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

const rpc = (url: string, method: string, params: unknown, headers: Record<string, string> = {}, id: unknown = 7) =>
  post(url, JSON.stringify({ jsonrpc: '2.0', id, method, params }), headers);

const userMessage = (text: string) => ({ messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }] });

describe('bad input leaves stored tasks intact', () => {
  let app: TestApp;
  let taskId: string;

  beforeAll(async () => {
    app = await start();
    const created = await fetch(`${app.url}/api/v1/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ada', kind: 'coder' }),
    });
    expect(created.status).toBe(201);
    const sent = await rpc(`${app.url}/a2a`, 'SendMessage', { message: userMessage('the one task') });
    taskId = (sent.body.result as { task: { id: string } }).task.id;
  });

  for (const [name, path] of [
    ['platform', '/a2a'],
    ['agent', '/agents/coder/ada/a2a'],
  ] as const) {
    it(`${name} endpoint: every kind of bad request gets its error, and the task is unchanged`, async () => {
      const url = `${app.url}${path}`;
      const before = await rpc(url, 'GetTask', { id: taskId });
      const listBefore = await rpc(url, 'ListTasks', { includeArtifacts: true });
      expect(before.body.result).toBeDefined();

      const expectError = (r: RpcReply, code: number, status = 200, id: unknown = 7) => {
        expect(r.status, r.text).toBe(status);
        expect(r.body.jsonrpc).toBe('2.0');
        expect(r.body.error?.code, r.text).toBe(code);
        expect(r.body.id).toBe(id);
      };

      expectError(await post(url, '{"jsonrpc":"2.0","id":1,"method":"GetTask",'), -32700, 200, null);
      expectError(await post(url, '\u0000not json'), -32700, 200, null);
      expectError(
        await post(url, JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: taskId } }])),
        -32600,
        200,
        null,
      );
      expectError(await post(url, JSON.stringify({ jsonrpc: '1.0', id: 5, method: 'GetTask' })), -32600, 200, 5);
      expectError(await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'GetTask', params: { id: taskId } })), -32600, 200, null);
      expectError(await rpc(url, 'tasks/delete', { id: taskId }), -32601);
      expectError(await rpc(url, 'GetTask', { id: 42 }), -32602);
      expectError(await rpc(url, 'GetTask', [taskId]), -32602);
      expectError(await rpc(url, 'ListTasks', { pageSize: 1000 }), -32602);
      expectError(await rpc(url, 'ListTasks', { pageToken: 'garbage!' }), -32602);
      expectError(
        await rpc(url, 'SendMessage', { message: { messageId: 'x', role: 'ROLE_USER', parts: [{ text: 'a', url: 'b' }] } }),
        -32602,
      );
      expectError(await rpc(url, 'SendMessage', { message: { messageId: 'x', role: 'ROLE_AGENT', parts: [{ text: 'a' }] } }), -32602);
      expectError(
        await rpc(url, 'message/send', { message: { kind: 'message', messageId: 'x', role: 'robot', parts: [] } }, { 'a2a-version': '' }),
        -32602,
      );

      const unknown = await rpc(url, 'GetTask', { id: 'no-such-task' });
      expectError(unknown, -32001);
      expect(unknown.body.error?.data).toEqual([
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'TASK_NOT_FOUND', domain: 'a2a-protocol.org' },
      ]);
      expectError(await rpc(url, 'CancelTask', { id: taskId }), -32002);
      expectError(await rpc(url, 'SubscribeToTask', { id: taskId }, { accept: 'text/event-stream' }), -32004);
      expectError(await rpc(url, 'SendMessage', { message: { ...userMessage('x'), taskId } }), -32004);
      expectError(
        await rpc(url, 'SendMessage', {
          message: { messageId: 'f', role: 'ROLE_USER', parts: [{ url: 'https://x/y.png', mediaType: 'image/png' }] },
        }),
        -32005,
      );
      expectError(
        await rpc(url, 'SendMessage', { message: userMessage('x'), configuration: { acceptedOutputModes: ['image/png'] } }),
        -32005,
      );
      expectError(await rpc(url, 'GetTask', { id: taskId }, { 'a2a-version': '2.0' }), -32009);
      expectError(await rpc(url, 'GetTask', { id: taskId }, { 'a2a-version': 'one' }), -32009);

      expectError(
        await post(
          url,
          JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: userMessage('x'.repeat(1_500_000)) } }),
        ),
        -32600,
        413,
        null,
      );
      expectError(
        await post(url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: taskId } }), {
          'content-type': 'text/plain',
        }),
        -32600,
        415,
        null,
      );
      expectError(await rpc(url, 'SendStreamingMessage', { message: userMessage('x') }, { accept: 'application/json' }), -32600, 406);
      expectError(await rpc(url, 'GetTask', { id: taskId }, { accept: 'text/html' }), -32600, 406);
      const get = await fetch(url);
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');

      // Nothing above changed what is stored.
      expect((await rpc(url, 'GetTask', { id: taskId })).text).toBe(before.text);
      expect((await rpc(url, 'ListTasks', { includeArtifacts: true })).text).toBe(listBefore.text);
    });
  }
});

describe('with API keys', () => {
  let app: TestApp;
  const keys = 'admin:plain:admin-key\ninvoke:plain:alice-key\ninvoke:plain:bob-key\nread:plain:reader-key';
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    app = await start([['api_keys', keys]]);
    const created = await fetch(`${app.url}/api/v1/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth('admin-key') },
      body: JSON.stringify({ name: 'ada', kind: 'coder', skills: [{ id: 'ts', name: 'TypeScript', examples: ['Fix my types'] }] }),
    });
    expect(created.status).toBe(201);
  });

  it('cards stay public and declare bearer security and the extended card', async () => {
    const v1 = (await (await fetch(`${app.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json()) as Record<
      string,
      unknown
    >;
    expect(v1.securitySchemes).toEqual({ bearer: { httpAuthSecurityScheme: expect.objectContaining({ scheme: 'Bearer' }) } });
    expect(v1.securityRequirements).toEqual([{ schemes: { bearer: { list: [] } } }]);
    expect(v1.capabilities).toMatchObject({ extendedAgentCard: true });
    // Examples are for authenticated callers only.
    expect((v1.skills as { examples?: unknown }[])[0]!.examples).toBeUndefined();
    const v03 = (await (await fetch(`${app.url}/.well-known/agent.json`)).json()) as Record<string, unknown>;
    expect(v03).toMatchObject({
      security: [{ bearer: [] }],
      supportsAuthenticatedExtendedCard: true,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    });
  });

  it('the endpoint needs a key; sending needs invoke; the extended card needs a key', async () => {
    expect((await rpc(`${app.url}/a2a`, 'GetTask', { id: 'x' })).status).toBe(401);
    expect((await rpc(`${app.url}/a2a`, 'SendMessage', { message: userMessage('hi') }, auth('reader-key'))).status).toBe(403);
    const card = await rpc(`${app.url}/a2a`, 'GetExtendedAgentCard', {}, auth('reader-key'));
    expect((card.body.result as { skills: { examples?: string[] }[] }).skills[0]!.examples).toEqual(['Fix my types']);
    const legacy = await rpc(
      `${app.url}/agents/coder/ada/a2a`,
      'agent/getAuthenticatedExtendedCard',
      {},
      { ...auth('reader-key'), 'a2a-version': '0.3' },
    );
    expect(legacy.body.result).toMatchObject({ protocolVersion: '0.3.0', name: 'coder/ada' });
  });

  it('a task is visible to the key that created it and to admin keys only', async () => {
    const sent = await rpc(`${app.url}/a2a`, 'SendMessage', { message: userMessage('mine') }, auth('alice-key'));
    const id = (sent.body.result as { task: { id: string } }).task.id;
    expect((await rpc(`${app.url}/a2a`, 'GetTask', { id }, auth('alice-key'))).body.result).toBeDefined();
    expect((await rpc(`${app.url}/a2a`, 'GetTask', { id }, auth('admin-key'))).body.result).toBeDefined();
    expect((await rpc(`${app.url}/a2a`, 'GetTask', { id }, auth('bob-key'))).body.error?.code).toBe(-32001);
    expect((await rpc(`${app.url}/a2a`, 'CancelTask', { id }, auth('bob-key'))).body.error?.code).toBe(-32001);
    const bobs = await rpc(`${app.url}/a2a`, 'ListTasks', {}, auth('bob-key'));
    expect(bobs.body.result).toMatchObject({ tasks: [], totalSize: 0 });
  });
});

describe('tasks survive a host restart', () => {
  it('GetTask reads a task created before the restart (file-backed key-value)', async () => {
    const dir = tempDir('edge-agents-a2a-restart-');
    cleanups.push(() => dir.remove());
    const rc = join(dir.path, 'runtime-config.toml');
    writeFileSync(rc, LABELS.map((l) => `[key_value_store.${l}]\ntype = "spin"\npath = "${l}.db"\n`).join('\n'));
    const args = ['--from', APPS.main, '--runtime-config-file', rc, '--state-dir', join(dir.path, 'state')];
    for (const [k, v] of llmVariables()) args.push('--variable', `${k}=${v}`);

    const first = await startHostProcess(args);
    let taskId: string;
    let stored: string;
    try {
      const created = await fetch(`${first.url}/api/v1/agents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ada', kind: 'coder' }),
      });
      expect(created.status).toBe(201);
      const sent = await rpc(`${first.url}/a2a`, 'SendMessage', { message: userMessage('remember this task') });
      taskId = (sent.body.result as { task: { id: string } }).task.id;
      stored = (await rpc(`${first.url}/a2a`, 'GetTask', { id: taskId })).text;
    } finally {
      await first.stop();
    }
    const second = await startHostProcess(args);
    try {
      const again = await rpc(`${second.url}/a2a`, 'GetTask', { id: taskId });
      expect(again.text).toBe(stored);
      expect((again.body.result as { status: { state: string } }).status.state).toBe('TASK_STATE_COMPLETED');
      const agent = await rpc(`${second.url}/agents/coder/ada/a2a`, 'tasks/get', { id: taskId }, { 'a2a-version': '' });
      expect((agent.body.result as { kind: string; id: string }).id).toBe(taskId);
    } finally {
      await second.stop();
    }
  });
});
