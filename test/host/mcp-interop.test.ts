/**
 * The MCP server (`/mcp`) against the official TypeScript clients, on the real host with the real components and
 * the LLM fixture: `@modelcontextprotocol/sdk` 1.x (`StreamableHTTPClientTransport`), and `@modelcontextprotocol/client`
 * 2.x in its default mode (the 2025 `initialize` handshake) and in `auto` mode (which probes `server/discover` and
 * speaks the stateless 2026-07-28 revision when the server offers it, as this one does).
 *
 * Each client connects, pages through tools, prompts, templates and resources (the page size is 2, so every list
 * has several pages), calls every tool for real (the callees are the platform's own components), reads an agent and
 * a knowledge document, gets prompts and completes a template argument. Authentication is on: the clients send a
 * key, the server forwards it, and a read-only key is refused by the callee, not by the MCP server.
 */
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

const ADMIN_KEY = 'mcp-admin-key';
const READ_KEY = 'mcp-read-key';
const PAGE_SIZE = 2;

let fixture: LlmFixture;
let app: TestApp;

/** Every key-value label of spin.toml (in memory), whichever components use them. */
function kvLabels(): string[] {
  const manifest = parseToml(readFileSync(APPS.main, 'utf8')) as { component?: Record<string, { key_value_stores?: string[] }> };
  const labels = new Set<string>();
  for (const c of Object.values(manifest.component ?? {})) for (const l of c.key_value_stores ?? []) if (l !== 'default') labels.add(l);
  return [...labels];
}
let removeRc: () => void;
/** What the rag component answered while the knowledge was set up, for failure messages. */
let knowledgeSetup = '';
let workflowSetup = '';

beforeAll(async () => {
  fixture = await startLlmFixture();
  const rc = memoryRuntimeConfig(kvLabels());
  removeRc = rc.remove;
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: fixtureVariables(fixture, [
      ['api_keys', `admin:plain:${ADMIN_KEY}\nread:plain:${READ_KEY}`],
      ['mcp_page_size', String(PAGE_SIZE)],
    ]),
  });
  // A knowledge collection with one document, through the rag component's REST API.
  const rest = (path: string, body: unknown) =>
    fetch(`${app.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify(body),
    });
  const created = await rest('/api/v1/knowledge/collections', { name: 'mcp-notes' });
  knowledgeSetup = `collection: ${created.status} ${await created.text()}`;
  const doc = await rest('/api/v1/knowledge/collections/mcp-notes/documents', {
    id: 'spin-notes',
    title: 'Spin notes',
    content: 'Spin runs WebAssembly components. Each request gets a fresh instance, so state lives in key-value stores.',
    contentType: 'markdown',
    metadata: { topic: 'spin' },
  });
  knowledgeSetup += `; document: ${doc.status} ${await doc.text()}`;
  // A stored workflow with an approval gate, for the input-required case of execute_workflow.
  const gated = await rest('/api/v1/workflows/definitions', {
    id: 'mcp-gated',
    name: 'Gated',
    steps: [
      { id: 'draft', agent: 'coder', prompt: 'Draft: {{input}}' },
      { id: 'gate', type: 'approval', message: 'Ship this? {{steps.draft.output}}' },
      { id: 'ship', agent: 'reviewer', prompt: 'Announce: {{steps.draft.output}}' },
    ],
  });
  workflowSetup = `definition: ${gated.status} ${await gated.text()}`;
});

afterAll(async () => {
  await app?.close();
  await fixture?.close();
  removeRc?.();
});

// ---------------------------------------------------------------------------------------------------------------------
// One scenario, three clients

/** What the scenario needs of a client; both SDK generations have these methods with the same shapes. */
interface McpClient {
  listTools(p?: {
    cursor?: string;
  }): Promise<{ tools: { name: string; inputSchema: unknown; outputSchema?: unknown }[]; nextCursor?: string }>;
  callTool(p: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  listResources(p?: { cursor?: string }): Promise<{ resources: { uri: string; name: string }[]; nextCursor?: string }>;
  listResourceTemplates(p?: { cursor?: string }): Promise<{ resourceTemplates: { uriTemplate: string }[]; nextCursor?: string }>;
  readResource(p: { uri: string }): Promise<{ contents: { uri: string; mimeType?: string; text?: unknown }[] }>;
  listPrompts(p?: { cursor?: string }): Promise<{ prompts: { name: string; arguments?: unknown[] }[]; nextCursor?: string }>;
  getPrompt(p: { name: string; arguments?: Record<string, string> }): Promise<{ messages: { role: string; content: unknown }[] }>;
  complete(p: unknown): Promise<{ completion: { values: string[] } }>;
  close(): Promise<void>;
}

/** Progress as both clients report it (`onprogress` makes them send a progressToken). */
interface Progress {
  progress: number;
  message?: string;
}

type CallWithProgress = (p: { name: string; arguments: Record<string, unknown> }, onprogress: (p: Progress) => void) => Promise<unknown>;

interface ToolResult {
  content: { type: string; text?: string; uri?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** Every page of a list: the first call without a cursor (v2 may aggregate all pages itself), then `nextCursor`s. */
async function all<T>(
  list: (p?: { cursor?: string }) => Promise<{ nextCursor?: string } & Record<string, unknown>>,
  key: string,
): Promise<T[]> {
  const out: T[] = [];
  let page = await list();
  for (let i = 0; i < 100; i++) {
    out.push(...(page[key] as T[]));
    if (!page.nextCursor) return out;
    page = await list({ cursor: page.nextCursor });
  }
  throw new Error('the list never ended');
}

/** A POST with headers fetch does not let a caller set (`Host`); resolves with the status. */
function postRaw(base: string, headers: Record<string, string>, body: string): Promise<number> {
  const url = new URL(`${base}/mcp`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

const CLIENTS: {
  label: string;
  slug: string;
  connect(key: string): Promise<McpClient & { era?: () => string | undefined; callWithProgress: CallWithProgress }>;
}[] = [
  {
    label: '@modelcontextprotocol/sdk 1.x',
    slug: 'v1',
    async connect(key) {
      const client = new ClientV1({ name: 'edge-agents-test', version: '1.0.0' });
      await client.connect(new TransportV1(new URL(`${app.url}/mcp`), { requestInit: auth(key) }));
      const callWithProgress: CallWithProgress = (p, onprogress) => client.callTool(p, undefined, { onprogress });
      return Object.assign(client as unknown as McpClient, { callWithProgress });
    },
  },
  {
    label: '@modelcontextprotocol/client 2.x (default mode)',
    slug: 'v2',
    async connect(key) {
      const client = new ClientV2({ name: 'edge-agents-test', version: '2.0.0' });
      await client.connect(new TransportV2(new URL(`${app.url}/mcp`), { requestInit: auth(key) }));
      const callWithProgress: CallWithProgress = (p, onprogress) => client.callTool(p, { onprogress });
      return Object.assign(client as unknown as McpClient, { era: () => client.getProtocolEra(), callWithProgress });
    },
  },
  {
    label: '@modelcontextprotocol/client 2.x (auto mode)',
    slug: 'auto',
    async connect(key) {
      const client = new ClientV2({ name: 'edge-agents-test', version: '2.0.0' }, { versionNegotiation: { mode: 'auto' } });
      await client.connect(new TransportV2(new URL(`${app.url}/mcp`), { requestInit: auth(key) }));
      const callWithProgress: CallWithProgress = (p, onprogress) => client.callTool(p, { onprogress });
      return Object.assign(client as unknown as McpClient, { era: () => client.getProtocolEra(), callWithProgress });
    },
  },
];

describe.each(CLIENTS)('$label', ({ slug, connect }) => {
  let client: McpClient & { era?: () => string | undefined; callWithProgress: CallWithProgress };
  const agentName = `mcp-${slug}`;

  beforeAll(async () => {
    client = await connect(ADMIN_KEY);
  });
  afterAll(async () => {
    await client?.close();
  });

  it('negotiates the expected protocol era', () => {
    if (slug === 'auto') expect(client.era?.()).toBe('modern');
    if (slug === 'v2') expect(client.era?.()).toBe('legacy');
  });

  it('lists every tool across pages, each with input and output schemas', async () => {
    const first = await client.listTools();
    const tools = await all<{ name: string; inputSchema: { type?: string }; outputSchema?: { type?: string } }>(
      (p) => client.listTools(p),
      'tools',
    );
    expect(tools.map((t) => t.name)).toEqual([
      'search_knowledge',
      'create_agent',
      'list_agents',
      'chat_with_agent',
      'execute_workflow',
      'execute_code',
    ]);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
    }
    // Explicit per-page calls: the server pages at mcp_page_size.
    if (first.tools.length === tools.length) {
      const page = await client.listTools({ cursor: undefined });
      expect(page.tools.length).toBeGreaterThan(0);
    } else {
      expect(first.tools).toHaveLength(PAGE_SIZE);
      expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it('create_agent registers an agent (structured result, resource link)', async () => {
    const r = (await client.callTool({
      name: 'create_agent',
      arguments: { name: agentName, kind: 'coder', description: 'Created over MCP', instructions: 'Be brief.' },
    })) as ToolResult;
    expect(r.isError, JSON.stringify(r)).toBeFalsy();
    const agent = r.structuredContent?.agent as { name: string; kind: string; uri: string };
    expect(agent).toMatchObject({
      name: agentName,
      kind: 'coder',
      url: `/agents/coder/${agentName}`,
      uri: `edge-agents://agents/coder/${agentName}`,
    });
    expect(JSON.parse(r.content[0]!.text!)).toEqual(r.structuredContent);
    expect(r.content.some((c) => c.type === 'resource_link' && c.uri === agent.uri)).toBe(true);
    // The registry really has it.
    const rest = await fetch(`${app.url}/api/v1/agents/coder/${agentName}`, auth(ADMIN_KEY));
    expect(rest.status).toBe(200);
  });

  it('create_agent of an existing agent is a tool error with the registry message', async () => {
    const r = (await client.callTool({ name: 'create_agent', arguments: { name: agentName, kind: 'coder' } })) as ToolResult;
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/api answered 409/);
  });

  it('list_agents finds it', async () => {
    const r = (await client.callTool({ name: 'list_agents', arguments: { kind: 'coder', limit: 100 } })) as ToolResult;
    expect(r.isError).toBeFalsy();
    const agents = r.structuredContent?.agents as { name: string }[];
    expect(agents.map((a) => a.name)).toContain(agentName);
    expect(r.structuredContent?.nextCursor).toBeNull();
  });

  it('chat_with_agent gets the model reply through the agent component, and continues the conversation', async () => {
    const message = `Hello from the ${slug} MCP client`;
    const r = (await client.callTool({ name: 'chat_with_agent', arguments: { kind: 'coder', name: agentName, message } })) as ToolResult;
    expect(r.isError, JSON.stringify(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ reply: `Fixture answer to: ${message}`, model: expect.any(String) });
    const conversationId = r.structuredContent?.conversationId as string;
    const again = (await client.callTool({
      name: 'chat_with_agent',
      arguments: { kind: 'coder', name: agentName, message: 'And again', conversationId },
    })) as ToolResult;
    expect(again.structuredContent).toMatchObject({ conversationId, reply: 'Fixture answer to: And again' });
  });

  it('chat_with_agent streams the reply as progress notifications when asked to', async () => {
    const message = `Stream to the ${slug} client`;
    const seen: Progress[] = [];
    const r = (await client.callWithProgress({ name: 'chat_with_agent', arguments: { kind: 'coder', name: agentName, message } }, (p) =>
      seen.push(p),
    )) as ToolResult;
    expect(r.isError, JSON.stringify(r)).toBeFalsy();
    const reply = `Fixture answer to: ${message}`;
    expect(r.structuredContent?.reply).toBe(reply);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.map((p) => p.progress)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.at(-1)?.message).toBe(reply);
  });

  it('chat_with_agent with an unknown agent is a tool error', async () => {
    const r = (await client.callTool({
      name: 'chat_with_agent',
      arguments: { kind: 'coder', name: 'nobody-here', message: 'hi' },
    })) as ToolResult;
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/404/);
  });

  it('search_knowledge finds the document and links it as a resource', async () => {
    const r = (await client.callTool({
      name: 'search_knowledge',
      arguments: { collection: 'mcp-notes', query: 'WebAssembly components fresh instance', topK: 3 },
    })) as ToolResult;
    expect(r.isError, `${JSON.stringify(r)} (setup: ${knowledgeSetup})`).toBeFalsy();
    const results = r.structuredContent?.results as { documentId: string; uri: string; text: string }[];
    expect(results.length).toBeGreaterThan(0);
    expect(results[0]).toMatchObject({ documentId: 'spin-notes', uri: 'edge-agents://knowledge/mcp-notes/spin-notes' });
    expect(r.content.some((c) => c.type === 'resource_link' && c.uri === 'edge-agents://knowledge/mcp-notes/spin-notes')).toBe(true);
  });

  it('execute_code runs code in the sandbox', async () => {
    const r = (await client.callTool({
      name: 'execute_code',
      arguments: { code: 'console.log("hi from " + "mcp"); 6 * 7' },
    })) as ToolResult;
    expect(r.isError, JSON.stringify(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ result: 42, error: null, durationMs: expect.any(Number) });
    expect(r.structuredContent?.stdout).toContain('hi from mcp');
  });

  it('execute_code reports a thrown error as a tool error with the structured result', async () => {
    const r = (await client.callTool({ name: 'execute_code', arguments: { code: 'throw new Error("boom")' } })) as ToolResult;
    expect(r.isError).toBe(true);
    expect(r.structuredContent?.error).toMatchObject({ kind: 'runtime', name: 'Error', message: 'boom' });
  });

  it('execute_workflow runs SPARC to the end or to an approval', async () => {
    const r = (await client.callTool({
      name: 'execute_workflow',
      arguments: { input: `Write a function that adds two numbers (${slug})` },
    })) as ToolResult;
    expect(r.isError, JSON.stringify(r)).toBeFalsy();
    const s = r.structuredContent as { runId: string; state: string; status: string; output: string | null; approval: unknown };
    expect(['completed', 'input-required']).toContain(s.state);
    if (s.state === 'completed') expect(s.output).toEqual(expect.any(String));
    else expect(s.approval).toMatchObject({ step: expect.any(String) });
    const run = await fetch(`${app.url}/api/v1/workflows/runs/${encodeURIComponent(s.runId)}`, auth(ADMIN_KEY));
    expect(run.status).toBe(200);
    expect(((await run.json()) as { status: string }).status).toBe(s.status);
  });

  it('execute_workflow reports each step as a progress notification when asked to', async () => {
    const seen: Progress[] = [];
    const r = (await client.callWithProgress(
      { name: 'execute_workflow', arguments: { input: `Write a function that reverses a string (${slug})` } },
      (p) => seen.push(p),
    )) as ToolResult;
    expect(r.isError, JSON.stringify(r)).toBeFalsy();
    const events = (r.structuredContent as { events: { event: string }[] }).events;
    expect(seen.map((p) => p.message?.split(' ')[0])).toEqual(events.map((e) => e.event));
    expect(seen.some((p) => p.message?.startsWith('step_completed'))).toBe(true);
  });

  it('execute_workflow stops at an approval gate as input-required, and the run continues once approved', async () => {
    const r = (await client.callTool({
      name: 'execute_workflow',
      arguments: { template: 'mcp-gated', input: `a release note (${slug})` },
    })) as ToolResult;
    expect(r.isError, `${JSON.stringify(r)} (${workflowSetup})`).toBeFalsy();
    const s = r.structuredContent as { runId: string; state: string; status: string; approval: { step: string; message: string } };
    expect(s).toMatchObject({ state: 'input-required', status: 'waiting_approval', approval: { step: 'gate' } });
    expect(s.approval.message).toContain('Ship this?');
    const approved = await fetch(`${app.url}/api/v1/workflows/runs/${s.runId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', accept: 'application/json' },
      body: '{}',
    });
    await approved.text();
    const run = (await (await fetch(`${app.url}/api/v1/workflows/runs/${s.runId}`, auth(ADMIN_KEY))).json()) as { status: string };
    expect(run.status).toBe('completed');
  });

  it('lists agents and knowledge documents as resources across pages, and reads an agent', async () => {
    const resources = await all<{ uri: string; name: string; mimeType?: string }>((p) => client.listResources(p), 'resources');
    const uri = `edge-agents://agents/coder/${agentName}`;
    expect(resources.map((r) => r.uri)).toContain(uri);
    expect(
      resources.find((r) => r.uri === 'edge-agents://knowledge/mcp-notes/spin-notes'),
      knowledgeSetup,
    ).toMatchObject({
      name: 'mcp-notes/spin-notes',
      title: 'Spin notes',
    });
    // Agents first, then documents; no duplicates across pages.
    expect(new Set(resources.map((r) => r.uri)).size).toBe(resources.length);
    const firstDocument = resources.findIndex((r) => r.uri.startsWith('edge-agents://knowledge/'));
    expect(resources.slice(firstDocument).every((r) => r.uri.startsWith('edge-agents://knowledge/'))).toBe(true);
    const read = await client.readResource({ uri });
    expect(read.contents[0]).toMatchObject({ uri, mimeType: 'application/json' });
    expect(JSON.parse(read.contents[0]!.text as string)).toMatchObject({ name: agentName, kind: 'coder' });
  });

  it('reads a knowledge document', async () => {
    const uri = 'edge-agents://knowledge/mcp-notes/spin-notes';
    const read = await client.readResource({ uri });
    expect(read.contents[0]?.text, knowledgeSetup).toContain('Spin runs WebAssembly components');
    expect(read.contents[0]).toMatchObject({ uri, mimeType: 'text/markdown', _meta: { title: 'Spin notes', metadata: { topic: 'spin' } } });
  });

  it('a missing resource is a JSON-RPC error', async () => {
    // The wire code is -32002 in the 2025 revisions and -32602 in 2026-07-28 (mcp-transport.test.ts checks both);
    // the 2.x client reports either as -32602.
    await expect(client.readResource({ uri: 'edge-agents://agents/coder/does-not-exist' })).rejects.toMatchObject({
      code: slug === 'v1' ? -32002 : -32602,
    });
  });

  it('lists the resource templates', async () => {
    const templates = await all<{ uriTemplate: string }>((p) => client.listResourceTemplates(p), 'resourceTemplates');
    expect(templates.map((t) => t.uriTemplate)).toEqual([
      'edge-agents://agents/{kind}/{name}',
      'edge-agents://knowledge/{collection}/{docId}',
    ]);
  });

  it('lists the five SPARC prompts across pages and gets them with arguments', async () => {
    const prompts = await all<{ name: string }>((p) => client.listPrompts(p), 'prompts');
    expect(prompts.map((p) => p.name)).toEqual(['specification', 'pseudocode', 'architecture', 'refinement', 'completion']);
    const p = await client.getPrompt({ name: 'specification', arguments: { task: 'A rate limiter', context: 'Edge gateway' } });
    expect(p.messages).toHaveLength(1);
    expect(JSON.stringify(p.messages[0]!.content)).toContain('A rate limiter');
    await expect(client.getPrompt({ name: 'pseudocode', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });

  it('completes the agent template arguments', async () => {
    const r = await client.complete({
      ref: { type: 'ref/resource', uri: 'edge-agents://agents/{kind}/{name}' },
      argument: { name: 'name', value: 'mcp-' },
      context: { arguments: { kind: 'coder' } },
    });
    expect(r.completion.values).toContain(agentName);
  });

  it('completes the document template arguments', async () => {
    const collections = await client.complete({
      ref: { type: 'ref/resource', uri: 'edge-agents://knowledge/{collection}/{docId}' },
      argument: { name: 'collection', value: 'mcp' },
    });
    expect(collections.completion.values, knowledgeSetup).toEqual(['mcp-notes']);
    const docs = await client.complete({
      ref: { type: 'ref/resource', uri: 'edge-agents://knowledge/{collection}/{docId}' },
      argument: { name: 'docId', value: 'spin' },
      context: { arguments: { collection: 'mcp-notes' } },
    });
    expect(docs.completion.values).toEqual(['spin-notes']);
  });

  it('an unknown tool is a JSON-RPC error', async () => {
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });
});

describe('authentication and forwarding', () => {
  it('without a key the clients cannot connect (401 with WWW-Authenticate)', async () => {
    const res = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    await expect(CLIENTS[0]!.connect('wrong-key')).rejects.toThrow();
  });

  it('with authentication on, a page from the own host of the server may call it (and a foreign one may not)', async () => {
    const headers = { host: 'mcp.example.test', authorization: `Bearer ${ADMIN_KEY}` };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(await postRaw(app.url, { ...headers, origin: 'http://mcp.example.test' }, body)).toBe(200);
    expect(await postRaw(app.url, { ...headers, origin: 'http://other.example.test' }, body)).toBe(403);
  });

  it('a read-only key may connect, but the registry refuses create_agent (the key is forwarded)', async () => {
    const client = await CLIENTS[0]!.connect(READ_KEY);
    try {
      const r = (await client.callTool({ name: 'create_agent', arguments: { name: 'not-allowed', kind: 'coder' } })) as ToolResult;
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/api answered 403/);
      const listed = (await client.callTool({ name: 'list_agents', arguments: {} })) as ToolResult;
      expect(listed.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });
});
