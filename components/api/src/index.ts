/**
 * `api`: the platform's REST API: the agent registry (`/api/v1/agents`), the agents' conversations
 * (`/api/v1/conversations`) and `/health`.
 *
 * Everything but `/health` needs a bearer API key from the `api_keys` variable (see `shared/http/auth.ts`):
 * `read` to list and get, `admin` to create, change and delete. Errors are `{ "error": { code, message, details? } }`.
 *
 * NOTE: the app is built by {@link buildApp} from injected stores and key source, so initialisation can warm up the
 * real routes against in-memory stores (host calls are not allowed then) before the real app is wired to Spin.
 *
 * @module
 */
import { Hono, type Context } from 'hono';
import { AgentRegistry, memoryKv, type RegistryStores } from '../../../shared/agents/registry.ts';
import { COMPONENTS, VERSION } from '../../../shared/build-info.ts';
import { AUTH_HEADER, authStatus, requireScope, type ApiKeysSource, type AuthEnv } from '../../../shared/http/auth.ts';
import { queryParams, readJsonBody, validate } from '../../../shared/http/body.ts';
import { errorResponse, HttpError, notFound, onError } from '../../../shared/http/errors.ts';
import { fire, warmUp } from '../../../shared/http/fire.ts';
import {
  AgentListQuerySchema,
  ConversationIdSchema,
  ConversationListQuerySchema,
  CreateAgentSchema,
  PatchAgentSchema,
  slug,
} from '../../../shared/protocol/agents.ts';
import { describeSpinError } from '../../../shared/spin/errors.ts';
import { KeyValue } from '../../../shared/spin/key-value.ts';
import { variable } from '../../../shared/spin/variables.ts';
import { z } from 'zod';
import { lazy } from '../../../shared/lazy.ts';

/** Largest accepted JSON body (an agent with 32 KiB of instructions and 64 skills fits comfortably). */
export const MAX_BODY_BYTES = 256 * 1024;

interface Deps {
  stores: RegistryStores;
  apiKeys: ApiKeysSource;
  /** Whether the `agents` store answers, for `/health`. */
  probeKeyValue(): { status: 'ok' } | { status: 'error'; error: string };
}

const PathSchema = z.strictObject({ kind: slug('kind'), name: slug('name') });
const ConversationPathSchema = z.strictObject({ kind: slug('kind'), name: slug('name'), conversationId: ConversationIdSchema });

/** The agent path parameters, validated (Hono has already percent-decoded them, so `..%2F` arrives as `../`). */
function agentPath(c: Context): { kind: string; name: string } {
  return validate(PathSchema, { kind: c.req.param('kind'), name: c.req.param('name') }, 'path');
}

function agentNotFound(kind: string, name: string): HttpError {
  return new HttpError(404, 'not_found', `no agent ${kind}/${name}`);
}

function methodNotAllowed(allow: string) {
  return (c: Context) => {
    // Rendered here rather than thrown: onError builds a fresh response, which would drop the Allow header.
    const res = new HttpError(405, 'method_not_allowed', `${c.req.method} is not allowed here; allowed: ${allow}`).getResponse();
    res.headers.set('allow', allow);
    return res;
  };
}

/** The app over the given dependencies. */
export function buildApp(deps: Deps): Hono<AuthEnv> {
  const registry = new AgentRegistry(deps.stores);
  const read = requireScope('read', deps.apiKeys);
  const admin = requireScope('admin', deps.apiKeys);
  // Spin routes `/health` with and without a trailing slash, and so does this app for every route.
  const app = new Hono<AuthEnv>({ strict: false });

  app.get('/health', (c) => {
    const kv = deps.probeKeyValue();
    const auth = authStatus(deps.apiKeys);
    const healthy = kv.status === 'ok' && auth.error === undefined;
    if (!auth.enabled) c.header(AUTH_HEADER, 'off');
    return c.json(
      { status: healthy ? 'ok' : 'degraded', version: VERSION, components: COMPONENTS, auth, checks: { keyValue: kv } },
      healthy ? 200 : 503,
    );
  });

  app.post('/api/v1/agents', admin, async (c) => {
    const input = validate(CreateAgentSchema, await readJsonBody(c.req.raw, MAX_BODY_BYTES), 'agent');
    const agent = registry.create(input);
    c.header('location', `/api/v1/agents/${agent.kind}/${agent.name}`);
    return c.json(agent, 201);
  });

  app.get('/api/v1/agents', read, (c) => c.json(registry.list(validate(AgentListQuerySchema, queryParams(c.req.url), 'query'))));
  app.all('/api/v1/agents', methodNotAllowed('GET, POST'));

  app.get('/api/v1/agents/:kind/:name', read, (c) => {
    const { kind, name } = agentPath(c);
    const agent = registry.get(kind, name);
    if (!agent) throw agentNotFound(kind, name);
    return c.json(agent);
  });

  app.patch('/api/v1/agents/:kind/:name', admin, async (c) => {
    const { kind, name } = agentPath(c);
    const patch = validate(PatchAgentSchema, await readJsonBody(c.req.raw, MAX_BODY_BYTES), 'patch');
    const agent = registry.patch(kind, name, patch);
    if (!agent) throw agentNotFound(kind, name);
    return c.json(agent);
  });

  app.delete('/api/v1/agents/:kind/:name', admin, (c) => {
    const { kind, name } = agentPath(c);
    if (!registry.delete(kind, name)) throw agentNotFound(kind, name);
    return c.body(null, 204);
  });
  app.all('/api/v1/agents/:kind/:name', methodNotAllowed('GET, PATCH, DELETE'));

  app.get('/api/v1/conversations', read, (c) => {
    const { agent } = validate(ConversationListQuerySchema, queryParams(c.req.url), 'query');
    const items = registry.conversations(agent.kind, agent.name);
    if (!items) throw agentNotFound(agent.kind, agent.name);
    return c.json({ agent: `${agent.kind}/${agent.name}`, items });
  });
  app.all('/api/v1/conversations', methodNotAllowed('GET'));

  app.delete('/api/v1/conversations/:kind/:name/:conversationId', admin, (c) => {
    const { kind, name, conversationId } = validate(
      ConversationPathSchema,
      { kind: c.req.param('kind'), name: c.req.param('name'), conversationId: c.req.param('conversationId') },
      'path',
    );
    const deleted = registry.deleteConversation(kind, name, conversationId);
    if (deleted === undefined) throw agentNotFound(kind, name);
    if (deleted === 0) throw new HttpError(404, 'not_found', `agent ${kind}/${name} has no conversation ${conversationId}`);
    return c.body(null, 204);
  });
  app.all('/api/v1/conversations/:kind/:name/:conversationId', methodNotAllowed('DELETE'));

  // Requests for agent kinds no component serves land here (the `/agents/...` catch-all route).
  app.all('/agents/:kind/*', (c) =>
    errorResponse(
      404,
      'not_found',
      `no agent kind '${c.req.param('kind')}' on this platform (kinds are components; see scripts/new-agent.ts)`,
    ),
  );
  app.all('/agents/:kind', (c) => errorResponse(404, 'not_found', `no agent kind '${c.req.param('kind')}' on this platform`));

  app.notFound(notFound);
  app.onError(onError);
  return app;
}

// Host calls happen inside handlers only: at initialisation (Wizer) they are not available.
const app = buildApp({
  stores: { agents: lazy(() => KeyValue.open('agents')), memory: lazy(() => KeyValue.open('memory')) },
  apiKeys: () => variable('api_keys'),
  probeKeyValue: () => {
    try {
      KeyValue.open('agents').exists('health-probe');
      return { status: 'ok' };
    } catch (err) {
      return { status: 'error', error: describeSpinError(err) };
    }
  },
});

warmUp(() => {
  // The same routes over in-memory stores with authentication off, so the handlers, zod schemas, registry and error
  // rendering are compiled into the snapshot. The calls run in sequence (create before read); every promise
  // settles while initialisation runs, since no step waits on the host.
  const stores = { agents: lazy(() => memoryKv()), memory: lazy(() => memoryKv([['conv/coder/warm/c1/m1', '{}']])) };
  const warm = buildApp({ stores, apiKeys: () => '', probeKeyValue: () => ({ status: 'ok' }) });
  const steps: [string, string, unknown?][] = [
    [
      'POST',
      '/api/v1/agents',
      {
        name: 'warm',
        kind: 'coder',
        description: 'Warm-up agent',
        instructions: 'Be brief.',
        skills: [{ id: 'ts', name: 'TypeScript', tags: ['code'], examples: ['Fix this'] }],
        tools: ['execute_code', 'recall'],
        budget: { dailyTokens: 1000 },
        peers: [{ name: 'reviewer', cardUrl: 'https://example.com/.well-known/agent-card.json' }],
      },
    ],
    ['POST', '/api/v1/agents', { name: 'Bad Name', kind: 'coder', tools: ['nope'], extra: 1 }],
    ['POST', '/api/v1/agents', { name: 'warm', kind: 'coder' }],
    ['GET', '/api/v1/agents?kind=coder&skill=code&limit=1'],
    ['GET', '/api/v1/agents?cursor=%25'],
    ['GET', '/api/v1/agents/coder/warm'],
    ['GET', '/api/v1/agents/coder/..%2Fx'],
    ['PATCH', '/api/v1/agents/coder/warm', { description: 'Warmer', budget: null }],
    ['PATCH', '/api/v1/agents/coder/warm', { name: 'other' }],
    ['GET', '/api/v1/conversations?agent=coder/warm'],
    ['DELETE', '/api/v1/conversations/coder/warm/c1'],
    ['DELETE', '/api/v1/agents/coder/warm'],
    ['GET', '/api/v1/agents/coder/warm'],
    ['GET', '/health'],
  ];
  // And authentication on: missing, malformed, unknown and under-scoped keys (`crypto.subtle` is in the engine).
  const locked = buildApp({
    stores,
    apiKeys: () => `admin:sha256:${'0'.repeat(64)}\nread:plain:warm`,
    probeKeyValue: () => ({ status: 'ok' }),
  });
  const authSteps: [string, string | undefined][] = [
    ['GET', undefined],
    ['GET', 'Basic d2FybQ=='],
    ['GET', 'Bearer unknown'],
    ['GET', 'Bearer warm'],
    ['POST', 'Bearer warm'],
  ];
  void (async () => {
    for (const [method, path, body] of steps)
      await warm.fetch(new Request(`http://warm.up${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) }));
    for (const [method, authorization] of authSteps)
      await locked.fetch(new Request('http://warm.up/api/v1/agents', { method, headers: authorization ? { authorization } : {} }));
  })();
  // The real app's router compiles its matchers on the first request: do that now, on a route without host calls.
  void app.fetch(new Request('http://warm.up/no-such-route'));
});

fire(app);
