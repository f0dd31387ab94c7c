/**
 * The dashboard's form validation (components/ui/app/validate.ts) against the API's own rules: the browser does not
 * bundle zod, so each case here is checked both ways — the form accepts exactly what `CreateAgentSchema` accepts,
 * and puts the message on the field the server's issue path names.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, errorFromBody, issuesOf } from '../../components/ui/app/api.ts';
import { parseRoute, routeUrl, type Route } from '../../components/ui/app/routes.ts';
import * as client from '../../components/ui/app/validate.ts';
import { CONVERSATION_ID, CreateAgentSchema, LIMITS, SLUG, TOOLS } from '../../shared/protocol/agents.ts';

const base = (): client.AgentDraft => ({ ...client.emptyAgentDraft('coder'), name: 'ada' });
const skill = (over: Partial<client.SkillDraft> = {}): client.SkillDraft => ({
  id: 'ts',
  name: 'TypeScript',
  description: '',
  tags: '',
  ...over,
});

/** Drafts the form may see: valid ones and each rule broken once. */
const CASES: [string, client.AgentDraft][] = [
  ['minimal', base()],
  [
    'full',
    {
      ...base(),
      description: 'd',
      instructions: 'Be brief.',
      tools: ['remember', 'recall'],
      skills: [skill({ tags: 'a, b' })],
      dailyTokens: '10',
      monthlyTokens: '300',
    },
  ],
  ['longest name', { ...base(), name: 'a'.repeat(64) }],
  ['name too long', { ...base(), name: 'a'.repeat(65) }],
  ['name with capitals', { ...base(), name: 'Ada' }],
  ['name with a space', { ...base(), name: 'ada l' }],
  ['name ending in a hyphen', { ...base(), name: 'ada-' }],
  ['empty name', { ...base(), name: '' }],
  ['empty kind', { ...base(), kind: '' }],
  ['description at the limit', { ...base(), description: 'x'.repeat(LIMITS.description) }],
  ['description too long', { ...base(), description: 'x'.repeat(LIMITS.description + 1) }],
  ['model alias', { ...base(), model: 'local/llama3.1:8b' }],
  ['model with a space', { ...base(), model: 'my model' }],
  ['empty model', { ...base(), model: '' }],
  ['instructions of 32 KiB', { ...base(), instructions: 'x'.repeat(LIMITS.instructionsBytes) }],
  ['instructions over 32 KiB in UTF-8 only', { ...base(), instructions: 'é'.repeat(LIMITS.instructionsBytes / 2 + 1) }],
  ['unknown tool', { ...base(), tools: ['fly'] }],
  ['duplicate tool', { ...base(), tools: ['recall', 'recall'] }],
  ['skill without id', { ...base(), skills: [skill({ id: '' })] }],
  ['skill id not a slug', { ...base(), skills: [skill({ id: 'Type Script' })] }],
  ['duplicate skill ids', { ...base(), skills: [skill(), skill({ name: 'Other' })] }],
  ['skill without name', { ...base(), skills: [skill({ name: '' })] }],
  ['skill name too long', { ...base(), skills: [skill({ name: 'n'.repeat(129) })] }],
  ['skill name with a tab', { ...base(), skills: [skill({ name: 'a\tb' })] }],
  ['too many tags', { ...base(), skills: [skill({ tags: Array.from({ length: 33 }, (_, i) => `t${i}`).join(',') })] }],
  ['tag too long', { ...base(), skills: [skill({ tags: 't'.repeat(129) })] }],
  ['too many skills', { ...base(), skills: Array.from({ length: 65 }, (_, i) => skill({ id: `s${i}` })) }],
];

/** Drafts whose budget text the server never sees as such (the form turns text into numbers or refuses it). */
const BUDGET_CASES: [string, string, boolean][] = [
  ['10', 'budget.dailyTokens', true],
  ['', 'budget.dailyTokens', true],
  ['0', 'budget.dailyTokens', false],
  ['-5', 'budget.dailyTokens', false],
  ['1.5', 'budget.dailyTokens', false],
  ['lots', 'budget.dailyTokens', false],
  ['99999999999999999999', 'budget.dailyTokens', false],
];

describe('agent form validation', () => {
  it('uses the same constants as the API', () => {
    expect(client.SLUG.source).toBe(SLUG.source);
    expect(client.CONVERSATION_ID.source).toBe(CONVERSATION_ID.source);
    expect([...client.TOOLS]).toEqual([...TOOLS]);
    for (const k of ['description', 'instructionsBytes', 'skills', 'tags', 'shortText'] as const) expect(client.LIMITS[k]).toBe(LIMITS[k]);
  });

  it.each(CASES)('agrees with CreateAgentSchema: %s', (_, draft) => {
    const { errors, body } = client.validateAgent(draft);
    // What the form would send had it not checked: the same fields, budget numbers as typed.
    const raw = {
      name: draft.name,
      kind: draft.kind,
      description: draft.description,
      model: draft.model,
      instructions: draft.instructions,
      tools: draft.tools,
      skills: draft.skills.map((s) => ({ id: s.id, name: s.name, description: s.description, tags: client.splitTags(s.tags) })),
    };
    const server = CreateAgentSchema.safeParse(body ?? raw);
    expect(body !== undefined, JSON.stringify(errors)).toBe(server.success);
    if (!server.success) {
      // The form flags (at least) the field of the server's first issue, or its parent list.
      const key = client.fieldKey(server.error.issues[0]!.path as (string | number)[]);
      const keys = Object.keys(errors);
      expect(
        keys.some((k) => k === key || key.startsWith(`${k}.`) || k.startsWith(`${key}.`)),
        `${key} in ${keys.join(', ')}`,
      ).toBe(true);
    }
  });

  it.each(BUDGET_CASES)('budget %j', (value, key, ok) => {
    const { errors, body } = client.validateAgent({ ...base(), dailyTokens: value });
    expect(body !== undefined).toBe(ok);
    if (!ok) expect(errors[key]).toMatch(/positive whole number/);
    if (body) expect(CreateAgentSchema.safeParse(body).success).toBe(true);
  });

  it('removes an emptied budget when editing, and sends none when creating', () => {
    expect(client.validateAgent(base(), true).body?.budget).toBeNull();
    expect(client.validateAgent(base(), false).body).not.toHaveProperty('budget');
  });

  it('round-trips a record through the form', () => {
    const record = CreateAgentSchema.parse({
      name: 'ada',
      kind: 'coder',
      tools: ['recall'],
      skills: [{ id: 'ts', name: 'TS', tags: ['a', 'b'] }],
      budget: { dailyTokens: 5 },
    });
    const { body } = client.validateAgent(client.draftFromAgent(record));
    expect(CreateAgentSchema.parse(body)).toEqual(record);
  });

  it('maps server issues onto fields', () => {
    expect(
      client.fieldErrorsFromIssues([
        { path: ['name'], message: 'first' },
        { path: ['name'], message: 'second' },
        { path: ['skills', 0, 'id'], message: 'bad id' },
      ]),
    ).toEqual({ name: 'first', 'skills.0.id': 'bad id' });
  });
});

describe('other forms', () => {
  it('checks chat messages', () => {
    expect(client.validateMessage('  ')).toMatch(/Type a message/);
    expect(client.validateMessage('x'.repeat(32 * 1024 + 1))).toMatch(/limited/);
    expect(client.validateMessage('hi')).toBeUndefined();
  });

  it('checks searches, metadata filters included', () => {
    expect(client.validateSearch({ query: 'q', mode: 'hybrid', topK: '5', filter: '' }).body).toEqual({
      query: 'q',
      mode: 'hybrid',
      topK: 5,
    });
    expect(client.validateSearch({ query: 'q', mode: 'keyword', topK: '3', filter: '{"tag":"ops"}' }).body?.filter).toEqual({ tag: 'ops' });
    const bad = client.validateSearch({ query: ' ', mode: 'fuzzy', topK: '0', filter: '[1]' });
    expect(Object.keys(bad.errors).sort()).toEqual(['filter', 'mode', 'query', 'topK']);
    expect(client.validateSearch({ query: 'q', mode: 'hybrid', topK: '51', filter: '{' }).errors).toMatchObject({
      topK: expect.stringMatching(/1 to 50/),
      filter: expect.stringMatching(/not valid JSON/),
    });
  });

  it('checks documents and collection names', () => {
    expect(client.validateDocument({ title: '', content: '', metadata: '' }).errors.content).toMatch(/no content/);
    expect(client.validateDocument({ title: ' t ', content: 'c', metadata: '{"a":1}' }).body).toEqual({
      title: 't',
      content: 'c',
      metadata: { a: 1 },
    });
    expect(client.validateDocument({ title: '', content: 'c', metadata: '"x"' }).errors.metadata).toMatch(/JSON object/);
    expect(client.validateCollection('ops-notes')).toBeUndefined();
    expect(client.validateCollection('Ops Notes')).toMatch(/slug/);
  });
});

describe('API errors', () => {
  it('reads the platform’s error body, the router’s OpenAI-style one, and anything else', () => {
    const platform = errorFromBody(
      400,
      'Bad Request',
      JSON.stringify({
        error: { code: 'invalid_request', message: 'bad', details: [{ path: ['name'], message: 'm', code: 'custom' }, 'junk'] },
      }),
    );
    expect(platform).toBeInstanceOf(ApiError);
    expect([platform.status, platform.code, platform.message]).toEqual([400, 'invalid_request', 'bad']);
    expect(platform.issues).toEqual([{ path: ['name'], message: 'm' }]);
    const router = errorFromBody(
      429,
      '',
      JSON.stringify({ error: { message: 'budget exhausted', type: 'insufficient_quota', code: null } }),
    );
    expect([router.code, router.message]).toEqual(['insufficient_quota', 'budget exhausted']);
    const html = errorFromBody(502, 'Bad Gateway', '<html>upstream down</html>');
    expect([html.code, html.message]).toEqual(['http_502', '<html>upstream down</html>']);
    expect(errorFromBody(500, 'Internal Server Error', '').message).toBe('Internal Server Error');
    expect(issuesOf('nope')).toEqual([]);
  });
});

describe('routes', () => {
  const routes: Route[] = [
    { page: 'agents' },
    { page: 'agents', kind: 'coder', skill: 'code' },
    { page: 'agent-new' },
    { page: 'agent-edit', kind: 'coder', name: 'ada' },
    { page: 'chat', kind: 'coder', name: 'ada' },
    { page: 'chat', kind: 'coder', name: 'ada', conversation: 'c-1' },
    { page: 'knowledge' },
    { page: 'knowledge', collection: 'ops notes' },
    { page: 'document', collection: 'ops', id: 'a/b' },
    { page: 'workflows' },
    { page: 'run', id: 'abc' },
    { page: 'platform' },
  ];

  it.each(routes.map((r) => [routeUrl(r), r] as const))('%s round-trips', (url, route) => {
    const u = new URL(url, 'http://x');
    expect(parseRoute(u.pathname, u.search)).toEqual(route);
  });

  it('treats the mount itself as the agents page and anything unknown as not found', () => {
    expect(parseRoute('/ui/')).toEqual({ page: 'agents' });
    expect(parseRoute('/ui/nope')).toEqual({ page: 'not-found', path: '/ui/nope' });
    expect(parseRoute('/ui/agents/coder/ada/other')).toEqual({ page: 'not-found', path: '/ui/agents/coder/ada/other' });
    expect(parseRoute('/ui/knowledge/%E0%A4%A')).toEqual({ page: 'not-found', path: '/ui/knowledge/%E0%A4%A' });
  });
});
