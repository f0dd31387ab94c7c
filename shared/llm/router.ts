/**
 * Routing one chat or embeddings request: resolve the model to candidates, order them by strategy, skip what the
 * circuit breaker, the budget or the context window rule out, try the rest with retries, and fall back to the
 * built-in offline provider when every candidate failed. Usage is charged after the call with the provider's
 * reported token counts (estimated when it reports none).
 *
 * @module
 */
import type { KeyValue } from '../spin/key-value.ts';
import { approxTokenCount, offlineChat, offlineChunks, offlineEmbedding, OFFLINE_EMBEDDING_DIMENSIONS, OFFLINE_MODEL } from './offline.ts';
import {
  encodeEmbeddingBase64,
  openAIError,
  parseSSE,
  sseEvent,
  type ChatCompletionRequest,
  type EmbeddingRequest,
} from '../protocol/openai.ts';
import { isFree, price, providerEnabled, STRATEGIES, type Candidate, type RouterConfig, type Strategy } from './config.ts';
import { Breakers, cacheGet, cachePut, charge, exhausted, latencyOf, recordLatency } from './state.ts';
import { backoffMs, post, sleep, targetFor, UpstreamError, type Target } from './upstream.ts';

/** Response headers that say who answered. */
export const HEADER_PROVIDER = 'x-edge-agents-provider';
export const HEADER_MODEL = 'x-edge-agents-model';
export const HEADER_ATTEMPTS = 'x-edge-agents-attempts';
export const HEADER_CACHE = 'x-edge-agents-cache';
/** Request headers: the calling agent (a usage/budget scope) and a per-request strategy. */
export const HEADER_AGENT = 'x-agent-id';
export const HEADER_STRATEGY = 'x-route-strategy';

export interface RouteContext {
  config: RouterConfig;
  kv: KeyValue;
  /** Usage and budget scopes of this request (`agent:<id>`, `key:<hash>`). */
  scopes: string[];
  strategy: Strategy;
  /** Aborted when the client goes away. */
  signal?: AbortSignal | undefined;
  /** Runs bookkeeping once the response is on its way (`afterResponse`); without it the work runs at once. */
  defer?: ((work: () => void) => void) | undefined;
}

const now = (work: () => void) => work();

/** A request's model resolved: candidates in configured order, or the offline provider alone. */
export type Resolved = { kind: 'candidates'; alias: string; candidates: Candidate[] } | { kind: 'builtin' } | { kind: 'unknown' };

export function resolveModel(config: RouterConfig, model: string): Resolved {
  if (model === OFFLINE_MODEL) return { kind: 'builtin' };
  const alias = config.modelMap[model];
  if (alias) return { kind: 'candidates', alias: model, candidates: alias };
  const slash = model.indexOf('/');
  const provider = slash > 0 ? model.slice(0, slash) : '';
  if ((provider === 'local' || provider === 'cloud') && slash < model.length - 1) {
    // An explicit provider: use the map's entry for that model if there is one (prices, context), else defaults.
    const rest = model.slice(slash + 1);
    const known = Object.values(config.modelMap)
      .flat()
      .find((c) => c.provider === provider && c.model === rest);
    return {
      kind: 'candidates',
      alias: model,
      candidates: [known ?? { provider, model: rest, inputPer1k: 0, outputPer1k: 0, contextWindow: 8192 }],
    };
  }
  return { kind: 'unknown' };
}

/** The OpenAI-style 404 for a model that is neither an alias nor `<provider>/<model>`. */
function unknownModel(config: RouterConfig, model: string): Response {
  const aliases = Object.keys(config.modelMap).join(', ');
  return openAIError(
    404,
    `The model '${model}' does not exist: use an alias (${aliases}), local/<model>, cloud/<model> or ${OFFLINE_MODEL}`,
    {
      code: 'model_not_found',
      param: 'model',
    },
  );
}

export function parseStrategy(value: string | null | undefined, fallback: Strategy): Strategy | undefined {
  if (!value) return fallback;
  return (STRATEGIES as readonly string[]).includes(value) ? (value as Strategy) : undefined;
}

/** Orders candidates for a strategy. Stable: ties keep the configured order. */
export function order(
  candidates: Candidate[],
  strategy: Strategy,
  kv: KeyValue,
  promptTokens: number,
  completionTokens: number,
): Candidate[] {
  const indexed = candidates.map((c, i) => ({ c, i }));
  const key = (x: { c: Candidate; i: number }): number => {
    switch (strategy) {
      case 'local-first':
        return x.c.provider === 'local' ? 0 : 1;
      case 'cost':
        return price(x.c, promptTokens, completionTokens);
      case 'latency':
        // Unmeasured targets go first, so every target gets measured.
        return latencyOf(kv, `${x.c.provider}/${x.c.model}`) ?? -1;
    }
  };
  return indexed.sort((a, b) => key(a) - key(b) || a.i - b.i).map((x) => x.c);
}

interface Attempt {
  target: string;
  outcome: string;
}

function attemptsHeader(attempts: Attempt[]): string {
  return attempts.map((a) => `${a.target}=${a.outcome}`).join(', ');
}

/** Estimated prompt tokens of a chat request (messages, tool definitions). */
export function promptTokens(req: ChatCompletionRequest): number {
  let n = 3;
  for (const m of req.messages) {
    n += 3;
    const content = (m as { content?: unknown }).content;
    n += approxTokenCount(typeof content === 'string' ? content : content == null ? '' : JSON.stringify(content));
    const calls = (m as { tool_calls?: unknown }).tool_calls;
    if (calls) n += approxTokenCount(JSON.stringify(calls));
  }
  if (req.tools) n += approxTokenCount(JSON.stringify(req.tools));
  return n;
}

function maxTokens(req: ChatCompletionRequest): number {
  return req.max_completion_tokens ?? req.max_tokens ?? 256;
}

async function cacheKey(value: unknown): Promise<string> {
  const data = new TextEncoder().encode(JSON.stringify(value));
  const digest = await crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

interface Plan {
  targets: Target[];
  attempts: Attempt[];
  /** Every candidate was a paid one skipped for budget. */
  budgetBlocked: string | undefined;
}

/** Filters and orders the candidates into callable targets, recording why the others were skipped. */
function plan(ctx: RouteContext, candidates: Candidate[], prompt: number, completion: number): Plan {
  const { config, kv } = ctx;
  const breakers = new Breakers(kv, config.breakerFailures, config.breakerCooldownMs);
  const attempts: Attempt[] = [];
  const targets: Target[] = [];
  const budget = exhausted(kv, ctx.scopes);
  let skippedForBudget = 0;
  for (const c of order(candidates, ctx.strategy, kv, prompt, completion)) {
    const name = `${c.provider}/${c.model}`;
    const target = providerEnabled(config, c.provider) ? targetFor(config, c) : undefined;
    if (!target) {
      attempts.push({ target: name, outcome: 'not-configured' });
    } else if (budget !== undefined && !isFree(c)) {
      skippedForBudget++;
      attempts.push({ target: name, outcome: 'budget' });
    } else if (prompt + completion > c.contextWindow) {
      attempts.push({ target: name, outcome: 'context' });
    } else if (!breakers.allow(target.baseUrl)) {
      attempts.push({ target: name, outcome: 'circuit-open' });
    } else {
      targets.push(target);
    }
  }
  const freeLeft = candidates.some((c) => isFree(c) && providerEnabled(config, c.provider));
  return { targets, attempts, budgetBlocked: budget !== undefined && skippedForBudget > 0 && !freeLeft ? budget : undefined };
}

/**
 * Tries targets in order with retries; resolves with the first success or undefined when all failed.
 * `call` performs one attempt.
 */
async function tryTargets<T>(
  ctx: RouteContext,
  p: Plan,
  call: (target: Target) => Promise<T>,
): Promise<{ target: Target; value: T; latencyMs: number } | undefined> {
  const breakers = new Breakers(ctx.kv, ctx.config.breakerFailures, ctx.config.breakerCooldownMs);
  for (const target of p.targets) {
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      try {
        const value = await call(target);
        const latencyMs = Date.now() - started;
        (ctx.defer ?? now)(() => {
          breakers.success(target.baseUrl);
          recordLatency(ctx.kv, target.name, latencyMs);
        });
        p.attempts.push({ target: target.name, outcome: attempt === 0 ? 'ok' : `ok-after-${attempt}-retries` });
        return { target, value, latencyMs };
      } catch (err) {
        if (ctx.signal?.aborted) throw err;
        const e = err instanceof UpstreamError ? err : new UpstreamError('connection', String(err));
        if (e.providerFault) breakers.failure(target.baseUrl, e.message);
        if (e.retryable && attempt < ctx.config.maxRetries) {
          await sleep(backoffMs(attempt, ctx.config.retryBaseMs, e.retryAfterMs));
          continue;
        }
        p.attempts.push({ target: target.name, outcome: e.status ? `${e.kind}-${e.status}` : e.kind });
        break;
      }
    }
  }
  return undefined;
}

function routeHeaders(provider: string, model: string, attempts: Attempt[], extra: Record<string, string> = {}): Record<string, string> {
  return { [HEADER_PROVIDER]: provider, [HEADER_MODEL]: model, [HEADER_ATTEMPTS]: attemptsHeader(attempts), ...extra };
}

function noProvider(p: Plan): Response {
  if (p.budgetBlocked) {
    return openAIError(429, `budget exhausted: ${p.budgetBlocked}, and no free model is configured for this request`, {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      headers: { [HEADER_ATTEMPTS]: attemptsHeader(p.attempts) },
    });
  }
  return openAIError(
    503,
    `no provider could serve this request (${attemptsHeader(p.attempts) || 'no candidates'}) and the offline fallback is disabled`,
    {
      code: 'no_provider_available',
      headers: { [HEADER_ATTEMPTS]: attemptsHeader(p.attempts) },
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Chat completions

function offlineCompletion(req: ChatCompletionRequest, created: number) {
  const r = offlineChat(req);
  return {
    body: {
      id: `chatcmpl-offline-${crypto.randomUUID()}`,
      object: 'chat.completion' as const,
      created,
      model: OFFLINE_MODEL,
      choices: [{ index: 0, message: { role: 'assistant' as const, content: r.content }, finish_reason: r.finishReason, logprobs: null }],
      usage: r.usage,
    },
    result: r,
  };
}

function offlineStream(req: ChatCompletionRequest, ctx: RouteContext, attempts: Attempt[], scopes: string[]): Response {
  const created = Math.floor(Date.now() / 1000);
  const r = offlineChat(req);
  const id = `chatcmpl-offline-${crypto.randomUUID()}`;
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: OFFLINE_MODEL,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const pieces = offlineChunks(r.content);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(sseEvent(chunk({ role: 'assistant', content: '' }, null)));
      for (const piece of pieces) controller.enqueue(sseEvent(chunk({ content: piece }, null)));
      controller.enqueue(sseEvent(chunk({}, r.finishReason)));
      if (req.stream_options?.include_usage)
        controller.enqueue(sseEvent({ id, object: 'chat.completion.chunk', created, model: OFFLINE_MODEL, choices: [], usage: r.usage }));
      controller.enqueue(sseEvent('[DONE]'));
      controller.close();
      charge(ctx.kv, scopes, {
        model: OFFLINE_MODEL,
        promptTokens: r.usage.prompt_tokens,
        completionTokens: r.usage.completion_tokens,
        cost: 0,
        latencyMs: 0,
      });
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...routeHeaders('builtin', OFFLINE_MODEL, attempts) },
  });
}

/** A chat completion from the built-in offline provider, charged at no cost. */
function offlineAnswer(req: ChatCompletionRequest, ctx: RouteContext, attempts: Attempt[], created: number): Response {
  const { body, result } = offlineCompletion(req, created);
  charge(ctx.kv, ctx.scopes, {
    model: OFFLINE_MODEL,
    promptTokens: result.usage.prompt_tokens,
    completionTokens: result.usage.completion_tokens,
    cost: 0,
    latencyMs: 0,
  });
  return Response.json(body, { headers: routeHeaders('builtin', OFFLINE_MODEL, attempts) });
}

export async function routeChat(req: ChatCompletionRequest, ctx: RouteContext): Promise<Response> {
  const resolved = resolveModel(ctx.config, req.model);
  if (resolved.kind === 'unknown') return unknownModel(ctx.config, req.model);
  const prompt = promptTokens(req);
  const completion = maxTokens(req);
  const created = Math.floor(Date.now() / 1000);

  if (resolved.kind === 'builtin') {
    if (req.stream) return offlineStream(req, ctx, [], ctx.scopes);
    return offlineAnswer(req, ctx, [], created);
  }

  // Exact-match cache for deterministic, non-streamed requests.
  const cacheable = !req.stream && req.temperature === 0 && ctx.config.cacheTtlSeconds > 0;
  let key: string | undefined;
  if (cacheable) {
    const { stream: _s, user: _u, stream_options: _o, ...rest } = req;
    key = await cacheKey(rest);
    const hit = cacheGet(ctx.kv, key);
    if (hit) {
      // A cache hit costs nothing upstream: it counts as a request, with no tokens.
      charge(ctx.kv, ctx.scopes, { model: hit.target, promptTokens: 0, completionTokens: 0, cost: 0, latencyMs: 0, cacheHit: true });
      return Response.json(hit.body, { headers: routeHeaders(hit.target.split('/')[0]!, hit.target, [], { [HEADER_CACHE]: 'hit' }) });
    }
  }

  const p = plan(ctx, resolved.candidates, prompt, completion);
  const upstreamBody = (target: Target) => ({
    ...req,
    model: target.candidate.model,
    ...(req.stream ? { stream_options: { ...req.stream_options, include_usage: true } } : {}),
  });

  if (req.stream) {
    const ok = await tryTargets(ctx, p, (target) =>
      post(target, 'chat/completions', upstreamBody(target), { timeoutMs: ctx.config.timeoutMs, signal: ctx.signal }),
    );
    if (!ok) {
      if (p.budgetBlocked || !ctx.config.offlineFallback) return noProvider(p);
      return offlineStream(req, ctx, p.attempts, ctx.scopes);
    }
    return relayStream(req, ctx, ok.target, ok.value, p.attempts);
  }

  const ok = await tryTargets(ctx, p, async (target) => {
    const res = await post(target, 'chat/completions', upstreamBody(target), { timeoutMs: ctx.config.timeoutMs, signal: ctx.signal });
    try {
      return (await res.json()) as {
        usage?: { prompt_tokens?: number; completion_tokens?: number };
        choices?: { message?: { content?: unknown } }[];
      };
    } catch (cause) {
      throw new UpstreamError('server', `${target.provider} sent a body that is not JSON`, { cause });
    }
  });
  if (!ok) {
    if (p.budgetBlocked || !ctx.config.offlineFallback) return noProvider(p);
    return offlineAnswer(req, ctx, p.attempts, created);
  }
  const body = { ...ok.value, model: ok.target.name };
  const usedPrompt = ok.value.usage?.prompt_tokens ?? prompt;
  const content = ok.value.choices?.[0]?.message?.content;
  const usedCompletion = ok.value.usage?.completion_tokens ?? approxTokenCount(typeof content === 'string' ? content : '');
  (ctx.defer ?? now)(() => {
    charge(ctx.kv, ctx.scopes, {
      model: ok.target.name,
      promptTokens: usedPrompt,
      completionTokens: usedCompletion,
      cost: price(ok.target.candidate, usedPrompt, usedCompletion),
      latencyMs: ok.latencyMs,
    });
    if (key) cachePut(ctx.kv, key, body, ok.target.name, ctx.config.cacheTtlSeconds);
  });
  return Response.json(body, {
    headers: routeHeaders(ok.target.provider, ok.target.name, p.attempts, key ? { [HEADER_CACHE]: 'miss' } : {}),
  });
}

/**
 * Passes an upstream SSE stream through chunk by chunk. The upstream is always asked for a usage chunk (for
 * accounting); the client sees it only if it asked. A failure mid-stream ends the client's stream with an error
 * event, never a silent truncation; a client that goes away cancels the upstream request.
 */
function relayStream(req: ChatCompletionRequest, ctx: RouteContext, target: Target, upstream: Response, attempts: Attempt[]): Response {
  const started = Date.now();
  const wantUsage = req.stream_options?.include_usage === true;
  let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
  let content = '';
  let done = false;
  let charged = false;
  const events = parseSSE(upstream.body!);
  const finish = (failed: boolean) => {
    if (charged) return;
    charged = true;
    const promptUsed = usage?.prompt_tokens ?? promptTokens(req);
    const completionUsed = usage?.completion_tokens ?? approxTokenCount(content);
    charge(ctx.kv, ctx.scopes, {
      model: target.name,
      promptTokens: promptUsed,
      completionTokens: completionUsed,
      cost: price(target.candidate, promptUsed, completionUsed),
      latencyMs: Date.now() - started,
    });
    if (failed)
      new Breakers(ctx.kv, ctx.config.breakerFailures, ctx.config.breakerCooldownMs).failure(target.baseUrl, 'stream failed mid-way');
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await events.next();
          if (next.done) {
            if (!done) throw new Error('the upstream stream ended without [DONE]');
            finish(false);
            controller.close();
            return;
          }
          const data = next.value.data;
          if (data === '[DONE]') {
            done = true;
            controller.enqueue(sseEvent('[DONE]'));
            continue;
          }
          let chunk: { usage?: typeof usage; choices?: { delta?: { content?: string | null } }[]; model?: string; error?: unknown };
          try {
            chunk = JSON.parse(data) as typeof chunk;
          } catch {
            throw new Error('the upstream sent an event that is not JSON');
          }
          if (chunk.error) throw new Error(`the upstream reported an error: ${JSON.stringify(chunk.error).slice(0, 300)}`);
          if (chunk.usage) usage = chunk.usage;
          const isUsageChunk = (chunk.choices?.length ?? 0) === 0 && chunk.usage;
          if (isUsageChunk && !wantUsage) continue;
          for (const choice of chunk.choices ?? []) content += choice.delta?.content ?? '';
          controller.enqueue(sseEvent({ ...chunk, model: target.name }));
          return;
        }
      } catch (err) {
        finish(true);
        const message = err instanceof Error ? err.message : String(err);
        controller.enqueue(
          sseEvent({
            error: {
              message: `stream from ${target.name} failed: ${message}`,
              type: 'api_error',
              param: null,
              code: 'upstream_stream_failed',
            },
          }),
        );
        controller.close();
      }
    },
    async cancel() {
      // The client went away: charge what the upstream produced so far.
      finish(false);
      await events.return(undefined);
      await upstream.body?.cancel().catch(() => {});
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...routeHeaders(target.provider, target.name, attempts) },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings

export async function routeEmbeddings(req: EmbeddingRequest, ctx: RouteContext): Promise<Response> {
  const inputs = typeof req.input === 'string' ? [req.input] : req.input;
  const prompt = inputs.reduce((n, s) => n + approxTokenCount(s), 0);
  const resolved = resolveModel(ctx.config, req.model);
  if (resolved.kind === 'unknown') return unknownModel(ctx.config, req.model);
  const offline = (attempts: Attempt[]) => {
    const dims = req.dimensions ?? OFFLINE_EMBEDDING_DIMENSIONS;
    const data = inputs.map((text, index) => {
      const v = offlineEmbedding(text, dims);
      return {
        object: 'embedding' as const,
        index,
        embedding: req.encoding_format === 'base64' ? encodeEmbeddingBase64(v) : Array.from(v),
      };
    });
    charge(ctx.kv, ctx.scopes, { model: OFFLINE_MODEL, promptTokens: prompt, completionTokens: 0, cost: 0, latencyMs: 0 });
    return Response.json(
      { object: 'list', data, model: OFFLINE_MODEL, usage: { prompt_tokens: prompt, total_tokens: prompt } },
      { headers: routeHeaders('builtin', OFFLINE_MODEL, attempts) },
    );
  };
  if (resolved.kind === 'builtin') return offline([]);
  const p = plan(ctx, resolved.candidates, prompt, 0);
  const ok = await tryTargets(ctx, p, async (target) => {
    const res = await post(
      target,
      'embeddings',
      { ...req, model: target.candidate.model },
      { timeoutMs: ctx.config.timeoutMs, signal: ctx.signal },
    );
    try {
      return (await res.json()) as { usage?: { prompt_tokens?: number } };
    } catch (cause) {
      throw new UpstreamError('server', `${target.provider} sent a body that is not JSON`, { cause });
    }
  });
  if (!ok) {
    if (p.budgetBlocked || !ctx.config.offlineFallback) return noProvider(p);
    return offline(p.attempts);
  }
  const used = ok.value.usage?.prompt_tokens ?? prompt;
  charge(ctx.kv, ctx.scopes, {
    model: ok.target.name,
    promptTokens: used,
    completionTokens: 0,
    cost: price(ok.target.candidate, used, 0),
    latencyMs: ok.latencyMs,
  });
  return Response.json({ ...ok.value, model: ok.target.name }, { headers: routeHeaders(ok.target.provider, ok.target.name, p.attempts) });
}
