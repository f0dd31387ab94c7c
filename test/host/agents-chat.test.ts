/**
 * The agent runtime (`agent-coder`, `agent-researcher`, `agent-reviewer`) over HTTP on the host, end to end: agents
 * are created through the registry API, chat goes from the agent component to the `llm-router` by service chaining
 * and from there to the LLM fixture, and memory lands in the `memory` store.
 *
 * Covered: JSON and SSE chat (event order, `done` equal to the JSON reply), tools (`remember` runs and its result
 * reaches the model; a tool outside the agent's record is neither offered nor run), conversation read-back and its
 * key layout, 20 concurrent messages to one conversation, bad input, and what happens when no model answers.
 *
 * Each app gets in-memory key-value stores (its own runtime config), so tests never touch `.spin/`.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture, type LoggedRequest } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig as sharedMemoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

// ---------------------------------------------------------------------------------------------------------------------
// Wire shapes (the contract of the agent runtime)

interface ToolCallRecord {
  id: string;
  name: string;
  arguments: unknown;
  result: string;
  refused?: true;
}
interface ChatReply {
  conversationId: string;
  reply: string;
  toolCalls: ToolCallRecord[];
  usage: { promptTokens: number; completionTokens: number };
  model: string;
}
interface Turn {
  role: 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls?: { id: string; name: string }[];
  at: string;
}
interface ConversationBody {
  conversationId: string;
  turns: Turn[];
}
interface ErrorBody {
  error: { code: string; message: string; details?: { path: (string | number)[]; message: string }[] };
}
/** What the router sent the model server (only the parts these tests read). */
interface UpstreamChat {
  model: string;
  messages: { role: string; content: string | null; tool_calls?: { id: string; function: { name: string } }[]; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string } }[];
}

const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

// ---------------------------------------------------------------------------------------------------------------------
// Setup

const dirs: { remove(): void }[] = [];

/** Every key-value label of spin.toml in memory. */
function memoryRuntimeConfig(): string {
  const rc = sharedMemoryRuntimeConfig();
  dirs.push(rc);
  return rc.file;
}

const variables = fixtureVariables;

let fixture: LlmFixture;
let app: TestApp;

beforeAll(async () => {
  fixture = await startLlmFixture();
  app = await startApp(APPS.main, { runtimeConfigFile: memoryRuntimeConfig(), variables: variables(fixture) });
});

afterAll(async () => {
  await app?.close();
  await fixture?.close();
  for (const d of dirs) d.remove();
});

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

interface Reply<T> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A request against the app; the body is parsed as JSON when the response says it is JSON. */
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

const chat = (kind: string, name: string, body: unknown) => call<ChatReply & ErrorBody>('POST', `/agents/${kind}/${name}/chat`, body);

/** One server-sent event. */
interface SseEvent {
  event: string;
  data: string;
}

/**
 * A minimal SSE parser (the parts of the WHATWG algorithm a server can use): `event:` and `data:` fields, multi-line
 * data joined with `\n`, comments ignored, an event dispatched at a blank line; the default event name is `message`.
 */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let event = '';
  let data: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length > 0) events.push({ event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return events;
}

/** A chat request with `Accept: text/event-stream`; the whole stream is read, then parsed. */
async function chatSse(kind: string, name: string, body: unknown): Promise<{ status: number; headers: Headers; events: SseEvent[] }> {
  const res = await fetch(`${app.url}/agents/${kind}/${name}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, events: parseSse(await res.text()) };
}

const data = <T>(e: SseEvent): T => JSON.parse(e.data) as T;

/** Upstream chat requests logged by the fixture since the last `clearLog`. */
function upstreamChats(): UpstreamChat[] {
  return fixture.requests.filter((r: LoggedRequest) => r.path === '/v1/chat/completions').map((r) => r.body as UpstreamChat);
}

const toolNames = (r: UpstreamChat) => (r.tools ?? []).map((t) => t.function.name).sort();

/** Tool-call arguments as an object, whether the runtime reports them parsed or as the model's JSON string. */
const args = (a: unknown): unknown => (typeof a === 'string' ? JSON.parse(a) : a);

async function memoryKeys(prefix: string): Promise<string[]> {
  return (await app.app.stores.open('memory').keys()).filter((k) => k.startsWith(prefix)).sort();
}

async function memoryText(key: string): Promise<string | undefined> {
  const v = await app.app.stores.open('memory').get(key);
  return v === undefined ? undefined : new TextDecoder().decode(v);
}

/**
 * Consumes whatever scripted answers a test left in the fixture's queue (it has no way to clear it): direct
 * requests until one gets the default answer.
 */
async function drainScript(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${fixture.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fixture-chat', messages: [{ role: 'user', content: 'drain' }] }),
    });
    const body = (await res.json()) as { choices?: { message: { content: string | null } }[] };
    if (body.choices?.[0]?.message.content === 'Fixture answer to: drain') return;
  }
  throw new Error('the fixture script did not drain');
}

/** Text of a guest's stdout and stderr log files (the host writes them under the state directory). */
function guestLogs(component: string): string {
  return ['stdout', 'stderr']
    .map((s) => join(app.stateDir, 'logs', `${component}_${s}.txt`))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

// Three agents, one per kind. `ada` may remember and recall; `rhea` may only recall (and is granted
// `search_knowledge`, which needs knowledge collections she does not have); `rex` has no tools at all.
const AGENTS = [
  { name: 'ada', kind: 'coder', instructions: 'You write small, tested changes.', tools: ['remember', 'recall'] },
  { name: 'rhea', kind: 'researcher', description: 'Finds sources.', tools: ['recall', 'search_knowledge'] },
  { name: 'rex', kind: 'reviewer', model: 'chat', instructions: 'Review strictly.' },
] as const;

// ---------------------------------------------------------------------------------------------------------------------

describe('agent runtime', () => {
  beforeAll(async () => {
    for (const a of AGENTS) {
      const r = await call('POST', '/api/v1/agents', a);
      expect(r.status, r.text).toBe(201);
    }
  });

  beforeEach(async () => {
    await drainScript();
    fixture.setBehaviour({ failure: null, failFirst: 0 });
    fixture.clearLog();
  });

  it('serves each agent record on its own kind only', async () => {
    for (const a of AGENTS) {
      const r = await call<{ name: string; kind: string; url: string }>('GET', `/agents/${a.kind}/${a.name}`);
      expect(r.status, r.text).toBe(200);
      const registered = await call('GET', `/api/v1/agents/${a.kind}/${a.name}`);
      expect(r.body).toEqual(registered.body);
    }
    // An agent of another kind, and an unknown agent, are 404s with the platform's error body.
    for (const path of [
      '/agents/researcher/ada',
      '/agents/coder/rhea',
      '/agents/coder/nobody',
      '/agents/reviewer/nobody/chat',
      '/agents/no-such-kind/ada',
      '/agents/no-such-kind/ada/chat',
    ]) {
      const r = await call<ErrorBody>(
        path.endsWith('/chat') ? 'POST' : 'GET',
        path,
        path.endsWith('/chat') ? { message: 'hi' } : undefined,
      );
      expect(r.status, path).toBe(404);
      expect(r.headers.get('content-type'), path).toContain('application/json');
      expect(r.body.error.code, path).toBe('not_found');
      expect(r.body.error.message, path).toEqual(expect.any(String));
    }
  });

  it('chats in JSON with each kind through the router', async () => {
    for (const a of AGENTS) {
      fixture.clearLog();
      const message = `Hello ${a.kind}, what can you do?`;
      const r = await chat(a.kind, a.name, { message });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        conversationId: expect.stringMatching(CONVERSATION_ID),
        reply: `Fixture answer to: ${message}`,
        toolCalls: [],
        usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number) },
        model: expect.any(String),
      });
      expect(r.body.usage.promptTokens).toBeGreaterThan(0);
      expect(r.body.usage.completionTokens).toBeGreaterThan(0);
      expect(r.body.model).toContain('fixture-chat');

      // One upstream call: the agent's model alias resolved by the router, the user's message last, and the
      // instructions somewhere before it.
      const upstream = upstreamChats();
      expect(upstream).toHaveLength(1);
      expect(upstream[0]!.model).toBe('fixture-chat');
      expect(upstream[0]!.messages.at(-1)).toMatchObject({ role: 'user', content: message });
      if ('instructions' in a) expect(JSON.stringify(upstream[0]!.messages.slice(0, -1))).toContain(a.instructions);

      // The router charged the agent's own usage scope (x-agent-id: <kind>:<name>).
      const usage = await call<{ items: { scope: string; usage: { requests: number } }[] }>(
        'GET',
        `/api/v1/usage?scope=${encodeURIComponent(`agent:${a.kind}:${a.name}`)}`,
      );
      expect(usage.status).toBe(200);
      expect(usage.body.items[0]!.usage.requests).toBeGreaterThanOrEqual(1);
    }
  });

  it('streams SSE: token events, then done with the same object as the JSON reply', async () => {
    for (const a of AGENTS) {
      const message = `Stream a short answer, ${a.name}`;
      const json = await chat(a.kind, a.name, { message, conversationId: `json-${a.name}` });
      expect(json.status, json.text).toBe(200);

      const sse = await chatSse(a.kind, a.name, { message, conversationId: `sse-${a.name}` });
      expect(sse.status).toBe(200);
      expect(sse.headers.get('content-type')).toContain('text/event-stream');
      const names = sse.events.map((e) => e.event);
      // token* … done, nothing after done, no error, no tool events for a plain answer.
      expect(names.at(-1)).toBe('done');
      expect(names.filter((n) => n === 'done')).toHaveLength(1);
      expect(
        names.slice(0, -1).every((n) => n === 'token'),
        names.join(','),
      ).toBe(true);
      expect(names.length).toBeGreaterThan(2); // the fixture streams one piece per word

      const tokens = sse.events.filter((e) => e.event === 'token').map((e) => data<{ text: string }>(e));
      for (const t of tokens) expect(Object.keys(t)).toEqual(['text']);
      const done = data<ChatReply>(sse.events.at(-1)!);
      expect(tokens.map((t) => t.text).join('')).toBe(done.reply);
      expect(done.conversationId).toBe(`sse-${a.name}`);
      // Same prompt in a fresh conversation, so the same answer and the same token counts as the JSON call.
      expect({ ...done, conversationId: '' }).toEqual({ ...json.body, conversationId: '' });
    }
  });

  it('runs a tool end to end: remember stores a fact, the result reaches the model, the answer comes after', async () => {
    fixture.enqueue({
      toolCalls: [{ id: 'call_rem', name: 'remember', arguments: { key: 'favourite-language', value: 'TypeScript' } }],
    });
    const message = 'Remember that my favourite language is TypeScript.';
    const r = await chat('coder', 'ada', { message, conversationId: 'tools-1' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.reply).toBe(`Fixture answer to: ${message}`);
    expect(r.body.toolCalls).toHaveLength(1);
    const call0 = r.body.toolCalls[0]!;
    expect(call0).toMatchObject({ id: 'call_rem', name: 'remember', result: expect.any(String) });
    expect(call0.refused).toBeUndefined();
    expect(args(call0.arguments)).toEqual({ key: 'favourite-language', value: 'TypeScript' });

    // The tool ran: the fact is in the memory store under the agent's fact prefix.
    expect(await memoryKeys('fact/coder/ada/')).toEqual(['fact/coder/ada/favourite-language']);
    expect(await memoryText('fact/coder/ada/favourite-language')).toContain('TypeScript');

    // Two upstream calls: the first offered exactly the agent's runnable tools, the second carried the tool round.
    const upstream = upstreamChats();
    expect(upstream).toHaveLength(2);
    expect(toolNames(upstream[0]!)).toEqual(['recall', 'remember']);
    const second = upstream[1]!.messages;
    const assistant = second.find((m) => m.role === 'assistant' && m.tool_calls?.some((t) => t.id === 'call_rem'));
    expect(assistant?.tool_calls?.[0]?.function.name).toBe('remember');
    const toolMessage = second.find((m) => m.role === 'tool' && m.tool_call_id === 'call_rem');
    expect(toolMessage?.content).toBe(call0.result);
    expect(second.indexOf(toolMessage!)).toBeGreaterThan(second.indexOf(assistant!));

    // recall reads it back (in a new conversation: the fact is the agent's, not the conversation's) …
    fixture.enqueue({ toolCalls: [{ id: 'call_rec', name: 'recall', arguments: { key: 'favourite-language' } }] });
    const recalled = await chat('coder', 'ada', { message: 'Which language do I like?' });
    expect(recalled.status, recalled.text).toBe(200);
    expect(recalled.body.toolCalls).toEqual([
      { id: 'call_rec', name: 'recall', arguments: expect.anything(), result: expect.stringContaining('TypeScript') },
    ]);
    // … and says so when there is nothing.
    fixture.enqueue({ toolCalls: [{ id: 'call_none', name: 'recall', arguments: { key: 'shoe-size' } }] });
    const nothing = await chat('coder', 'ada', { message: 'What is my shoe size?' });
    expect(nothing.body.toolCalls[0]?.result).toBe('nothing remembered for shoe-size');
  });

  it('streams a tool round: tool_call, tool_result, tokens, done', async () => {
    fixture.enqueue({ toolCalls: [{ id: 'call_sse', name: 'remember', arguments: { key: 'editor', value: 'vim' } }] });
    const message = 'Remember my editor.';
    const sse = await chatSse('coder', 'ada', { message });
    expect(sse.status).toBe(200);
    const names = sse.events.map((e) => e.event);
    expect(names.indexOf('tool_call')).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('tool_result')).toBeGreaterThan(names.indexOf('tool_call'));
    expect(names.lastIndexOf('token')).toBeGreaterThan(names.indexOf('tool_result'));
    expect(names.at(-1)).toBe('done');
    expect(names.filter((n) => !['token', 'tool_call', 'tool_result', 'done'].includes(n))).toEqual([]);

    const callEvent = data<{ id: string; name: string; arguments: unknown }>(sse.events.find((e) => e.event === 'tool_call')!);
    expect(callEvent).toMatchObject({ id: 'call_sse', name: 'remember' });
    expect(args(callEvent.arguments)).toEqual({ key: 'editor', value: 'vim' });
    const resultEvent = data<{ id: string; name: string; result: string; refused?: boolean }>(
      sse.events.find((e) => e.event === 'tool_result')!,
    );
    expect(resultEvent).toMatchObject({ id: 'call_sse', name: 'remember', result: expect.any(String) });
    expect(resultEvent.refused).toBeUndefined();

    const done = data<ChatReply>(sse.events.at(-1)!);
    expect(done.reply).toBe(`Fixture answer to: ${message}`);
    expect(done.toolCalls).toEqual([{ id: 'call_sse', name: 'remember', arguments: callEvent.arguments, result: resultEvent.result }]);
    expect(await memoryText('fact/coder/ada/editor')).toContain('vim');
  });

  it('refuses a tool the agent was not given: not offered, not run, reported and logged', async () => {
    // rhea's record grants recall and search_knowledge; she has no collections to search, so only recall is offered.
    fixture.enqueue({
      toolCalls: [
        { id: 'call_bad', name: 'remember', arguments: { key: 'secret', value: 'should not be stored' } },
        { id: 'call_search', name: 'search_knowledge', arguments: { query: 'secrets' } },
        { id: 'call_unknown', name: 'format_disk', arguments: {} },
      ],
    });
    const message = 'Please store a secret.';
    const r = await chat('researcher', 'rhea', { message });
    expect(r.status, r.text).toBe(200);
    expect(r.body.reply).toBe(`Fixture answer to: ${message}`);
    expect(r.body.toolCalls.map((t) => [t.id, t.name, t.refused])).toEqual([
      ['call_bad', 'remember', true],
      ['call_search', 'search_knowledge', true],
      ['call_unknown', 'format_disk', true],
    ]);
    for (const t of r.body.toolCalls) expect(t.result, t.name).toMatch(/refused/i);

    // Not executed: nothing stored for rhea.
    expect(await memoryKeys('fact/researcher/rhea/')).toEqual([]);

    const upstream = upstreamChats();
    expect(upstream).toHaveLength(2);
    expect(toolNames(upstream[0]!)).toEqual(['recall']);
    // The model is told, so it can answer without the tool.
    for (const id of ['call_bad', 'call_search', 'call_unknown']) {
      const m = upstream[1]!.messages.find((x) => x.role === 'tool' && x.tool_call_id === id);
      expect(m?.content, id).toMatch(/refused/i);
    }

    // rex has no tools: nothing offered, and a scripted call is refused too.
    fixture.clearLog();
    fixture.enqueue({ toolCalls: [{ id: 'call_rex', name: 'recall', arguments: { key: 'x' } }] });
    const rex = await chat('reviewer', 'rex', { message: 'Recall x.' });
    expect(rex.status, rex.text).toBe(200);
    expect(rex.body.toolCalls).toMatchObject([{ id: 'call_rex', name: 'recall', refused: true }]);
    expect(toolNames(upstreamChats()[0]!)).toEqual([]);

    // Logged by the component that refused (the host writes guest stdio under the state directory).
    await sleep(100);
    expect(guestLogs('agent-researcher')).toMatch(/refused[\s\S]*remember|remember[\s\S]*refused/i);
    expect(guestLogs('agent-reviewer')).toMatch(/refused/i);
  });

  it('stops after 5 tool rounds', async () => {
    for (let i = 0; i < 7; i++) fixture.enqueue({ toolCalls: [{ id: `call_loop_${i}`, name: 'recall', arguments: { key: `k${i}` } }] });
    const r = await chat('coder', 'ada', { message: 'Loop forever.' });
    // Five tool rounds run; the sixth model call offers no tools, and the calls it makes anyway are refused.
    expect(r.status, r.text).toBe(200);
    const upstream = upstreamChats();
    expect(upstream).toHaveLength(6);
    expect(toolNames(upstream[5]!)).toEqual([]);
    expect(r.body.toolCalls.filter((t) => !t.refused)).toHaveLength(5);
    expect(r.body.toolCalls.at(-1)).toMatchObject({ id: 'call_loop_5', refused: true });
  });

  it('bounds a long conversation: older turns reach the model as a summary, recent ones verbatim', async () => {
    const long = (n: number) => `Chapter ${n} begins. ${'lorem '.repeat(2000)}`;
    const first = await chat('reviewer', 'rex', { message: long(1) });
    expect(first.status, first.text).toBe(200);
    const id = first.body.conversationId;
    for (const n of [2, 3]) expect((await chat('reviewer', 'rex', { message: long(n), conversationId: id })).status).toBe(200);
    const last = upstreamChats().at(-1)!;
    const contents = last.messages.map((m) => (typeof m.content === 'string' ? m.content : ''));
    expect(contents.some((c) => c.startsWith('Summary of') && c.includes('user: Chapter 1 begins.'))).toBe(true);
    expect(contents.some((c) => c.startsWith('Chapter 1 begins.'))).toBe(false);
    expect(contents.at(-1)).toBe(long(3));
    // Memory keeps every turn; only the prompt is bounded.
    const turns = await call<{ turns: unknown[] }>('GET', `/agents/reviewer/rex/conversations/${id}`);
    expect(turns.body.turns).toHaveLength(6);
  });

  it('keeps the conversation: history reaches the model, turns read back in order, one key per turn', async () => {
    const first = await chat('reviewer', 'rex', { message: 'First, review this diff.' });
    expect(first.status, first.text).toBe(200);
    const id = first.body.conversationId;
    const second = await chat('reviewer', 'rex', { message: 'Second, and be brief.', conversationId: id });
    expect(second.status, second.text).toBe(200);
    expect(second.body.conversationId).toBe(id);

    // The second upstream call carried the first exchange before the new message.
    const messages = upstreamChats()
      .at(-1)!
      .messages.filter((m) => m.role === 'user' || m.role === 'assistant');
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'First, review this diff.'],
      ['assistant', first.body.reply],
      ['user', 'Second, and be brief.'],
    ]);

    const conv = await call<ConversationBody>('GET', `/agents/reviewer/rex/conversations/${id}`);
    expect(conv.status, conv.text).toBe(200);
    expect(conv.body.conversationId).toBe(id);
    expect(conv.body.turns.map((t) => [t.role, t.content])).toEqual([
      ['user', 'First, review this diff.'],
      ['assistant', first.body.reply],
      ['user', 'Second, and be brief.'],
      ['assistant', second.body.reply],
    ]);
    for (const t of conv.body.turns) expect(Number.isNaN(Date.parse(t.at)), t.at).toBe(false);
    const ats = conv.body.turns.map((t) => Date.parse(t.at));
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);

    // Memory layout: one key per turn under conv/<kind>/<name>/<id>/t/, sorting in order of arrival, so reading
    // the keys in order gives the turns in order.
    const keys = await memoryKeys(`conv/reviewer/rex/${id}/`);
    expect(keys).toHaveLength(4);
    for (const k of keys) expect(k.startsWith(`conv/reviewer/rex/${id}/t/`), k).toBe(true);
    const stored = await Promise.all(keys.map(async (k) => (JSON.parse((await memoryText(k))!) as Turn).content));
    expect(stored).toEqual(conv.body.turns.map((t) => t.content));

    // The registry sees the conversation too.
    const listed = await call<{ items: { id: string; keys: number }[] }>('GET', '/api/v1/conversations?agent=reviewer/rex');
    expect(listed.body.items).toContainEqual({ id, keys: 4 });

    // Unknown conversation, and a conversation of another agent, are 404s.
    for (const path of ['/agents/reviewer/rex/conversations/no-such-conversation', `/agents/coder/ada/conversations/${id}`]) {
      const r = await call<ErrorBody>('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code, path).toBe('not_found');
    }
  });

  it('records the tool round in the conversation', async () => {
    fixture.enqueue({ toolCalls: [{ id: 'call_hist', name: 'remember', arguments: { key: 'tz', value: 'UTC' } }] });
    const r = await chat('coder', 'ada', { message: 'My time zone is UTC.', conversationId: 'tool-history' });
    expect(r.status, r.text).toBe(200);
    const conv = await call<ConversationBody>('GET', '/agents/coder/ada/conversations/tool-history');
    expect(conv.status, conv.text).toBe(200);
    const turns = conv.body.turns;
    expect(turns[0]).toMatchObject({ role: 'user', content: 'My time zone is UTC.' });
    expect(turns.at(-1)).toMatchObject({ role: 'assistant', content: r.body.reply });
    // The call is kept either on an assistant turn or as a tool turn (or both).
    const recorded = turns.some((t) => t.toolCalls?.some((c) => c.id === 'call_hist')) || turns.some((t) => t.role === 'tool');
    expect(recorded, JSON.stringify(turns)).toBe(true);
  });

  it('keeps all of 20 concurrent messages to one conversation', async () => {
    const id = 'concurrent-1';
    const texts = Array.from({ length: 20 }, (_, i) => `Concurrent message number ${String(i).padStart(2, '0')}`);
    const replies = await Promise.all(texts.map((message) => chat('coder', 'ada', { message, conversationId: id })));
    replies.forEach((r, i) => {
      expect(r.status, r.text).toBe(200);
      // No cross-talk: each request got the answer to its own message.
      expect(r.body.reply).toBe(`Fixture answer to: ${texts[i]}`);
      expect(r.body.conversationId).toBe(id);
    });

    const conv = await call<ConversationBody>('GET', `/agents/coder/ada/conversations/${id}`);
    expect(conv.status, conv.text).toBe(200);
    const turns = conv.body.turns;
    const users = turns.filter((t) => t.role === 'user').map((t) => t.content);
    const assistants = turns.filter((t) => t.role === 'assistant').map((t) => t.content);
    expect(users).toHaveLength(20);
    expect(assistants).toHaveLength(20);
    expect([...users].sort()).toEqual([...texts].sort());
    // Arrival order at the server may differ from send order, but each answer comes after its question.
    for (const text of texts) {
      const q = turns.findIndex((t) => t.role === 'user' && t.content === text);
      const a = turns.findIndex((t) => t.role === 'assistant' && t.content === `Fixture answer to: ${text}`);
      expect(a, text).toBeGreaterThan(q);
    }
    expect(await memoryKeys(`conv/coder/ada/${id}/`)).toHaveLength(40);
  });

  describe('bad input', () => {
    it('rejects an invalid conversation id with 400 invalid_request', async () => {
      for (const conversationId of ['', '-leading-dash', 'has space', '../escape', 'a/b', 'x'.repeat(129), 42]) {
        const r = await chat('coder', 'ada', { message: 'hi', conversationId });
        expect(r.status, String(conversationId)).toBe(400);
        expect(r.body.error.code).toBe('invalid_request');
        expect(r.body.error.details?.length).toBeGreaterThan(0);
      }
      // And on the read-back route.
      const r = await call<ErrorBody>('GET', '/agents/coder/ada/conversations/-bad');
      expect(r.status).toBe(400);
    });

    it('rejects a missing, empty or non-string message with 400 invalid_request', async () => {
      for (const body of [{}, { message: '' }, { message: 42 }, { message: null }, [], JSON.stringify('just a string')]) {
        const r = await chat('coder', 'ada', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code, JSON.stringify(body)).toBe('invalid_request');
      }
    });

    it('rejects malformed JSON with 400 invalid_json', async () => {
      for (const body of ['{"message": "hi"', 'not json', '']) {
        const res = await fetch(`${app.url}/agents/coder/ada/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect(res.status, body).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/json');
        expect(((await res.json()) as ErrorBody).error.code, body).toBe('invalid_json');
      }
    });

    it('answers 413 for a message over 32768 characters or a body over 64 KiB', async () => {
      const atLimit = await chat('coder', 'ada', { message: 'a'.repeat(32768) });
      expect(atLimit.status, atLimit.text.slice(0, 200)).toBe(200);

      const long = await chat('coder', 'ada', { message: 'a'.repeat(32769), conversationId: 'too-long' });
      expect(long.status).toBe(413);
      expect(long.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });

      // 32768 characters, but three UTF-8 bytes each: the body is 96 KiB.
      const wide = await chat('coder', 'ada', { message: '€'.repeat(32768), conversationId: 'too-wide' });
      expect(wide.status).toBe(413);
      expect(wide.body.error.code).toEqual(expect.any(String));

      // A short message padded with whitespace past 64 KiB.
      const padded = await chat('coder', 'ada', `{"message": "hi", "conversationId": "too-padded"${' '.repeat(65 * 1024)}}`);
      expect(padded.status).toBe(413);
      // A refused message is not remembered.
      for (const id of ['too-long', 'too-wide', 'too-padded']) expect(await memoryKeys(`conv/coder/ada/${id}/`), id).toEqual([]);
    });

    it('answers 404 for a path no agent component serves', async () => {
      // No component routes /agents/astronomer/…: the host answers as Spin does (404, empty body), unless the
      // platform adds a catch-all, which must then answer with the error body.
      const r = await call<ErrorBody>('POST', '/agents/astronomer/ada/chat', { message: 'hi' });
      expect(r.status).toBe(404);
      if (r.text !== '') expect(r.body.error.code).toBe('not_found');
    });
  });

  it('answers from the offline provider, labelled, when the model server fails', async () => {
    fixture.setBehaviour({ failure: { status: 503 } });
    try {
      const r = await chat('coder', 'ada', { message: 'Is anyone there?' });
      expect(r.status, r.text).toBe(200);
      expect(r.body.reply.startsWith('[offline]'), r.body.reply).toBe(true);
      expect(r.body.model).toBe('builtin/offline');
    } finally {
      fixture.setBehaviour({ failure: null });
      // One failure does not open the breaker, but leave no router state behind for other tests.
      const store = app.app.stores.open('router');
      for (const key of await store.keys()) if (key.includes('breaker')) await store.delete(key);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The router itself unreachable (not the model server behind it): an app whose router_url points at a closed port.

/** Whether spin.toml declares `router_url` as an application variable (so a test can point it elsewhere). */
function hasRouterUrlVariable(): boolean {
  const manifest = parseToml(readFileSync(APPS.main, 'utf8')) as { variables?: Record<string, unknown> };
  return manifest.variables !== undefined && 'router_url' in manifest.variables;
}

describe.runIf(hasRouterUrlVariable())('agent runtime without a router', () => {
  let deadApp: TestApp;
  beforeAll(async () => {
    // A port that was just free and is closed again: connections are refused at once.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    deadApp = await startApp(APPS.main, {
      runtimeConfigFile: memoryRuntimeConfig(),
      variables: variables(fixture, [['router_url', `http://127.0.0.1:${port}`]]),
    });
    const created = await fetch(`${deadApp.url}/api/v1/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lonely', kind: 'coder' }),
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await deadApp?.close();
  });

  it('ends an SSE chat with an error event, and a JSON chat with a 5xx error body', async () => {
    const res = await fetch(`${deadApp.url}/agents/coder/lonely/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ message: 'Anyone?' }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());
    expect(events.at(-1)?.event).toBe('error');
    expect(events.some((e) => e.event === 'done')).toBe(false);
    const error = data<{ code: string; message: string }>(events.at(-1)!);
    expect(error).toEqual({ code: expect.any(String), message: expect.any(String) });

    const json = await fetch(`${deadApp.url}/agents/coder/lonely/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Anyone?' }),
    });
    expect(json.status).toBeGreaterThanOrEqual(500);
    expect(((await json.json()) as ErrorBody).error.code).toEqual(expect.any(String));
  });
});
