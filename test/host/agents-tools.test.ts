/**
 * The agents' service-backed tools end to end on the host, against the LLM fixture:
 * - `execute_code`: the model asks for code to run, the agent component calls the private sandbox by service
 *   chaining, and the sandbox's output reaches the model;
 * - `search_knowledge` and automatic retrieval: passages from the agent's knowledge collections (the rag component
 *   on the embedded PGlite) reach the prompt and the tool result;
 * - `ask_agent`: one local agent asks another through the app's routes, with a hop limit, and a remote peer over A2A;
 * - a tool the agent's record grants but the agent cannot use (no collections) is neither offered nor run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

interface ToolCallRecord {
  id: string;
  name: string;
  arguments: string;
  result: string;
  refused?: true;
}
interface ChatReply {
  conversationId: string;
  reply: string;
  toolCalls: ToolCallRecord[];
  knowledge?: { source: string; score: number }[];
}
interface UpstreamChat {
  messages: { role: string; content: string | null; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
}

let fixture: LlmFixture;
let app: TestApp;
let rc: { file: string; remove(): void };

beforeAll(async () => {
  fixture = await startLlmFixture();
  rc = memoryRuntimeConfig(['agents', 'memory', 'router', 'tasks', 'workflows']);
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: fixtureVariables(fixture, [
      // Remote A2A peers on loopback (this same app plays the remote agent).
      ['a2a_peer_hosts', 'http://127.0.0.1:*'],
    ]),
  });
  const agents = [
    { name: 'cody', kind: 'coder', tools: ['execute_code', 'ask_agent'] },
    { name: 'rita', kind: 'researcher', tools: ['search_knowledge'], knowledge: { collections: ['handbook'], topK: 2 } },
    { name: 'nora', kind: 'researcher', tools: ['search_knowledge'] },
    { name: 'rev', kind: 'reviewer', tools: ['ask_agent'] },
    {
      name: 'pete',
      kind: 'reviewer',
      tools: ['ask_agent'],
      peers: [{ name: 'far-coder', cardUrl: `${app.url}/agents/coder/cody/.well-known/agent-card.json` }],
    },
  ];
  for (const a of agents) {
    const r = await post('/api/v1/agents', a);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  expect((await post('/api/v1/knowledge/collections', { name: 'handbook' })).status).toBe(201);
  const docs = [
    {
      id: 'deploy',
      title: 'Deploying to the edge',
      content: '# Deploying\n\nEdge nodes run Kairos OS and K3s. SpinKube schedules each SpinApp onto arm64 or amd64 workers.',
    },
    {
      id: 'cooking',
      title: 'Sourdough',
      content: '# Sourdough\n\nFeed the starter with flour and water twelve hours before baking the loaf.',
    },
  ];
  for (const d of docs) {
    const r = await post('/api/v1/knowledge/collections/handbook/documents', d);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
});

afterAll(async () => {
  await app?.close();
  await fixture?.close();
  rc?.remove();
});

beforeEach(() => fixture.clearLog());

async function post<T = unknown>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const chat = (kind: string, name: string, message: string) => post<ChatReply>(`/agents/${kind}/${name}/chat`, { message });
const upstream = () => fixture.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body as UpstreamChat);
const toolNames = (u: UpstreamChat) => (u.tools ?? []).map((t) => t.function.name).sort();

describe('execute_code', () => {
  it('runs the model’s code in the sandbox and hands the output back to the model', async () => {
    fixture.enqueue({
      toolCalls: [{ id: 'call_code', name: 'execute_code', arguments: { code: 'console.log("sum", 2 + 3); [1, 2, 3].map((x) => x * 7)' } }],
    });
    const r = await chat('coder', 'cody', 'What is 2 + 3?');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const call = r.body.toolCalls[0]!;
    expect(call.name).toBe('execute_code');
    expect(call.refused).toBeUndefined();
    const out = JSON.parse(call.result) as { stdout: string; result: unknown; error: unknown };
    expect(out.stdout).toContain('sum 5');
    expect(out.result).toEqual([7, 14, 21]);
    expect(out.error).toBeNull();
    const [first, second] = upstream();
    expect(toolNames(first!)).toEqual(['ask_agent', 'execute_code']);
    expect(second!.messages.find((m) => m.tool_call_id === 'call_code')?.content).toContain('sum 5');
  });

  it('reports the sandbox refusing network access as the tool’s result, not a failed chat', async () => {
    fixture.enqueue({ toolCalls: [{ id: 'call_net', name: 'execute_code', arguments: { code: 'await fetch("https://example.com")' } }] });
    const r = await chat('coder', 'cody', 'Fetch example.com');
    expect(r.status).toBe(200);
    const out = JSON.parse(r.body.toolCalls[0]!.result) as { error: unknown };
    expect(out.error).not.toBeNull();
  });
});

describe('knowledge', () => {
  it('retrieves passages into the prompt and answers search_knowledge from the agent’s collections', async () => {
    fixture.enqueue({ toolCalls: [{ id: 'call_search', name: 'search_knowledge', arguments: { query: 'starter flour water' } }] });
    const r = await chat('researcher', 'rita', 'How are edge nodes deployed with SpinKube?');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Automatic retrieval for the message: the deployment note first.
    expect(r.body.knowledge?.[0]?.source).toBe('handbook/deploy');
    const [first, second] = upstream();
    const context = first!.messages.find((m) => m.role === 'system' && m.content?.includes('knowledge base'));
    expect(context?.content).toContain('Kairos OS');
    expect(toolNames(first!)).toEqual(['search_knowledge']);
    // The tool call searched for the other document.
    expect(r.body.toolCalls[0]!.result).toContain('handbook/cooking');
    expect(second!.messages.find((m) => m.tool_call_id === 'call_search')?.content).toContain('starter');
  });

  it('refuses a collection the agent was not given', async () => {
    fixture.enqueue({ toolCalls: [{ id: 'call_other', name: 'search_knowledge', arguments: { query: 'x', collection: 'secrets' } }] });
    const r = await chat('researcher', 'rita', 'Look elsewhere');
    expect(r.body.toolCalls[0]!.result).toMatch(/^error: 'secrets' is not one of this agent's collections/);
  });

  it('does not offer search_knowledge to an agent without collections, and refuses it', async () => {
    fixture.enqueue({ toolCalls: [{ id: 'call_nora', name: 'search_knowledge', arguments: { query: 'x' } }] });
    const r = await chat('researcher', 'nora', 'Search something');
    expect(r.status).toBe(200);
    expect(r.body.toolCalls[0]).toMatchObject({ name: 'search_knowledge', refused: true });
    expect(toolNames(upstream()[0]!)).toEqual([]);
  });
});

describe('ask_agent', () => {
  it('asks a local agent and uses its answer', async () => {
    fixture.enqueue({
      toolCalls: [{ id: 'call_ask', name: 'ask_agent', arguments: { agent: 'coder/cody', message: 'Is this loop correct?' } }],
    });
    const r = await chat('reviewer', 'rev', 'Review the loop with the coder.');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.toolCalls[0]!.result).toBe('Fixture answer to: Is this loop correct?');
    // rev's first round, cody's answer, rev's second round.
    expect(upstream()).toHaveLength(3);
    expect(upstream()[1]!.messages.at(-1)).toMatchObject({ role: 'user', content: 'Is this loop correct?' });
  });

  it('asks a remote peer over A2A: resolves its card, sends the message, uses the answer', async () => {
    fixture.enqueue({ toolCalls: [{ id: 'call_peer', name: 'ask_agent', arguments: { agent: 'far-coder', message: 'Hello from afar' } }] });
    const r = await chat('reviewer', 'pete', 'Ask the remote coder.');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.toolCalls[0]).toMatchObject({ name: 'ask_agent', result: 'Fixture answer to: Hello from afar' });
    // The peer's answer came through its A2A endpoint, which recorded a task.
    const tasks = await fetch(`${app.url}/agents/coder/cody/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} }),
    }).then((x) => x.json() as Promise<{ result: { tasks: { status: { state: string } }[] } }>);
    expect(tasks.result.tasks.some((t) => t.status.state === 'TASK_STATE_COMPLETED')).toBe(true);
  });

  it('refuses unknown targets and asking itself, and stops delegation chains', async () => {
    fixture.enqueue({
      toolCalls: [
        { id: 'c1', name: 'ask_agent', arguments: { agent: 'reviewer/rev', message: 'me?' } },
        { id: 'c2', name: 'ask_agent', arguments: { agent: 'https://evil.example/agent', message: 'hi' } },
        { id: 'c3', name: 'ask_agent', arguments: { agent: 'coder/nobody', message: 'hi' } },
      ],
    });
    const r = await chat('reviewer', 'rev', 'Delegate.');
    const results = Object.fromEntries(r.body.toolCalls.map((t) => [t.id, t.result]));
    expect(results.c1).toBe('error: an agent cannot ask itself');
    expect(results.c2).toMatch(/neither kind\/name nor one of this agent's peers/);
    expect(results.c3).toMatch(/^error: 404/);

    // A message that already went through three agents may not be delegated further.
    fixture.enqueue({ toolCalls: [{ id: 'deep', name: 'ask_agent', arguments: { agent: 'coder/cody', message: 'again' } }] });
    const deep = await post<ChatReply>('/agents/reviewer/rev/chat', { message: 'deep' }, { 'x-edge-agents-hops': '3' });
    expect(deep.body.toolCalls[0]!.result).toBe('error: agents may delegate at most 3 levels deep');
  });
});
