/**
 * `llm-router`: the agents' only way to a model. OpenAI-compatible (`/v1/chat/completions`, `/v1/embeddings`,
 * `/v1/models`), local-first with cloud fallback and a built-in offline provider, with budgets, usage accounting
 * (`/api/v1/usage`), budget management (`/api/v1/budgets`) and provider health (`/api/v1/providers`).
 *
 * @module
 */
import { Hono, type Context } from 'hono';
import { requireScope, sha256Hex, type ApiKeysSource } from '../../../shared/http/auth.ts';
import { afterResponse, fire, warmUp } from '../../../shared/http/fire.ts';
import { variable } from '../../../shared/spin/variables.ts';
import { ConfigError, loadConfig, providerEnabled, PROVIDERS, type RouterConfig } from '../../../shared/llm/config.ts';
import { OFFLINE_MODEL, offlineChat, offlineChunks, offlineEmbedding } from '../../../shared/llm/offline.ts';
import { HEADER_AGENT, HEADER_STRATEGY, parseStrategy, routeChat, routeEmbeddings, type RouteContext } from '../../../shared/llm/router.ts';
import {
  BudgetSchema,
  Breakers,
  deleteBudget,
  getBudget,
  getUsage,
  latencyOf,
  listBudgets,
  openStore,
  periods,
  SCOPE,
  setBudget,
} from '../../../shared/llm/state.ts';
import {
  ChatCompletionRequestSchema,
  EmbeddingRequestSchema,
  encodeEmbeddingBase64,
  openAIError,
  sseEvent,
  zodIssuesMessage,
} from '../../../shared/protocol/openai.ts';
import type { z } from 'zod';

const app = new Hono();

// Model calls cost tokens (invoke); budgets change what others may spend (admin); the rest reads (read).
const apiKeys: ApiKeysSource = () => variable('api_keys');
const read = requireScope('read', apiKeys);
const invoke = requireScope('invoke', apiKeys);
const admin = requireScope('admin', apiKeys);

/** Usage/budget scopes: the calling agent (header) and the API key (by hash, never stored in clear). */
async function scopesOf(c: Context): Promise<string[] | Response> {
  const scopes: string[] = [];
  const agent = c.req.header(HEADER_AGENT);
  if (agent !== undefined) {
    if (!/^[A-Za-z0-9._:-]{1,128}$/.test(agent))
      return openAIError(400, `header ${HEADER_AGENT} must be 1-128 characters of [A-Za-z0-9._:-]`, { param: HEADER_AGENT });
    scopes.push(`agent:${agent}`);
  }
  const auth = c.req.header('authorization');
  const token = auth?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  if (token) scopes.push(`key:${(await sha256Hex(token)).slice(0, 16)}`);
  return scopes;
}

function config(): RouterConfig | Response {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError)
      return openAIError(500, `the router is misconfigured: ${err.message}`, { code: 'router_misconfigured' });
    throw err;
  }
}

/** Reads and parses a JSON body within the size limit; an OpenAI-style 4xx otherwise. */
async function parseBody<T>(c: Context, schema: z.ZodType<T>, limit: number): Promise<T | Response> {
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > limit)
    return openAIError(413, `request body is ${declared} bytes; the limit is ${limit}`, { code: 'request_too_large' });
  const text = await c.req.text();
  if (text.length > limit)
    return openAIError(413, `request body is larger than the limit of ${limit} bytes`, { code: 'request_too_large' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return openAIError(400, 'We could not parse the JSON body of your request.', { code: 'invalid_json' });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const { message, param } = zodIssuesMessage(parsed.error);
    return openAIError(400, message, { param, code: 'invalid_request' });
  }
  return parsed.data;
}

async function context(c: Context, cfg: RouterConfig): Promise<RouteContext | Response> {
  const strategy = parseStrategy(c.req.header(HEADER_STRATEGY), cfg.strategy);
  if (!strategy) return openAIError(400, `header ${HEADER_STRATEGY} must be local-first, cost or latency`, { param: HEADER_STRATEGY });
  const scopes = await scopesOf(c);
  if (scopes instanceof Response) return scopes;
  // NOTE: no `signal`: reading the incoming Request's `signal` in StarlingMonkey ends the event loop without a
  // response. A client that disconnects is handled by the host, which aborts the instance's outbound requests.
  return { config: cfg, kv: openStore(), scopes, strategy, defer: afterResponse };
}

/** An OpenAI endpoint: configuration, body validation and routing context, then the router. */
function openAIRoute<T>(schema: z.ZodType<T>, route: (req: T, ctx: RouteContext) => Promise<Response>) {
  return async (c: Context): Promise<Response> => {
    const cfg = config();
    if (cfg instanceof Response) return cfg;
    const req = await parseBody(c, schema, cfg.maxRequestBytes);
    if (req instanceof Response) return req;
    const ctx = await context(c, cfg);
    if (ctx instanceof Response) return ctx;
    return route(req, ctx);
  };
}

app.post('/v1/chat/completions', invoke, openAIRoute(ChatCompletionRequestSchema, routeChat));
app.post('/v1/embeddings', invoke, openAIRoute(EmbeddingRequestSchema, routeEmbeddings));

function models(cfg: RouterConfig) {
  const created = 1_700_000_000;
  const ids = new Map<string, string>();
  for (const alias of Object.keys(cfg.modelMap)) ids.set(alias, 'edge-agents');
  for (const candidates of Object.values(cfg.modelMap)) {
    for (const m of candidates) if (providerEnabled(cfg, m.provider)) ids.set(`${m.provider}/${m.model}`, m.provider);
  }
  ids.set(OFFLINE_MODEL, 'builtin');
  return [...ids].map(([id, owned_by]) => ({ id, object: 'model' as const, created, owned_by }));
}

app.get('/v1/models', read, (c) => {
  const cfg = config();
  if (cfg instanceof Response) return cfg;
  return c.json({ object: 'list', data: models(cfg) });
});

app.get('/v1/models/:id{.+}', read, (c) => {
  const cfg = config();
  if (cfg instanceof Response) return cfg;
  const model = models(cfg).find((m) => m.id === c.req.param('id'));
  return model
    ? c.json(model)
    : openAIError(404, `The model '${c.req.param('id')}' does not exist`, { code: 'model_not_found', param: 'model' });
});

// Usage: totals per scope for a day (YYYY-MM-DD) or month (YYYY-MM); all scopes when none is named.
app.get('/api/v1/usage', read, (c) => {
  const period = c.req.query('period') ?? periods().day;
  if (!/^\d{4}-\d{2}(-\d{2})?$/.test(period)) return openAIError(400, 'period must be YYYY-MM-DD or YYYY-MM', { param: 'period' });
  const scope = c.req.query('scope');
  if (scope !== undefined && !SCOPE.test(scope)) return openAIError(400, 'scope must be agent:<id> or key:<hash>', { param: 'scope' });
  const kv = openStore();
  const scopes =
    scope !== undefined
      ? [scope]
      : kv
          .keys()
          .filter((k) => k.startsWith(`usage/${period}/`))
          .map((k) => k.slice(`usage/${period}/`.length))
          .sort();
  return c.json({ period, items: scopes.map((s) => ({ scope: s, usage: getUsage(kv, s, period), budget: getBudget(kv, s) ?? null })) });
});

app.get('/api/v1/budgets', read, (c) => c.json({ items: listBudgets(openStore()) }));

function scopeParam(c: Context): string | Response {
  const scope = decodeURIComponent(c.req.param('scope') ?? '');
  return SCOPE.test(scope) ? scope : openAIError(400, 'scope must be agent:<id> or key:<hash>', { param: 'scope' });
}

app.get('/api/v1/budgets/:scope', read, (c) => {
  const scope = scopeParam(c);
  if (scope instanceof Response) return scope;
  const budget = getBudget(openStore(), scope);
  return budget ? c.json({ scope, budget }) : openAIError(404, `no budget for ${scope}`, { code: 'not_found' });
});

app.put('/api/v1/budgets/:scope', admin, async (c) => {
  const scope = scopeParam(c);
  if (scope instanceof Response) return scope;
  const budget = await parseBody(c, BudgetSchema, 64 * 1024);
  if (budget instanceof Response) return budget;
  if (Object.keys(budget).length === 0)
    return openAIError(400, 'a budget needs at least one of dailyTokens, monthlyTokens, dailyCost, monthlyCost', {
      code: 'invalid_request',
    });
  setBudget(openStore(), scope, budget);
  return c.json({ scope, budget });
});

app.delete('/api/v1/budgets/:scope', admin, (c) => {
  const scope = scopeParam(c);
  if (scope instanceof Response) return scope;
  return deleteBudget(openStore(), scope) ? c.body(null, 204) : openAIError(404, `no budget for ${scope}`, { code: 'not_found' });
});

app.get('/api/v1/providers', read, (c) => {
  const cfg = config();
  if (cfg instanceof Response) return cfg;
  const kv = openStore();
  const breakers = new Breakers(kv, cfg.breakerFailures, cfg.breakerCooldownMs);
  const urls: Record<string, string | undefined> = { local: cfg.localUrl, cloud: cfg.cloudUrl, builtin: undefined };
  return c.json({
    strategy: cfg.strategy,
    providers: PROVIDERS.map((p) => ({
      provider: p,
      enabled: providerEnabled(cfg, p),
      url: urls[p] ?? null,
      breaker: urls[p] ? breakers.get(urls[p]!) : null,
    })),
    models: Object.entries(cfg.modelMap).map(([alias, candidates]) => ({
      alias,
      candidates: candidates.map((m) => ({ ...m, latencyMs: latencyOf(kv, `${m.provider}/${m.model}`) ?? null })),
    })),
  });
});

app.notFound((c) => openAIError(404, `no route for ${c.req.method} ${new URL(c.req.url).pathname}`, { code: 'not_found' }));
app.onError((err) => {
  console.error(`llm-router: ${err.stack ?? err.message}`);
  return openAIError(500, 'internal error in the router', { code: 'internal_error' });
});

warmUp(() => {
  const chat = ChatCompletionRequestSchema.parse({
    model: 'chat',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'What is Spin?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c', content: 'Spin runs WebAssembly components.' },
    ],
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    stream: true,
    stream_options: { include_usage: true },
  });
  EmbeddingRequestSchema.parse({ model: 'embed', input: ['a', 'b'] });
  const bad = ChatCompletionRequestSchema.safeParse({ model: 'chat', messages: 'x' });
  if (!bad.success) zodIssuesMessage(bad.error);
  offlineChunks(offlineChat(chat).content);
  encodeEmbeddingBase64(offlineEmbedding('warm up', 8));
  sseEvent({ ok: true });
  void openAIError(404, 'warm-up');
  void app.fetch(new Request('http://warm.up/no-such-route'));
});

fire(app);
