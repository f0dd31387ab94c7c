/**
 * The llm-router component through the official `openai` client: two fixture servers stand in for LocalAI
 * (`local`) and a cloud provider (`cloud`, which requires its API key).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

const MODEL_MAP = {
  chat: [
    { provider: 'local', model: 'fixture-chat', contextWindow: 4096 },
    { provider: 'cloud', model: 'fixture-chat', inputPer1k: 0.5, outputPer1k: 1, contextWindow: 100000 },
  ],
  paid: [{ provider: 'cloud', model: 'fixture-chat', inputPer1k: 0.5, outputPer1k: 1, contextWindow: 100000 }],
  embed: [
    { provider: 'local', model: 'fixture-embed', contextWindow: 4096 },
    { provider: 'cloud', model: 'fixture-embed', inputPer1k: 0.1, contextWindow: 8192 },
  ],
};

let local: LlmFixture;
let cloud: LlmFixture;
let app: TestApp;
let client: OpenAI;

beforeAll(async () => {
  local = await startLlmFixture();
  cloud = await startLlmFixture({ requireApiKey: 'sk-cloud-test' });
  app = await startApp(APPS.main, {
    runtimeConfigFile: new URL('../../runtime-config.toml', import.meta.url).pathname,
    variables: new Map([
      ['localai_url', local.url],
      ['cloud_llm_url', cloud.url],
      ['cloud_llm_api_key', 'sk-cloud-test'],
      ['model_map', JSON.stringify(MODEL_MAP)],
      ['router_breaker_cooldown_ms', '400'],
      ['router_retry_base_ms', '5'],
      ['router_timeout_ms', '1000'],
      ['router_max_request_bytes', '65536'],
    ]),
  });
  client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await local?.close();
  await cloud?.close();
});

beforeEach(async () => {
  // Breakers, usage, budgets and cache live in the `router` store; every test starts from a clean one.
  const store = app.app.stores.open('router');
  for (const key of await store.keys()) await store.delete(key);
  for (const f of [local, cloud]) {
    f.setBehaviour({ failure: null, failFirst: 0, latencyMs: 0, chunkDelayMs: 0 });
    f.clearLog();
  }
});

const chat = (model: string, content = 'What is Spin?', extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content }], ...extra }).withResponse();

/** A client whose requests carry an agent id (a usage and budget scope). */
const agent = (id: string) =>
  new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'client-key', maxRetries: 0, defaultHeaders: { 'x-agent-id': id } });

/** A client whose requests carry an agent id (a usage and budget scope). */
async function usage(
  scope: string,
): Promise<{ requests: number; promptTokens: number; completionTokens: number; cost: number; cacheHits: number }> {
  const r = (await (await fetch(`${app.url}/api/v1/usage?scope=${encodeURIComponent(scope)}`)).json()) as { items: { usage: never }[] };
  return r.items[0]!.usage;
}

describe('OpenAI compatibility', () => {
  it('lists models: aliases, configured targets and the offline provider', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['chat', 'paid', 'embed', 'local/fixture-chat', 'cloud/fixture-chat', 'builtin/offline']));
  });

  it('chat goes to the local provider first and reports who answered', async () => {
    const { data, response } = await chat('chat', 'What is Spin?');
    expect(data.choices[0]!.message.content).toBe('Fixture answer to: What is Spin?');
    expect(data.model).toBe('local/fixture-chat');
    expect(response.headers.get('x-edge-agents-provider')).toBe('local');
    expect(local.requests).toHaveLength(1);
    expect((local.requests[0]!.body as { model: string }).model).toBe('fixture-chat');
    expect(cloud.requests).toHaveLength(0);
  });

  it('streams chunk by chunk, with usage when asked', async () => {
    local.setBehaviour({ chunkDelayMs: 5 });
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usageChunk: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usageChunk = chunk.usage;
    }
    expect(text).toBe('Fixture answer to: stream please');
    expect(chunks).toBeGreaterThan(5);
    expect(usageChunk?.completion_tokens).toBeGreaterThan(0);
  });

  it('passes tool calls through', async () => {
    local.enqueue({ toolCalls: [{ id: 'call_1', name: 'search_knowledge', arguments: { query: 'spin' } }] });
    const { data } = await chat('chat', 'look it up', {
      tools: [
        {
          type: 'function',
          function: { name: 'search_knowledge', parameters: { type: 'object', properties: { query: { type: 'string' } } } },
        },
      ],
    });
    expect(data.choices[0]!.finish_reason).toBe('tool_calls');
    const call = data.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('search_knowledge');
    expect(JSON.parse(call.function.arguments)).toEqual({ query: 'spin' });
    expect((local.requests[0]!.body as { tools: unknown[] }).tools).toHaveLength(1);
  });

  it('embeds, as floats and as base64 (the client default)', async () => {
    const floats = await client.embeddings.create({ model: 'embed', input: ['edge agents', 'wasm'], encoding_format: 'float' });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]!.embedding).toHaveLength(384);
    const b64 = await client.embeddings.create({ model: 'embed', input: 'edge agents' });
    expect(b64.data[0]!.embedding).toHaveLength(384);
    expect(b64.data[0]!.embedding[0]).toBeCloseTo(floats.data[0]!.embedding[0]!, 5);
    expect(b64.model).toBe('local/fixture-embed');
  });
});

describe('fallback, retries and the circuit breaker', () => {
  it('a 5xx from local falls back to cloud after a retry', async () => {
    local.setBehaviour({ failure: { status: 503 } });
    const { data, response } = await chat('chat');
    expect(data.model).toBe('cloud/fixture-chat');
    expect(local.requests).toHaveLength(2); // first try + one retry
    expect(cloud.requests[0]!.headers.authorization).toBe('Bearer sk-cloud-test');
    expect(response.headers.get('x-edge-agents-attempts')).toContain('local/fixture-chat=server-503');
  });

  it('a 429 is retried on the same provider and then succeeds there', async () => {
    local.setBehaviour({ failFirst: 1, failure: { status: 429 }, retryAfterSeconds: 0.01 });
    const { data } = await chat('chat');
    expect(data.model).toBe('local/fixture-chat');
    expect(local.requests).toHaveLength(2);
  });

  it('connection resets and timeouts fall back', async () => {
    local.setBehaviour({ failure: 'reset' });
    expect((await chat('chat')).data.model).toBe('cloud/fixture-chat');
    local.setBehaviour({ failure: null, latencyMs: 1500 });
    const { response } = await chat('chat');
    expect(response.headers.get('x-edge-agents-attempts')).toContain('local/fixture-chat=timeout');
  });

  it('a context-length error moves on to a bigger model without retrying', async () => {
    local.setBehaviour({ failure: 'context-length' });
    const { data } = await chat('chat');
    expect(data.model).toBe('cloud/fixture-chat');
    expect(local.requests).toHaveLength(1);
  });

  it("requests that cannot fit a candidate's context window skip it", async () => {
    const { data, response } = await chat('chat', 'word '.repeat(5000));
    expect(data.model).toBe('cloud/fixture-chat');
    expect(local.requests).toHaveLength(0);
    expect(response.headers.get('x-edge-agents-attempts')).toContain('local/fixture-chat=context');
  });

  it('the breaker opens after repeated failures, skips the provider, then recovers through a half-open probe', async () => {
    local.setBehaviour({ failure: { status: 500 } });
    await chat('chat'); // 2 failures (try + retry)
    await chat('chat'); // 3rd failure opens the circuit
    const before = local.requests.length;
    const { response } = await chat('chat');
    expect(local.requests.length).toBe(before);
    expect(response.headers.get('x-edge-agents-attempts')).toContain('local/fixture-chat=circuit-open');
    const providers = (await (await fetch(`${app.url}/api/v1/providers`)).json()) as {
      providers: { provider: string; breaker: { state: string } | null }[];
    };
    expect(providers.providers.find((p) => p.provider === 'local')!.breaker!.state).toBe('open');

    local.setBehaviour({ failure: null });
    await new Promise((r) => setTimeout(r, 450)); // cooldown
    const probe = await chat('chat');
    expect(probe.data.model).toBe('local/fixture-chat');
    const after = (await (await fetch(`${app.url}/api/v1/providers`)).json()) as typeof providers;
    expect(after.providers.find((p) => p.provider === 'local')!.breaker!.state).toBe('closed');
  });

  it('falls back to the built-in offline provider when every provider fails', async () => {
    local.setBehaviour({ failure: { status: 500 } });
    cloud.setBehaviour({ failure: { status: 500 } });
    const { data, response } = await chat('chat', 'anyone there?');
    expect(data.model).toBe('builtin/offline');
    expect(response.headers.get('x-edge-agents-provider')).toBe('builtin');
    expect(data.choices[0]!.message.content).toMatch(/^\[offline\]/);
  });
});

describe('budgets, usage and cache', () => {
  it('usage is recorded per agent with provider-reported tokens and cost', async () => {
    const alice = agent('alice');
    const r = await alice.chat.completions.create({ model: 'paid', messages: [{ role: 'user', content: 'price me' }] });
    const u = await usage('agent:alice');
    expect(u.requests).toBe(1);
    expect(u.promptTokens).toBe(r.usage!.prompt_tokens);
    expect(u.completionTokens).toBe(r.usage!.completion_tokens);
    expect(u.cost).toBeCloseTo((r.usage!.prompt_tokens / 1000) * 0.5 + (r.usage!.completion_tokens / 1000) * 1, 8);
  });

  it('budgets can be created, read, listed and deleted; bad ones are rejected', async () => {
    const put = await fetch(`${app.url}/api/v1/budgets/agent:bob`, { method: 'PUT', body: JSON.stringify({ dailyTokens: 100 }) });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${app.url}/api/v1/budgets/agent:bob`)).json()).toEqual({ scope: 'agent:bob', budget: { dailyTokens: 100 } });
    expect(((await (await fetch(`${app.url}/api/v1/budgets`)).json()) as { items: unknown[] }).items).toHaveLength(1);
    expect((await fetch(`${app.url}/api/v1/budgets/agent:bob`, { method: 'PUT', body: JSON.stringify({ dailyTokens: -1 }) })).status).toBe(
      400,
    );
    expect((await fetch(`${app.url}/api/v1/budgets/nobody`, { method: 'PUT', body: '{}' })).status).toBe(400);
    expect((await fetch(`${app.url}/api/v1/budgets/agent:bob`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${app.url}/api/v1/budgets/agent:bob`)).status).toBe(404);
  });

  it('an exhausted budget falls back to a free local model, and to a 429 when nothing free is left', async () => {
    await fetch(`${app.url}/api/v1/budgets/agent:carol`, { method: 'PUT', body: JSON.stringify({ dailyTokens: 5 }) });
    const carol = agent('carol');
    local.setBehaviour({ failure: { status: 500 } });
    const first = await carol.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'spend it all' }] });
    expect(first.model).toBe('cloud/fixture-chat'); // within budget: paid fallback allowed
    local.setBehaviour({ failure: null });
    local.clearLog();
    cloud.clearLog();
    const second = await carol.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'again' }] });
    expect(second.model).toBe('local/fixture-chat');
    const err = await carol.chat.completions
      .create({ model: 'paid', messages: [{ role: 'user', content: 'paid only' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('insufficient_quota');
    expect(cloud.requests).toHaveLength(0);
  });

  it('deterministic requests are cached', async () => {
    const first = await chat('chat', 'cache me', { temperature: 0 });
    const second = await chat('chat', 'cache me', { temperature: 0 });
    expect(first.response.headers.get('x-edge-agents-cache')).toBe('miss');
    expect(second.response.headers.get('x-edge-agents-cache')).toBe('hit');
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(local.requests).toHaveLength(1);
    await chat('chat', 'cache me', { temperature: 0.7 });
    expect(local.requests).toHaveLength(2);
  });
});

describe('streaming failures', () => {
  it('an upstream failure mid-stream ends the stream with an error, not a silent truncation', async () => {
    local.setBehaviour({ failure: 'midstream', midstreamAfterChunks: 3 });
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'break mid-way' }],
      stream: true,
    });
    let received = '';
    const err = await (async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/stream from local\/fixture-chat failed/);
    expect(received.length).toBeGreaterThan(0);
  });

  it('a client that disconnects stops the upstream request', async () => {
    local.setBehaviour({ chunkDelayMs: 150 });
    const controller = new AbortController();
    const stream = await agent('eve').chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: 'a long story about edge computing on small devices' }], stream: true },
      { signal: controller.signal },
    );
    for await (const _chunk of stream) {
      controller.abort();
      break;
    }
    const logged = await local.waitFor((r) => r.path === '/v1/chat/completions' && r.outcome === 'client-aborted', 5000);
    expect(logged.outcome).toBe('client-aborted');
    // What was streamed before the disconnect is still charged.
    let charged = 0;
    for (let i = 0; i < 50 && charged === 0; i++) {
      const r = (await (await fetch(`${app.url}/api/v1/usage?scope=agent:eve`)).json()) as { items: { usage: { requests: number } }[] };
      charged = r.items[0]?.usage.requests ?? 0;
      if (charged === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(charged).toBe(1);
  });
});

describe('bad input', () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  it('rejects malformed, invalid, unknown and oversized requests with OpenAI-style errors, leaving usage intact', async () => {
    await agent('dave').chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'one good request' }] });
    const before = await usage('agent:dave');
    const h = { 'x-agent-id': 'dave' };

    const badJson = await post('/v1/chat/completions', '{"model":', h);
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json');

    const wrongType = await post('/v1/chat/completions', JSON.stringify({ model: 'chat', messages: 'hi' }), h);
    expect(wrongType.status).toBe(400);
    const wrongBody = (await wrongType.json()) as { error: { param: string | null; type: string; message: string } };
    expect(wrongBody.error.type).toBe('invalid_request_error');
    expect(wrongBody.error.param).toBe('messages');

    const unknown = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      h,
    );
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('model_not_found');

    const huge = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(70_000) }] }),
      h,
    );
    expect(huge.status).toBe(413);

    const badEmbed = await post('/v1/embeddings', JSON.stringify({ model: 'embed', input: [[1, 2, 3]] }), h);
    expect(badEmbed.status).toBe(400);

    const badAgent = await post('/v1/chat/completions', JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }), {
      'x-agent-id': 'bad id!',
    });
    expect(badAgent.status).toBe(400);

    expect(await usage('agent:dave')).toEqual(before);
  });
});
