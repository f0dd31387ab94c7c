/**
 * The agent registry REST API (`api` component) over HTTP on the host: CRUD, pagination and filters, validation
 * and hostile input, memory and conversations, and bearer-key authentication with scopes.
 *
 * Each app gets in-memory key-value stores (its own runtime config), so tests never touch `.spin/`.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { memoryRuntimeConfig as sharedMemoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

interface Agent {
  name: string;
  kind: string;
  url: string;
  description: string;
  model: string;
  instructions: string;
  skills: { id: string; name: string; description: string; tags: string[]; examples?: string[] }[];
  tools: string[];
  budget?: Record<string, number>;
  peers?: { name: string; cardUrl: string }[];
  createdAt: string;
  updatedAt: string;
}
interface ErrorBody {
  error: { code: string; message: string; details?: { path: (string | number)[]; message: string; code: string }[] };
}
interface Page {
  items: Agent[];
  nextCursor: string | null;
  corrupt?: { key: string; message: string }[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const dirs: { remove(): void }[] = [];

/** Every key-value label of spin.toml in memory. */
function memoryRuntimeConfig(): string {
  const rc = sharedMemoryRuntimeConfig();
  dirs.push(rc);
  return rc.file;
}

function start(variables: [string, string][] = []): Promise<TestApp> {
  return startApp(APPS.main, { runtimeConfigFile: memoryRuntimeConfig(), variables: new Map(variables) });
}

interface Reply<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** A request against an app; the body is parsed as JSON when there is one. */
async function call<T = unknown>(
  app: TestApp,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${app.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A request with the path sent exactly as written (fetch would normalise `..` and `%2e%2e`). */
function raw(app: TestApp, method: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function storeKeys(app: TestApp, label: string): Promise<string[]> {
  return (await app.app.stores.open(label).keys()).sort();
}

async function clearStores(app: TestApp): Promise<void> {
  for (const label of ['agents', 'memory']) {
    const store = app.app.stores.open(label);
    for (const key of await store.keys()) await store.delete(key);
  }
}

async function setMemory(app: TestApp, keys: string[]): Promise<void> {
  const store = app.app.stores.open('memory');
  for (const key of keys) await store.set(key, new TextEncoder().encode('{"role":"user","content":"hi"}'));
}

const FULL_AGENT = {
  name: 'alpha',
  kind: 'coder',
  description: 'Writes TypeScript.',
  model: 'local/llama3.1:8b',
  instructions: 'You write small, tested changes.',
  skills: [
    { id: 'typescript', name: 'TypeScript', description: 'TS and JS', tags: ['code', 'Web'], examples: ['Add a route'] },
    { id: 'review', name: 'Review', tags: ['quality'] },
  ],
  tools: ['execute_code', 'search_knowledge'],
  budget: { dailyTokens: 100000, monthlyCost: 25.5 },
  peers: [{ name: 'reviewer', cardUrl: 'https://agents.example.com/reviewer/.well-known/agent-card.json' }],
};

afterAll(() => {
  for (const d of dirs) d.remove();
});

describe('agents API (authentication off)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await start();
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(async () => {
    await clearStores(app);
  });

  const post = (body: unknown, headers?: Record<string, string>) => call<Agent & ErrorBody>(app, 'POST', '/api/v1/agents', body, headers);
  const list = (q = '') => call<Page & ErrorBody>(app, 'GET', `/api/v1/agents${q}`);

  it('create, get, patch, delete: the full round trip', async () => {
    const created = await post(FULL_AGENT);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v1/agents/coder/alpha');
    expect(created.headers.get('x-edge-agents-auth')).toBe('off');
    const agent = created.body;
    expect(agent).toMatchObject({ ...FULL_AGENT, url: '/agents/coder/alpha' });
    expect(agent.skills[1]).toEqual({ id: 'review', name: 'Review', description: '', tags: ['quality'] });
    expect(Date.parse(agent.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(agent.updatedAt).toBe(agent.createdAt);
    expect(await storeKeys(app, 'agents')).toEqual(['agent/coder/alpha']);
    const stored = await app.app.stores.open('agents').get('agent/coder/alpha');
    expect(JSON.parse(new TextDecoder().decode(stored))).toEqual(agent);

    const got = await call<Agent>(app, 'GET', '/api/v1/agents/coder/alpha');
    expect(got.status).toBe(200);
    expect(got.body).toEqual(agent);

    const patched = await call<Agent>(app, 'PATCH', '/api/v1/agents/coder/alpha', {
      description: 'Writes and reviews TypeScript.',
      tools: ['execute_code'],
      budget: { dailyCost: 1 },
      name: 'alpha', // repeating the own name is allowed
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'alpha',
      kind: 'coder',
      description: 'Writes and reviews TypeScript.',
      tools: ['execute_code'],
      budget: { dailyCost: 1 },
      instructions: FULL_AGENT.instructions,
      skills: agent.skills,
      peers: FULL_AGENT.peers,
      createdAt: agent.createdAt,
    });
    expect(patched.body.updatedAt >= agent.updatedAt).toBe(true);

    const removed = await call<Agent>(app, 'PATCH', '/api/v1/agents/coder/alpha', { budget: null, peers: null });
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty('budget');
    expect(removed.body).not.toHaveProperty('peers');
    expect((await call<Agent>(app, 'GET', '/api/v1/agents/coder/alpha')).body).toEqual(removed.body);

    const deleted = await call(app, 'DELETE', '/api/v1/agents/coder/alpha');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    const gone = await call<ErrorBody>(app, 'GET', '/api/v1/agents/coder/alpha');
    expect(gone.status).toBe(404);
    expect(gone.body.error).toEqual({ code: 'not_found', message: 'no agent coder/alpha' });
    expect(await storeKeys(app, 'agents')).toEqual([]);
  });

  it('fills defaults for a minimal agent', async () => {
    const r = await post({ name: 'min', kind: 'researcher' });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      name: 'min',
      kind: 'researcher',
      url: '/agents/researcher/min',
      description: '',
      model: 'chat',
      instructions: '',
      skills: [],
      tools: [],
      createdAt: r.body.createdAt,
      updatedAt: r.body.createdAt,
    });
  });

  it('the same name may exist under different kinds; a duplicate is a 409', async () => {
    expect((await post({ name: 'one', kind: 'coder' })).status).toBe(201);
    expect((await post({ name: 'one', kind: 'reviewer' })).status).toBe(201);
    const dup = await post({ name: 'one', kind: 'coder', description: 'again' });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'conflict', message: 'agent coder/one already exists' });
    expect((await call<Agent>(app, 'GET', '/api/v1/agents/coder/one')).body.description).toBe('');
  });

  it('unknown agents are 404 not_found for GET, PATCH and DELETE', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const r = await call<ErrorBody>(app, method, '/api/v1/agents/coder/nobody', method === 'PATCH' ? { description: 'x' } : undefined);
      expect(r.status, method).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
  });

  describe('listing', () => {
    // Kinds chosen so that key order and registry order differ: `agent/coder-pro/…` < `agent/coder/…` as bytes.
    const KINDS = ['coder', 'coder-pro', 'researcher'];
    const all: { kind: string; name: string }[] = [];
    for (let i = 0; i < 45; i++) {
      const kind = KINDS[i % 3]!;
      const name = i % 4 === 0 ? `agent-${i}` : `a${String(i).padStart(2, '0')}`;
      all.push({ kind, name });
    }
    const order = (a: { kind: string; name: string }, b: { kind: string; name: string }) =>
      a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    const expected = [...all].sort(order).map((a) => `${a.kind}/${a.name}`);

    beforeEach(async () => {
      for (const [i, { kind, name }] of all.entries()) {
        const skills =
          i % 5 === 0
            ? [{ id: 'sql', name: 'SQL', tags: ['Data'] }]
            : i % 5 === 1
              ? [{ id: 'charts', name: 'Charts', tags: ['data'] }]
              : [];
        const r = await post({ kind, name, skills });
        expect(r.status).toBe(201);
      }
    });

    async function walk(q: string): Promise<{ pages: Page[]; ids: string[] }> {
      const pages: Page[] = [];
      let cursor: string | null = null;
      do {
        const sep = q ? '&' : '?';
        const r: Reply<Page> = await list(`${q}${cursor ? `${sep}cursor=${cursor}` : ''}`);
        expect(r.status).toBe(200);
        pages.push(r.body);
        cursor = r.body.nextCursor;
        expect(pages.length).toBeLessThan(60);
      } while (cursor);
      return { pages, ids: pages.flatMap((p) => p.items.map((a) => `${a.kind}/${a.name}`)) };
    }

    it('pages through every agent exactly once, by kind then name', async () => {
      const { pages, ids } = await walk('?limit=7');
      expect(pages.map((p) => p.items.length)).toEqual([7, 7, 7, 7, 7, 7, 3]);
      expect(ids).toEqual(expected);
      expect(new Set(ids).size).toBe(45);
      expect(pages.at(-1)!.nextCursor).toBeNull();
    });

    it('an exact multiple of the limit ends with a null cursor, not an empty page', async () => {
      const { pages, ids } = await walk('?limit=15');
      expect(pages.map((p) => p.items.length)).toEqual([15, 15, 15]);
      expect(ids).toEqual(expected);
    });

    it('defaults to 20 per page and allows up to 100', async () => {
      const first = await list();
      expect(first.body.items).toHaveLength(20);
      expect(first.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      const one = await list('?limit=100');
      expect(one.body.items).toHaveLength(45);
      expect(one.body.nextCursor).toBeNull();
      expect(one.body).not.toHaveProperty('corrupt');
      // Empty parameters count as absent, as forms send them.
      expect((await list('?kind=&skill=&limit=&cursor=')).body.items).toHaveLength(20);
      expect((await list('/?limit=100')).body.items).toHaveLength(45); // trailing slash
    });

    it('filters by kind', async () => {
      const { ids } = await walk('?kind=coder&limit=4');
      expect(ids).toEqual(expected.filter((id) => id.startsWith('coder/')));
      expect(ids).toHaveLength(15);
      expect((await list('?kind=nobody')).body).toEqual({ items: [], nextCursor: null });
    });

    it('filters by skill id or tag (tags case-insensitively), across pages', async () => {
      const sql = await walk('?skill=sql&limit=2');
      const sqlExpected = expected.filter((id) => all.findIndex((a) => `${a.kind}/${a.name}` === id) % 5 === 0);
      expect(sql.ids).toEqual(sqlExpected);
      expect(sql.ids).toHaveLength(9);
      const data = await walk('?skill=DATA&limit=5');
      expect(data.ids).toHaveLength(18);
      expect(new Set(data.ids).size).toBe(18);
      const both = await walk('?skill=charts&kind=researcher&limit=1');
      expect(both.ids.every((id) => id.startsWith('researcher/'))).toBe(true);
      expect(both.ids).toHaveLength(3);
    });

    it('a cursor survives the deletion of the agent it points at', async () => {
      const first = await list('?limit=10');
      const last = first.body.items.at(-1)!;
      expect((await call(app, 'DELETE', `/api/v1/agents/${last.kind}/${last.name}`)).status).toBe(204);
      const second = await list(`?limit=10&cursor=${first.body.nextCursor}`);
      expect(second.body.items.map((a) => `${a.kind}/${a.name}`)).toEqual(expected.slice(10, 20));
    });

    it('bad queries and cursors are 400 with details', async () => {
      for (const q of [
        '?limit=0',
        '?limit=101',
        '?limit=abc',
        '?limit=2.5',
        '?cursor=!!!',
        `?cursor=${Buffer.from('agent/../x').toString('base64url')}`,
        `?cursor=${Buffer.from('memory/coder/x').toString('base64url')}`,
        '?kind=Coder',
        '?kinds=coder',
        '?kind=coder&kind=researcher',
      ]) {
        const r = await list(q);
        expect(r.status, q).toBe(400);
        expect(r.body.error.code, q).toBe('invalid_request');
        if (q !== '?kind=coder&kind=researcher') expect(r.body.error.details?.length, q).toBeGreaterThan(0);
      }
    });
  });

  describe('validation', () => {
    const bad = async (body: unknown, path?: (string | number)[]) => {
      const r = await post(body);
      expect(r.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      expect(r.body.error.details?.length).toBeGreaterThan(0);
      if (path) expect(r.body.error.details!.map((d) => d.path)).toContainEqual(path);
      return r.body.error;
    };

    it('rejects invalid names and kinds with the rule in the message', async () => {
      for (const name of ['Alpha', '-alpha', 'alpha-', 'al_pha', 'al pha', 'a/b', '', 'x'.repeat(65), 'agënt', '日本'])
        expect((await bad({ name, kind: 'coder' }, ['name'])).message).toContain('slug');
      for (const kind of ['Coder', 'co.der', '../coder', 'x'.repeat(65)]) await bad({ name: 'ok', kind }, ['kind']);
      await bad({ kind: 'coder' }, ['name']);
      await bad({ name: 'ok' }, ['kind']);
      await bad({ name: 42, kind: 'coder' }, ['name']);
    });

    it('rejects unknown and duplicate tools, naming the known ones', async () => {
      const e = await bad({ name: 'ok', kind: 'coder', tools: ['execute_code', 'rm_rf'] }, ['tools', 1]);
      expect(e.message).toContain('unknown tool "rm_rf"');
      expect(e.message).toContain('search_knowledge, execute_code, ask_agent, remember, recall');
      await bad({ name: 'ok', kind: 'coder', tools: ['recall', 'recall'] }, ['tools', 1]);
      await bad({ name: 'ok', kind: 'coder', tools: 'recall' }, ['tools']);
    });

    it('rejects bad fields: limits, skills, budget, peers, model, unknown fields', async () => {
      const base = { name: 'ok', kind: 'coder' };
      await bad({ ...base, description: 'x'.repeat(2001) }, ['description']);
      // 32 KiB counts bytes: 11 000 three-byte characters are fewer than 32 768 characters but 33 000 bytes.
      await bad({ ...base, instructions: '€'.repeat(11_000) }, ['instructions']);
      expect((await post({ ...base, instructions: 'x'.repeat(32 * 1024) })).status).toBe(201);
      await bad(
        {
          ...base,
          name: 'ok2',
          skills: [
            { id: 'a', name: 'A' },
            { id: 'a', name: 'B' },
          ],
        },
        ['skills', 1, 'id'],
      );
      await bad({ ...base, name: 'ok2', skills: [{ id: 'Bad Id', name: 'A' }] }, ['skills', 0, 'id']);
      await bad({ ...base, name: 'ok2', skills: [{ id: 'a', name: 'A', tags: 'x' }] }, ['skills', 0, 'tags']);
      await bad({ ...base, name: 'ok2', skills: [{ id: 'a', name: 'A\nB' }] }, ['skills', 0, 'name']);
      await bad({ ...base, name: 'ok2', skills: Array.from({ length: 65 }, (_, i) => ({ id: `s${i}`, name: 'S' })) }, ['skills']);
      await bad({ ...base, name: 'ok2', budget: { dailyTokens: -1 } }, ['budget', 'dailyTokens']);
      await bad({ ...base, name: 'ok2', budget: { dailyTokens: 1.5 } }, ['budget', 'dailyTokens']);
      await bad({ ...base, name: 'ok2', budget: { dailyCost: 0 } }, ['budget', 'dailyCost']);
      await bad({ ...base, name: 'ok2', budget: { weeklyTokens: 5 } }, ['budget']);
      await bad({ ...base, name: 'ok2', peers: [{ name: 'p', cardUrl: 'ftp://example.com/card.json' }] }, ['peers', 0, 'cardUrl']);
      await bad({ ...base, name: 'ok2', peers: [{ name: 'p', cardUrl: 'https://' }] }, ['peers', 0, 'cardUrl']);
      await bad({ ...base, name: 'ok2', peers: [{ name: 'p', cardUrl: 'javascript:alert(1)' }] }, ['peers', 0, 'cardUrl']);
      await bad({ ...base, name: 'ok2', model: 'has space' }, ['model']);
      await bad({ ...base, name: 'ok2', createdAt: '2020-01-01T00:00:00Z' });
      await bad({ ...base, name: 'ok2', url: '/elsewhere' });
      expect(await storeKeys(app, 'agents')).toEqual(['agent/coder/ok']);
    });

    it('rejects bodies that are not JSON objects', async () => {
      for (const body of ['[]', '"agent"', '42', 'null', 'true']) {
        const r = await post(body);
        expect(r.status, body).toBe(400);
        expect(r.body.error.code).toBe('invalid_request');
        expect(r.body.error.details?.[0]?.path).toEqual([]);
      }
    });

    it('malformed and empty JSON are 400 invalid_json', async () => {
      for (const body of ['{"name": "x",', '{name: "x"}', "{'a':1}", '', '   ']) {
        const r = await call<ErrorBody>(app, 'POST', '/api/v1/agents', body, { 'content-type': 'application/json' });
        expect(r.status, body).toBe(400);
        expect(r.body.error.code).toBe('invalid_json');
      }
    });

    it('bodies over 256 KiB are 413, declared or streamed', async () => {
      const big = JSON.stringify({ name: 'big', kind: 'coder', description: 'x'.repeat(300 * 1024) });
      const declared = await post(big);
      expect(declared.status).toBe(413);
      expect(declared.body.error.code).toBe('payload_too_large');

      // Chunked (no content-length): the limit applies while reading.
      const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${app.url}/api/v1/agents`, {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large');

      // Just under the limit is accepted (and then validated).
      const under = await post(JSON.stringify({ name: 'big', kind: 'coder', instructions: 'x'.repeat(200 * 1024) }));
      expect(under.status).toBe(400);
      expect(under.body.error.details![0]!.path).toEqual(['instructions']);
      expect(await storeKeys(app, 'agents')).toEqual([]);
    });

    it('hostile input is rejected and nothing is stored', async () => {
      const r1 = await post('{"name":"p","kind":"coder","__proto__":{"admin":true}}');
      expect(r1.status).toBe(400);
      expect(r1.body.error.details![0]).toMatchObject({ code: 'unrecognized_keys', path: [] });
      const r2 = await post('{"name":"p","kind":"coder","budget":{"__proto__":{"dailyTokens":1}}}');
      expect(r2.status).toBe(400);
      const r3 = await post('{"name":"p","kind":"coder","skills":[{"id":"a","name":"A","constructor":{"prototype":{}}}]}');
      expect(r3.status).toBe(400);
      const r4 = await post({ name: 'x'.repeat(100_000), kind: 'coder' });
      expect(r4.status).toBe(400);
      expect(r4.body.error.message.length).toBeLessThan(400); // the value is not echoed in full
      expect((await post({ name: '../../etc/passwd', kind: 'coder' })).status).toBe(400);
      expect((await post({ name: 'ok', kind: 'coder\u0000' })).status).toBe(400);
      expect((await post({ name: 'a\u200bb', kind: 'coder' })).status).toBe(400);

      for (const path of [
        '/api/v1/agents/coder/..%2F..%2Fetc',
        '/api/v1/agents/coder/%2e%2e',
        '/api/v1/agents/..%2Fagents/x',
        '/api/v1/agents/coder/caf%C3%A9',
        '/api/v1/agents/coder/%00',
        `/api/v1/agents/coder/${'a'.repeat(5000)}`,
        '/api/v1/agents/Coder/alpha',
      ]) {
        const r = await raw(app, 'GET', path);
        expect(r.status, path).toBe(400);
        expect(JSON.parse(r.body).error.code).toBe('invalid_request');
        expect((await raw(app, 'DELETE', path)).status, path).toBe(400);
      }
      // Deeper paths are not agents at all.
      expect((await raw(app, 'GET', '/api/v1/agents/coder/alpha/../../x')).status).toBeGreaterThanOrEqual(400);
      expect(await storeKeys(app, 'agents')).toEqual([]);
      expect(await storeKeys(app, 'memory')).toEqual([]);
    });

    it('PATCH cannot rename, rejects unknown fields and validates like create', async () => {
      await post(FULL_AGENT);
      for (const [field, value] of [
        ['name', 'beta'],
        ['kind', 'reviewer'],
      ] as const) {
        const r = await call<ErrorBody>(app, 'PATCH', '/api/v1/agents/coder/alpha', { [field]: value });
        expect(r.status).toBe(400);
        expect(r.body.error.message).toContain(`${field} is immutable`);
        expect(r.body.error.details).toEqual([expect.objectContaining({ path: [field] })]);
      }
      for (const body of [{ tools: ['nope'] }, { createdAt: 'now' }, { url: '/x' }, { description: 5 }, [], 'null']) {
        const r = await call<ErrorBody>(app, 'PATCH', '/api/v1/agents/coder/alpha', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
      }
      expect((await call(app, 'PATCH', '/api/v1/agents/coder/alpha', '{')).status).toBe(400);
      const after = await call<Agent>(app, 'GET', '/api/v1/agents/coder/alpha');
      expect(after.body).toMatchObject({ ...FULL_AGENT });
      expect(await storeKeys(app, 'agents')).toEqual(['agent/coder/alpha']);
    });

    it('unsupported methods are 405 with Allow', async () => {
      const r = await call<ErrorBody>(app, 'PUT', '/api/v1/agents/coder/alpha', FULL_AGENT);
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, PATCH, DELETE');
      expect(r.body.error.code).toBe('method_not_allowed');
      expect((await call(app, 'DELETE', '/api/v1/agents')).status).toBe(405);
    });
  });

  describe('memory and conversations', () => {
    const MEMORY = [
      'conv/coder/alpha/c1/messages/0001',
      'conv/coder/alpha/c1/summary',
      'conv/coder/alpha/2f1c0b9e-8c1a-4d7e-9a51-0c2d3e4f5a6b/messages/0001',
      // Neighbours that share a string prefix but belong to other agents.
      'conv/coder/alpha-2/c1/messages/0001',
      'conv/coder-x/alpha/c1/messages/0001',
      'conv/reviewer/alpha/c9/messages/0001',
    ];

    beforeEach(async () => {
      for (const name of ['alpha', 'alpha-2']) expect((await post({ name, kind: 'coder' })).status).toBe(201);
      expect((await post({ name: 'alpha', kind: 'reviewer' })).status).toBe(201);
      await setMemory(app, MEMORY);
    });

    it('lists an agent’s conversations from its memory keys', async () => {
      const r = await call<{ agent: string; items: { id: string; keys: number }[] }>(app, 'GET', '/api/v1/conversations?agent=coder/alpha');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        agent: 'coder/alpha',
        items: [
          { id: '2f1c0b9e-8c1a-4d7e-9a51-0c2d3e4f5a6b', keys: 1 },
          { id: 'c1', keys: 2 },
        ],
      });
      expect((await call(app, 'GET', '/api/v1/conversations?agent=coder/alpha-2')).body).toEqual({
        agent: 'coder/alpha-2',
        items: [{ id: 'c1', keys: 1 }],
      });
    });

    it('conversation queries are validated; unknown agents are 404', async () => {
      for (const q of ['', '?agent=alpha', '?agent=coder/Alpha', '?agent=coder/alpha/c1', '?agent=../alpha', '?agent=coder/alpha&x=1']) {
        const r = await call<ErrorBody>(app, 'GET', `/api/v1/conversations${q}`);
        expect(r.status, q).toBe(400);
        expect(r.body.error.code).toBe('invalid_request');
      }
      const r = await call<ErrorBody>(app, 'GET', '/api/v1/conversations?agent=coder/nobody');
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    });

    it('deletes one conversation', async () => {
      expect((await call(app, 'DELETE', '/api/v1/conversations/coder/alpha/c1')).status).toBe(204);
      expect(await storeKeys(app, 'memory')).toEqual(MEMORY.filter((k) => !k.startsWith('conv/coder/alpha/c1/')).sort());
      const again = await call<ErrorBody>(app, 'DELETE', '/api/v1/conversations/coder/alpha/c1');
      expect(again.status).toBe(404);
      expect(again.body.error.message).toContain('no conversation c1');
      expect((await call(app, 'DELETE', '/api/v1/conversations/coder/nobody/c1')).status).toBe(404);
      for (const path of [
        '/api/v1/conversations/coder/alpha/..',
        '/api/v1/conversations/coder/alpha/%2e%2e',
        '/api/v1/conversations/coder/alpha/a%2Fb',
      ]) {
        expect((await raw(app, 'DELETE', path)).status, path).toBe(400);
      }
      expect((await storeKeys(app, 'memory')).length).toBe(MEMORY.length - 2);
    });

    it('deleting an agent deletes its memory and nothing else', async () => {
      expect((await call(app, 'DELETE', '/api/v1/agents/coder/alpha')).status).toBe(204);
      expect(await storeKeys(app, 'memory')).toEqual(MEMORY.filter((k) => !k.startsWith('conv/coder/alpha/')).sort());
      expect(await storeKeys(app, 'agents')).toEqual(['agent/coder/alpha-2', 'agent/reviewer/alpha']);
      expect((await call(app, 'GET', '/api/v1/conversations?agent=coder/alpha')).status).toBe(404);
    });
  });

  describe('corrupt records', () => {
    it('are reported, not crashed on; DELETE repairs them', async () => {
      await post({ name: 'good', kind: 'coder' });
      const agents = app.app.stores.open('agents');
      const enc = (s: string) => new TextEncoder().encode(s);
      await agents.set('agent/coder/broken', enc('{not json'));
      await agents.set('agent/coder/wrong', enc(JSON.stringify({ name: 'wrong', kind: 'coder', tools: ['nope'] })));
      await agents.set('agent/weird', enc('{}'));

      const get = await call<ErrorBody>(app, 'GET', '/api/v1/agents/coder/broken');
      expect(get.status).toBe(500);
      expect(get.body.error.code).toBe('corrupt_record');
      expect(get.body.error.message).toContain('agent/coder/broken');

      const page = await list();
      expect(page.status).toBe(200);
      expect(page.body.items.map((a) => a.name)).toEqual(['good']);
      expect(page.body.corrupt?.map((c) => c.key).sort()).toEqual(['agent/coder/broken', 'agent/coder/wrong', 'agent/weird']);

      expect((await call(app, 'PATCH', '/api/v1/agents/coder/wrong', { description: 'x' })).status).toBe(500);
      expect((await call(app, 'DELETE', '/api/v1/agents/coder/broken')).status).toBe(204);
      expect((await call(app, 'DELETE', '/api/v1/agents/coder/wrong')).status).toBe(204);
      expect((await list()).body.corrupt?.map((c) => c.key)).toEqual(['agent/weird']);
    });
  });

  it('/health is public and says authentication is off', async () => {
    const r = await call<{ status: string; auth: unknown }>(app, 'GET', '/health');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', auth: { enabled: false, keys: 0 } });
    expect(r.headers.get('x-edge-agents-auth')).toBe('off');
    const list = await call(app, 'GET', '/api/v1/agents');
    expect(list.headers.get('x-edge-agents-auth')).toBe('off');
    const spin = await fetch(`${app.url}/.well-known/spin/health`);
    expect(spin.status).toBe(200);
  });
});

describe('agents API with API keys', () => {
  const ADMIN = 'ea-admin-0123456789abcdef';
  const READER = 'ea-read-0123456789abcdef';
  const INVOKER = 'ea-invoke-0123456789abcdef';
  const DEV = 'dev-key';
  let app: TestApp;

  beforeAll(async () => {
    const keys = [
      `admin:sha256:${sha256(ADMIN)}`,
      `read:sha256:${sha256(READER).toUpperCase()}`,
      `# a comment line`,
      `read+invoke:sha256:${sha256(INVOKER)}`,
      `invoke:plain:${DEV}`,
    ].join('\n');
    app = await start([['api_keys', keys]]);
  });
  afterAll(async () => {
    await app?.close();
  });

  const as = (key: string | undefined, method: string, path: string, body?: unknown) =>
    call<Agent & ErrorBody>(app, method, path, body, key === undefined ? {} : { authorization: `Bearer ${key}` });

  it('without a key: 401 with WWW-Authenticate, before the body is looked at', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/agents'],
      ['POST', '/api/v1/agents'],
      ['GET', '/api/v1/agents/coder/alpha'],
      ['DELETE', '/api/v1/agents/coder/alpha'],
      ['GET', '/api/v1/conversations?agent=coder/alpha'],
      ['DELETE', '/api/v1/conversations/coder/alpha/c1'],
    ] as const) {
      const r = await as(undefined, method, path, method === 'POST' ? '{not json' : undefined);
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="edge-agents"/);
      expect(r.body.error.code).toBe('unauthorized');
      expect(r.headers.get('x-edge-agents-auth')).toBeNull();
    }
  });

  it('malformed headers and unknown keys: 401', async () => {
    for (const authorization of ['Basic YWRtaW46YWRtaW4=', 'Bearer', 'Bearer a b', ADMIN, `Token ${ADMIN}`]) {
      const r = await call<ErrorBody>(app, 'GET', '/api/v1/agents', undefined, { authorization });
      expect(r.status, authorization).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
    for (const key of ['wrong', `${ADMIN}x`, sha256(ADMIN), DEV.toUpperCase()]) {
      const r = await as(key, 'GET', '/api/v1/agents');
      expect(r.status, key).toBe(401);
      expect(r.body.error).toMatchObject({ code: 'unauthorized', message: 'unknown API key' });
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('scopes: read reads, invoke implies read, only admin writes', async () => {
    const created = await as(ADMIN, 'POST', '/api/v1/agents', { name: 'alpha', kind: 'coder' });
    expect(created.status).toBe(201);
    for (const key of [READER, INVOKER, DEV, ADMIN]) {
      expect((await as(key, 'GET', '/api/v1/agents')).status, key).toBe(200);
      expect((await as(key, 'GET', '/api/v1/agents/coder/alpha')).status, key).toBe(200);
      expect((await as(key, 'GET', '/api/v1/conversations?agent=coder/alpha')).status, key).toBe(200);
    }
    for (const key of [READER, INVOKER, DEV]) {
      for (const [method, path, body] of [
        ['POST', '/api/v1/agents', { name: 'beta', kind: 'coder' }],
        ['PATCH', '/api/v1/agents/coder/alpha', { description: 'x' }],
        ['DELETE', '/api/v1/agents/coder/alpha', undefined],
        ['DELETE', '/api/v1/conversations/coder/alpha/c1', undefined],
      ] as const) {
        const r = await as(key, method, path, body);
        expect(r.status, `${key} ${method} ${path}`).toBe(403);
        expect(r.body.error.code).toBe('forbidden');
        expect(r.body.error.message).toContain('admin');
        expect(r.headers.get('www-authenticate')).toContain('insufficient_scope');
      }
    }
    expect(await storeKeys(app, 'agents')).toEqual(['agent/coder/alpha']);
    expect((await as(ADMIN, 'PATCH', '/api/v1/agents/coder/alpha', { description: 'x' })).status).toBe(200);
    await setMemory(app, ['conv/coder/alpha/c1/m']);
    expect((await as(ADMIN, 'DELETE', '/api/v1/conversations/coder/alpha/c1')).status).toBe(204);
    expect((await as(ADMIN, 'DELETE', '/api/v1/agents/coder/alpha')).status).toBe(204);
    expect(await storeKeys(app, 'agents')).toEqual([]);
  });

  it('/health and the Spin health check stay public; /health reports the keys', async () => {
    const r = await as(undefined, 'GET', '/health');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', auth: { enabled: true, keys: 4 } });
    expect(r.headers.get('x-edge-agents-auth')).toBeNull();
    expect((await fetch(`${app.url}/.well-known/spin/health`)).status).toBe(200);
  });
});

describe('agents API with invalid api_keys', () => {
  const SECRET = 'sup3r-secret-key-value';
  let app: TestApp;
  beforeAll(async () => {
    app = await start([['api_keys', `admin:sha256:${sha256('ok')}, ${SECRET}`]]);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('fails closed with an operator message that does not reveal the key', async () => {
    const r = await call<ErrorBody>(app, 'GET', '/api/v1/agents', undefined, { authorization: `Bearer ${SECRET}` });
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('auth_misconfigured');
    expect(r.body.error.message).toContain('api_keys entry 2');
    expect(r.body.error.message).not.toContain(SECRET);
    const health = await call<{ status: string; auth: { enabled: boolean; error: string } }>(app, 'GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('degraded');
    expect(health.body.auth.enabled).toBe(true);
    expect(health.body.auth.error).toContain('entry 2');
    expect(JSON.stringify(health.body)).not.toContain(SECRET);
    // The guest logs the problem for the operator, without the key.
    const stderr = readFileSync(join(app.stateDir, 'logs', 'api_stderr.txt'), 'utf8');
    expect(stderr).toContain('api_keys entry 2');
    expect(stderr + app.output.join('\n')).not.toContain(SECRET);
  });
});
