/**
 * The pure parts of A2A: wire conversions between v1.0, v0.3 and the stored model, card format negotiation and
 * ETag matching, `Accept` handling, dispatch rules of the platform endpoint, and the peer client's reply parsing.
 */
import { describe, expect, it } from 'vitest';
import { cardFormat, etagMatches, supportedVersion } from '../../shared/a2a/card.ts';
import { replyOf } from '../../shared/a2a/client.ts';
import { chooseAgent } from '../../shared/a2a/dispatch.ts';
import { checkOutputModes, conversationIdFor, messageText } from '../../shared/a2a/execute.ts';
import { accepts } from '../../shared/a2a/server.ts';
import { CreateAgentSchema, type Agent } from '../../shared/protocol/agents.ts';
import {
  messageFromV03,
  messageFromV1,
  methodVersion,
  taskToV03,
  taskToV1,
  V03MessageSchema,
  V1MessageSchema,
  type StoredTask,
} from '../../shared/protocol/a2a.ts';
import { JsonRpcError } from '../../shared/protocol/jsonrpc.ts';

const task: StoredTask = {
  id: 't1',
  contextId: 'c1',
  state: 'completed',
  timestamp: '2026-01-01T00:00:00.000Z',
  history: [
    { messageId: 'm1', role: 'user', parts: [{ text: 'hi' }] },
    { messageId: 'm2', role: 'agent', parts: [{ text: 'hello' }] },
  ],
  artifacts: [{ artifactId: 'a1', name: 'reply', parts: [{ text: 'hello' }] }],
  agent: 'coder/ada',
  owner: null,
  createdAt: '2026-01-01T00:00:00.000Z',
};

function agent(name: string, kind: string, skills: { id: string; name: string; tags?: string[] }[]): Agent {
  const now = new Date().toISOString();
  return { ...CreateAgentSchema.parse({ name, kind, skills }), url: `/agents/${kind}/${name}`, createdAt: now, updatedAt: now };
}

describe('wire formats', () => {
  it('method names of the two versions never collide', () => {
    expect(methodVersion('SendMessage')).toBe('1.0');
    expect(methodVersion('message/send')).toBe('0.3');
    expect(methodVersion('tasks/list')).toBeUndefined();
  });

  it('renders a task in v1.0 (ProtoJSON enums) and v0.3 (kind, lower-case states), with historyLength', () => {
    expect(taskToV1(task, { historyLength: 1 })).toEqual({
      id: 't1',
      contextId: 'c1',
      status: { state: 'TASK_STATE_COMPLETED', timestamp: '2026-01-01T00:00:00.000Z' },
      artifacts: [{ artifactId: 'a1', name: 'reply', parts: [{ text: 'hello' }] }],
      history: [{ messageId: 'm2', role: 'ROLE_AGENT', parts: [{ text: 'hello' }] }],
    });
    const v03 = taskToV03(task, { historyLength: 0, includeArtifacts: false });
    expect(v03).toEqual({ kind: 'task', id: 't1', contextId: 'c1', status: { state: 'completed', timestamp: '2026-01-01T00:00:00.000Z' } });
  });

  it('reads v1.0 and v0.3 messages into one model; a v1.0 part has exactly one content field', () => {
    const v1 = V1MessageSchema.parse({
      messageId: 'm',
      role: 'ROLE_USER',
      parts: [{ text: 'a' }, { data: { x: 1 } }, { url: 'https://f', mediaType: 'image/png' }],
    });
    const v03 = V03MessageSchema.parse({
      kind: 'message',
      messageId: 'm',
      role: 'user',
      parts: [
        { kind: 'text', text: 'a' },
        { kind: 'data', data: { x: 1 } },
        { kind: 'file', file: { uri: 'https://f', mimeType: 'image/png' } },
      ],
    });
    expect(messageFromV1(v1)).toEqual(messageFromV03(v03));
    expect(V1MessageSchema.safeParse({ messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'a', url: 'b' }] }).success).toBe(false);
    expect(V1MessageSchema.safeParse({ messageId: 'm', role: 'user', parts: [{ text: 'a' }] }).success).toBe(false);
  });

  it('message text: text and data parts are read, files are named; only files is -32005', () => {
    expect(
      messageText({ messageId: 'm', role: 'user', parts: [{ text: 'a' }, { data: { x: 1 } }, { url: 'https://f', filename: 'f.png' }] }),
    ).toBe('a\n\n```json\n{\n  "x": 1\n}\n```\n\n[attached file (f.png) at https://f]');
    expect(() => messageText({ messageId: 'm', role: 'user', parts: [{ raw: 'AAAA' }] })).toThrow(JsonRpcError);
    expect(() => checkOutputModes(['image/png'])).toThrow(/text\/plain/);
    expect(() => checkOutputModes(['text/*'])).not.toThrow();
    expect(() => checkOutputModes([])).not.toThrow();
  });

  it('context ids become conversation ids, hashed when they do not fit', () => {
    expect(conversationIdFor('abc-123')).toBe('abc-123');
    expect(conversationIdFor('has spaces/and slashes')).toMatch(/^a2a-[0-9a-f]{16}$/);
    expect(conversationIdFor('has spaces/and slashes')).toBe(conversationIdFor('has spaces/and slashes'));
  });
});

describe('HTTP negotiation', () => {
  it('A2A-Version: missing means 0.3; Major.Minor with an optional patch; others unsupported', () => {
    expect(supportedVersion(undefined)).toBe('0.3');
    expect(supportedVersion('1.0')).toBe('1.0');
    expect(supportedVersion('0.3.0')).toBe('0.3');
    expect(supportedVersion('2.0')).toBeUndefined();
    expect(supportedVersion('latest')).toBeUndefined();
  });

  it('card format: agent.json is v0.3, agent-card.json follows A2A-Version', () => {
    expect(cardFormat(new Request('http://x/.well-known/agent.json', { headers: { 'a2a-version': '1.0' } }))).toBe('0.3');
    expect(cardFormat(new Request('http://x/.well-known/agent-card.json', { headers: { 'a2a-version': '1.0' } }))).toBe('1.0');
    expect(cardFormat(new Request('http://x/.well-known/agent-card.json?A2A-Version=1.0'))).toBe('1.0');
    expect(cardFormat(new Request('http://x/.well-known/agent-card.json'))).toBe('0.3');
  });

  it('If-None-Match: lists, weak tags and *', () => {
    expect(etagMatches('"a", W/"b"', '"b"')).toBe(true);
    expect(etagMatches('*', '"b"')).toBe(true);
    expect(etagMatches('"c"', '"b"')).toBe(false);
    expect(etagMatches(null, '"b"')).toBe(false);
  });

  it('Accept: absent allows all, wildcards match, q=0 excludes', () => {
    expect(accepts(null, ['text/event-stream'])).toBe(true);
    expect(accepts('text/*', ['text/event-stream'])).toBe(true);
    expect(accepts('application/json', ['text/event-stream'])).toBe(false);
    expect(accepts('text/event-stream;q=0, */*;q=0', ['text/event-stream'])).toBe(false);
  });
});

describe('dispatch', () => {
  const ada = agent('ada', 'coder', [{ id: 'typescript', name: 'TypeScript', tags: ['code'] }]);
  const rex = agent('rex', 'researcher', [{ id: 'papers', name: 'Literature search', tags: ['research'] }]);
  const agents = [ada, rex];
  const msg = (text: string, metadata?: Record<string, unknown>) => ({
    messageId: 'm',
    role: 'user' as const,
    parts: [{ text }],
    metadata,
  });

  it('follows the rules in order: task, skill, context, match, default', () => {
    expect(chooseAgent({ agents, taskAgent: 'researcher/rex' }, { ...msg('code'), taskId: 't' }, undefined)).toMatchObject({
      agent: rex,
      reason: 'task',
    });
    expect(chooseAgent({ agents }, msg('code', { skill: 'researcher/rex/papers' }), undefined)).toMatchObject({
      agent: rex,
      reason: 'skill',
    });
    expect(chooseAgent({ agents }, msg('x'), { skill: 'research' })).toMatchObject({ agent: rex, reason: 'skill' });
    expect(chooseAgent({ agents }, msg('x', { skill: 'coder/ada' }), undefined)).toMatchObject({ agent: ada, reason: 'skill' });
    expect(chooseAgent({ agents, contextAgent: 'researcher/rex' }, msg('write code'), undefined)).toMatchObject({
      agent: rex,
      reason: 'context',
    });
    expect(chooseAgent({ agents }, msg('find research on literature'), undefined)).toMatchObject({ agent: rex, reason: 'match' });
    expect(chooseAgent({ agents, defaultAgent: 'researcher/rex' }, msg('hello'), undefined)).toMatchObject({
      agent: rex,
      reason: 'default',
    });
    expect(chooseAgent({ agents }, msg('hello'), undefined)).toMatchObject({ agent: ada, reason: 'default' });
  });

  it('an unknown skill, an unknown task and no agents are errors, not silent fallbacks', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as JsonRpcError).code;
      }
      return undefined;
    };
    expect(code(() => chooseAgent({ agents }, msg('x', { skill: 'nope' }), undefined))).toBe(-32602);
    expect(code(() => chooseAgent({ agents }, { ...msg('x'), taskId: 'gone' }, undefined))).toBe(-32001);
    expect(code(() => chooseAgent({ agents: [] }, msg('x'), undefined))).toBe(-32004);
  });
});

describe('peer client', () => {
  it('reads the reply of a v1.0 task, a v0.3 task and a direct message', () => {
    expect(replyOf({ task: taskToV1(task) })).toEqual({ text: 'hello', state: 'completed', taskId: 't1', contextId: 'c1' });
    expect(replyOf(taskToV03(task))).toEqual({ text: 'hello', state: 'completed', taskId: 't1', contextId: 'c1' });
    expect(replyOf({ message: { messageId: 'x', role: 'ROLE_AGENT', parts: [{ text: 'hi' }] } })).toMatchObject({
      text: 'hi',
      state: 'message',
    });
    expect(() => replyOf({ nothing: true })).toThrow(/neither a task nor a message/);
  });
});
