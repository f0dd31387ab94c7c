/**
 * A2A v0.3 with the last v0.3 client (`@a2a-js/sdk` 0.3.14, installed as `a2a-sdk-v03`), which sends no
 * `A2A-Version` header and speaks `message/send`, `message/stream`, `tasks/get`, `tasks/cancel`,
 * `tasks/resubscribe` and `tasks/pushNotificationConfig/*`, against the same endpoints the v1.0 client uses.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { A2AClient } from 'a2a-sdk-v03/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

let fixture: LlmFixture;
let app: TestApp;
let rc: { file: string; remove(): void };

interface V03Task {
  kind: 'task';
  id: string;
  contextId: string;
  status: { state: string; message?: { parts: { kind: string; text?: string }[] } };
  artifacts?: { parts: { kind: string; text?: string }[] }[];
  history?: { kind: string; role: string }[];
}

beforeAll(async () => {
  fixture = await startLlmFixture();
  rc = memoryRuntimeConfig(['agents', 'memory', 'router', 'tasks', 'workflows']);
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: fixtureVariables(fixture),
  });
  const res = await fetch(`${app.url}/api/v1/agents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'rita', kind: 'reviewer', skills: [{ id: 'review', name: 'Code review', tags: ['review'] }] }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await app?.close();
  await fixture?.close();
  rc?.remove();
});

function message(text: string, extra: Record<string, unknown> = {}) {
  return {
    message: {
      kind: 'message' as const,
      messageId: crypto.randomUUID(),
      role: 'user' as const,
      parts: [{ kind: 'text' as const, text }],
      ...extra,
    },
  };
}

function replyText(task: V03Task): string {
  return (task.artifacts ?? []).flatMap((a) => a.parts.map((p) => p.text ?? '')).join('');
}

describe.each([
  ['the platform endpoint', '/.well-known/agent.json'],
  ['the agent endpoint', '/agents/reviewer/rita/.well-known/agent-card.json'],
])('v0.3 client against %s', (_name, cardPath) => {
  let client: A2AClient;
  beforeAll(async () => {
    client = await A2AClient.fromCardUrl(`${app.url}${cardPath}`);
  });

  it('message/send returns the completed task, tasks/get reads it back with historyLength', async () => {
    const r = (await client.sendMessage(message('review my diff'))) as { result?: V03Task; error?: unknown };
    expect(r.error).toBeUndefined();
    const task = r.result!;
    expect(task.kind).toBe('task');
    expect(task.status.state).toBe('completed');
    expect(replyText(task)).toBe('Fixture answer to: review my diff');
    expect(task.history?.map((m) => [m.kind, m.role])).toEqual([
      ['message', 'user'],
      ['message', 'agent'],
    ]);
    const got = (await client.getTask({ id: task.id, historyLength: 1 })) as { result?: V03Task };
    expect(got.result!.history).toHaveLength(1);
    expect(got.result!.status).toEqual(task.status);
  });

  it('message/stream yields the task, status-update and artifact-update events, the last one final', async () => {
    const events: { kind: string; final?: boolean; status?: { state: string } }[] = [];
    for await (const e of client.sendMessageStream(message('stream a review'))) events.push(e as (typeof events)[number]);
    expect(events[0]!.kind).toBe('task');
    expect(events.map((e) => e.kind)).toContain('artifact-update');
    const last = events.at(-1)!;
    expect(last).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect(events.slice(0, -1).every((e) => e.kind !== 'status-update' || e.final === false)).toBe(true);
  });

  it('tasks/cancel of a completed task is -32002; of an unknown task -32001', async () => {
    const sent = (await client.sendMessage(message('done quickly'))) as { result: V03Task };
    const r = (await client.cancelTask({ id: sent.result.id })) as { error?: { code: number } };
    expect(r.error?.code).toBe(-32002);
    const unknown = (await client.getTask({ id: 'missing-task' })) as { error?: { code: number } };
    expect(unknown.error?.code).toBe(-32001);
  });

  it('a non-blocking send then tasks/resubscribe follows the task to its final status', async () => {
    fixture.setBehaviour({ latencyMs: 800 });
    try {
      const sent = (await client.sendMessage({ ...message('take your time'), configuration: { blocking: false } })) as { result: V03Task };
      expect(['submitted', 'working']).toContain(sent.result.status.state);
      const events: { kind: string; final?: boolean; status?: { state: string } }[] = [];
      for await (const e of client.resubscribeTask({ id: sent.result.id })) events.push(e as (typeof events)[number]);
      expect(events[0]!.kind).toBe('task');
      expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    } finally {
      fixture.setBehaviour({ latencyMs: 0 });
    }
    await sleep(0);
  });

  it('push config set/get/list/delete (v0.3 shapes)', async () => {
    const sent = (await client.sendMessage(message('push me'))) as { result: V03Task };
    const taskId = sent.result.id;
    const set = (await client.setTaskPushNotificationConfig({
      taskId,
      pushNotificationConfig: { id: 'p1', url: 'https://hooks.example.com/a2a', token: 't' },
    })) as { result?: unknown; error?: unknown };
    expect(set.error).toBeUndefined();
    expect(set.result).toEqual({ taskId, pushNotificationConfig: { id: 'p1', url: 'https://hooks.example.com/a2a', token: 't' } });
    // The 0.3.14 types say TaskIdParams, the v0.3 spec also allows naming the config.
    const ref = { id: taskId, pushNotificationConfigId: 'p1' };
    const get = (await client.getTaskPushNotificationConfig(ref)) as { result?: unknown };
    expect(get.result).toEqual(set.result);
    const list = (await client.listTaskPushNotificationConfig({ id: taskId })) as { result?: unknown[] };
    expect(list.result).toEqual([set.result]);
    const del = (await client.deleteTaskPushNotificationConfig({ id: taskId, pushNotificationConfigId: 'p1' })) as {
      result?: unknown;
      error?: unknown;
    };
    expect(del.error).toBeUndefined();
    expect(((await client.listTaskPushNotificationConfig({ id: taskId })) as { result?: unknown[] }).result).toEqual([]);
  });
});
