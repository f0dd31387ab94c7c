import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import {
  FIXTURE_HEADERS,
  approxTokenCount,
  defaultAnswer,
  fixtureEmbedding,
  startLlmFixture,
  streamPieces,
} from '../fixtures/llm-fixture.ts';
import type { LlmFixture } from '../fixtures/llm-fixture.ts';

let fx: LlmFixture;
let client: OpenAI;
const model = 'fixture-chat';
const user = (content: string) => ({ model, messages: [{ role: 'user' as const, content }] });

/** Resolves with the error a promise rejects with; fails the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return dot;
};

beforeAll(async () => {
  fx = await startLlmFixture();
  client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: 'x', maxRetries: 0 });
});
afterAll(() => fx.close());
afterEach(() => {
  fx.setBehaviour({
    latencyMs: 0,
    chunkDelayMs: 0,
    failure: null,
    failFirst: 0,
    requireApiKey: null,
    contextLength: Infinity,
    retryAfterSeconds: 1,
  });
  fx.clearLog();
});

describe('models and health', () => {
  it('lists the configured models in the OpenAI list shape', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['fixture-chat', 'fixture-embed']);
    expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'llm-fixture' });
    expect(typeof page.data[0]?.created).toBe('number');
    expect((await client.models.retrieve('fixture-embed')).id).toBe('fixture-embed');
  });

  it('serves models changed at runtime', async () => {
    fx.setBehaviour({ models: ['a', 'b', 'c'] });
    try {
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['a', 'b', 'c']);
      expect(await rejection(client.chat.completions.create(user('hi')))).toMatchObject({ status: 404 });
    } finally {
      fx.setBehaviour({ models: ['fixture-chat', 'fixture-embed'] });
    }
  });

  it('answers /health and 404s unknown URLs with an error body', async () => {
    expect((await fetch(`${fx.url}/health`)).status).toBe(200);
    const res = await fetch(`${fx.url}/v1/nope`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'unknown_url', type: 'invalid_request_error' } });
  });
});

describe('chat completions', () => {
  it('gives a deterministic default answer with approximate usage', async () => {
    const c = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
    });
    expect(c.object).toBe('chat.completion');
    expect(c.model).toBe(model);
    expect(c.id).toMatch(/^chatcmpl-/);
    const choice = c.choices[0];
    expect(choice?.message.content).toBe('Fixture answer to: What is the capital of France?');
    expect(choice?.finish_reason).toBe('stop');
    // 3 priming + (3 + 3 "Be brief .") + (3 + 7 "What is the capital of France ?")
    expect(c.usage).toEqual({ prompt_tokens: 19, completion_tokens: 11, total_tokens: 30 });
    expect(c.usage?.completion_tokens).toBe(approxTokenCount(choice?.message.content ?? ''));
  });

  it('truncates long questions in the default answer and honours max_tokens', async () => {
    const long = 'word '.repeat(40);
    expect((await client.chat.completions.create(user(long))).choices[0]?.message.content).toBe(defaultAnswer(long));
    expect(defaultAnswer(long).endsWith('...')).toBe(true);
    const c = await client.chat.completions.create({ ...user('Hello there'), max_tokens: 3 });
    expect(c.choices[0]?.message.content).toBe('Fixture answer to');
    expect(c.choices[0]?.finish_reason).toBe('length');
    expect(c.usage?.completion_tokens).toBe(3);
  });

  it('plays scripted answers FIFO, then falls back to the default', async () => {
    fx.enqueue(
      { toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] },
      { content: 'Scripted!', usage: { prompt_tokens: 1000 } },
    );
    const first = await client.chat.completions.create({
      ...user('Weather in Paris?'),
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    const msg = first.choices[0]?.message;
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(msg?.content).toBeNull();
    expect(msg?.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);

    const second = await client.chat.completions.create(user('x'));
    expect(second.choices[0]?.message.content).toBe('Scripted!');
    expect(second.usage).toMatchObject({ prompt_tokens: 1000, total_tokens: 1000 + approxTokenCount('Scripted!') });

    expect((await client.chat.completions.create(user('again'))).choices[0]?.message.content).toBe('Fixture answer to: again');
  });

  it('accepts a tool-result round trip and content parts', async () => {
    const c = await client.chat.completions.create({
      model,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'w', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'sunny' },
      ],
    });
    expect(c.choices[0]?.message.content).toBe('Fixture answer to: Weather?');
  });

  it('rejects invalid bodies with 400 and unknown models with 404', async () => {
    const bad = await rejection(client.chat.completions.create({ model, messages: [] }));
    expect(bad).toBeInstanceOf(APIError);
    expect(bad).toMatchObject({ status: 400, param: 'messages', type: 'invalid_request_error' });

    const noToolId = await rejection(client.chat.completions.create({ model, messages: [{ role: 'tool', content: 'x' }] } as never));
    expect(noToolId).toMatchObject({ status: 400, param: 'messages[0].tool_call_id' });

    const unknown = await rejection(client.chat.completions.create({ ...user('hi'), model: 'gpt-9' }));
    expect(unknown).toMatchObject({ status: 404, code: 'model_not_found' });
    expect((unknown as APIError).message).toContain('gpt-9');

    const res = await fetch(`${fx.url}/v1/chat/completions`, { method: 'POST', body: '{not json' });
    expect(res.status).toBe(400);
    expect(fx.requests.at(-1)).toMatchObject({ body: '{not json', outcome: 'error', status: 400 });
  });

  it('streams role, content pieces, finish and a usage chunk', async () => {
    const stream = await client.chat.completions.create({
      ...user('Stream me, please!'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const expected = 'Fixture answer to: Stream me, please!';
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks.map((c) => c.choices[0]?.delta.content)).toEqual(streamPieces(expected));
    expect(contentChunks.length).toBeGreaterThan(5);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(expected);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]?.id)).toBe(true);

    const finish = chunks.at(-2);
    expect(finish?.choices[0]?.finish_reason).toBe('stop');
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    const plain = await client.chat.completions.create(user('Stream me, please!'));
    expect(usageChunk?.usage).toEqual(plain.usage);
    expect(usageChunk?.usage?.completion_tokens).toBe(contentChunks.length);
    expect(fx.requests[0]).toMatchObject({ outcome: 'ok', status: 200, chunks: chunks.length + 1 });
  });

  it('streams scripted tool calls as index/id/name/argument fragments', async () => {
    const args = { city: 'Paris', unit: 'celsius', days: 3 };
    fx.enqueue({
      toolCalls: [
        { name: 'get_weather', arguments: args },
        { name: 'noop', arguments: '{}' },
      ],
    });
    const stream = await client.chat.completions.create({ ...user('Weather?'), stream: true });
    const calls = new Map<number, { id?: string; name?: string; args: string; fragments: number }>();
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      finish ??= choice?.finish_reason;
      expect(chunk.usage).toBeUndefined();
      for (const d of choice?.delta.tool_calls ?? []) {
        const call = calls.get(d.index) ?? { args: '', fragments: 0 };
        call.id ??= d.id;
        call.name ??= d.function?.name;
        if (d.function?.arguments) {
          call.args += d.function.arguments;
          call.fragments++;
        }
        calls.set(d.index, call);
      }
    }
    expect(finish).toBe('tool_calls');
    expect(calls.get(0)).toMatchObject({ name: 'get_weather', id: expect.stringMatching(/^call_/) });
    expect(JSON.parse(calls.get(0)?.args ?? '')).toEqual(args);
    expect(calls.get(0)?.fragments).toBeGreaterThan(1);
    expect(calls.get(1)).toMatchObject({ name: 'noop', args: '{}' });
  });

  it('answers a scripted error status', async () => {
    fx.enqueue({ status: 418, error: { message: 'teapot', code: 'tea' } });
    expect(await rejection(client.chat.completions.create(user('hi')))).toMatchObject({
      status: 418,
      code: 'tea',
      error: { message: 'teapot' },
    });
  });
});

describe('embeddings', () => {
  it('returns float embeddings of the configured default dimension, L2-normalised', async () => {
    const r = await client.embeddings.create({ model: 'fixture-embed', input: ['hello world', 'bye'], encoding_format: 'float' });
    expect(r).toMatchObject({ object: 'list', model: 'fixture-embed', usage: { prompt_tokens: 3, total_tokens: 3 } });
    expect(r.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, 384],
      ['embedding', 1, 384],
    ]);
    expect(Math.hypot(...(r.data[0]?.embedding ?? []))).toBeCloseTo(1, 5);
    expect(r.data[0]?.embedding).toEqual(Array.from(fixtureEmbedding('hello world', 384)));
  });

  it('returns the same vectors as base64 float32 (the client default) and honours dimensions', async () => {
    const b64 = await client.embeddings.create({ model: 'fixture-embed', input: 'The quick brown fox', dimensions: 64 });
    const float = await client.embeddings.create({
      model: 'fixture-embed',
      input: 'The quick brown fox',
      dimensions: 64,
      encoding_format: 'float',
    });
    expect(fx.requests[0]?.body).toMatchObject({ encoding_format: 'base64' });
    expect(b64.data[0]?.embedding).toHaveLength(64);
    expect(b64.data[0]?.embedding).toEqual(float.data[0]?.embedding);
    const raw = await client.embeddings.create({ model: 'fixture-embed', input: 'x', encoding_format: 'base64' });
    expect(typeof raw.data[0]?.embedding).toBe('string');
  });

  it('is deterministic, and similar texts are closer than unrelated ones', async () => {
    const texts = ['The cat sat on the mat.', 'A cat was sitting on the mat.', 'Quarterly revenue grew by eleven percent.'];
    const once = await client.embeddings.create({ model: 'fixture-embed', input: texts });
    const again = await client.embeddings.create({ model: 'fixture-embed', input: texts });
    expect(again.data).toEqual(once.data);
    const [cat, cat2, revenue] = once.data.map((d) => d.embedding);
    expect(cosine(cat!, cat2!)).toBeGreaterThan(cosine(cat!, revenue!) + 0.2);
    expect(cosine(cat!, cat2!)).toBeGreaterThan(cosine(cat2!, revenue!) + 0.2);
    fx.setBehaviour({ embeddingDimensions: 128 });
    try {
      expect((await client.embeddings.create({ model: 'fixture-embed', input: 'x' })).data[0]?.embedding).toHaveLength(128);
    } finally {
      fx.setBehaviour({ embeddingDimensions: 384 });
    }
  });

  it('rejects token-array input, empty input and unknown models', async () => {
    expect(await rejection(client.embeddings.create({ model: 'fixture-embed', input: [1, 2, 3] }))).toMatchObject({
      status: 400,
      param: 'input',
    });
    expect(await rejection(client.embeddings.create({ model: 'fixture-embed', input: [] }))).toMatchObject({ status: 400 });
    expect(await rejection(client.embeddings.create({ model: 'nope', input: 'x' }))).toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });
});

describe('failures', () => {
  it.each([429, 500, 502, 503])('status %i surfaces as an APIError with an OpenAI error body', async (status) => {
    fx.setBehaviour({ failure: { status } });
    const err = await rejection(client.chat.completions.create(user('hi')));
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status, error: { message: expect.stringContaining('llm-fixture') } });
    if (status === 429) {
      expect((err as APIError).headers?.get('retry-after')).toBe('1');
      expect(err).toMatchObject({ code: 'rate_limit_exceeded' });
    }
    expect(fx.requests[0]).toMatchObject({ outcome: 'error', status });
  });

  it('failure.times fails n requests then succeeds; /v1/models is unaffected', async () => {
    fx.setBehaviour({ failure: { status: 500, times: 2 } });
    expect((await client.models.list()).data.length).toBe(2);
    expect(await rejection(client.embeddings.create({ model: 'fixture-embed', input: 'x' }))).toMatchObject({ status: 500 });
    expect(await rejection(client.chat.completions.create(user('hi')))).toMatchObject({ status: 500 });
    expect((await client.chat.completions.create(user('hi'))).choices[0]?.message.content).toBe('Fixture answer to: hi');
  });

  it('failFirst lets a retrying client succeed after n failures', async () => {
    fx.setBehaviour({ failure: { status: 429 }, failFirst: 2, retryAfterSeconds: 0.01 });
    const retrying = client.withOptions({ maxRetries: 3 });
    expect((await retrying.chat.completions.create(user('retry'))).choices[0]?.message.content).toBe('Fixture answer to: retry');
    expect(fx.requests.map((r) => r.status)).toEqual([429, 429, 200]);

    fx.setBehaviour({ failFirst: 1, failure: null }); // no mode → 503
    expect(await rejection(client.chat.completions.create(user('hi')))).toMatchObject({ status: 503 });
    await client.chat.completions.create(user('hi'));
  });

  it('reset destroys the socket without a response', async () => {
    fx.setBehaviour({ failure: 'reset' });
    const err = await rejection(client.chat.completions.create(user('hi')));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(fx.requests[0]?.outcome).toBe('reset');
  });

  it('hang never answers; the client timing out is logged as client-aborted', async () => {
    fx.setBehaviour({ failure: 'hang' });
    const err = await rejection(client.chat.completions.create(user('hi'), { timeout: 300 }));
    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    const logged = await fx.waitFor((r) => r.outcome === 'client-aborted');
    expect(logged.durationMs).toBeGreaterThanOrEqual(250);
    expect(logged.status).toBeUndefined();
  });

  it('midstream makes the stream iterator throw after some chunks', async () => {
    fx.setBehaviour({ failure: 'midstream', midstreamAfterChunks: 3 });
    const stream = await client.chat.completions.create({ ...user('Tell me a long story'), stream: true });
    const seen: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(err).toBeInstanceOf(Error);
    expect(seen).toHaveLength(3);
    expect(fx.requests[0]).toMatchObject({ outcome: 'midstream', chunks: 3 });
  });

  it('midstream cuts a non-streaming body so the client fails', async () => {
    fx.setBehaviour({ failure: 'midstream' });
    expect(await rejection(client.chat.completions.create(user('hi')))).toBeInstanceOf(Error);
    expect(fx.requests[0]?.outcome).toBe('midstream');
  });

  it('midstream-error sends an SSE error event that the client raises as APIError', async () => {
    fx.setBehaviour({ failure: 'midstream-error' });
    const stream = await client.chat.completions.create({ ...user('Tell me a long story'), stream: true });
    const err = await rejection(
      (async () => {
        for await (const _ of stream);
      })(),
    );
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toContain('mid-stream');
  });

  it('context-length answers 400 context_length_exceeded, forced or from contextLength', async () => {
    fx.setBehaviour({ failure: 'context-length' });
    expect(await rejection(client.chat.completions.create(user('hi')))).toMatchObject({
      status: 400,
      code: 'context_length_exceeded',
      param: 'messages',
    });
    fx.setBehaviour({ failure: null, contextLength: 20 });
    await client.chat.completions.create(user('short'));
    const err = await rejection(
      client.chat.completions.create(user('this prompt has far too many words for the tiny context window of twenty tokens')),
    );
    expect(err).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect(await rejection(client.chat.completions.create({ ...user('short'), max_tokens: 100 }))).toMatchObject({ status: 400 });
  });

  it('requireApiKey answers 401 for a missing or wrong key', async () => {
    fx.setBehaviour({ requireApiKey: 'sekret' });
    expect(await rejection(client.models.list())).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect((await fetch(`${fx.url}/v1/models`)).status).toBe(401);
    const authed = client.withOptions({ apiKey: 'sekret' });
    expect((await authed.chat.completions.create(user('hi'))).choices[0]?.message.content).toBe('Fixture answer to: hi');
    expect(fx.requests.at(-1)?.headers.authorization).toBe('Bearer sekret');
  });
});

describe('timing, disconnects and the request log', () => {
  it('honours latencyMs before headers and chunkDelayMs between chunks', async () => {
    fx.setBehaviour({ latencyMs: 120 });
    let start = performance.now();
    await client.chat.completions.create(user('hi'));
    expect(performance.now() - start).toBeGreaterThanOrEqual(120);

    fx.setBehaviour({ latencyMs: 0, chunkDelayMs: 20 });
    start = performance.now();
    const stream = await client.chat.completions.create({ ...user('one two three'), stream: true });
    let n = 0;
    for await (const _ of stream) n++;
    expect(performance.now() - start).toBeGreaterThanOrEqual(20 * (n - 1));
  });

  it('logs a client that disconnects mid-stream as client-aborted', async () => {
    fx.setBehaviour({ chunkDelayMs: 30 });
    const stream = await client.chat.completions.create({ ...user('A question with quite a few words in it'), stream: true });
    let n = 0;
    for await (const _ of stream) if (++n === 2) break; // breaking aborts the underlying request
    const logged = await fx.waitFor((r) => r.outcome === 'client-aborted');
    expect(logged.path).toBe('/v1/chat/completions');
    expect(logged.chunks).toBeGreaterThanOrEqual(2);
    expect(logged.chunks).toBeLessThan(12);
  });

  it('records method, path, headers, parsed body, time and outcome; clearLog empties it', async () => {
    const before = Date.now();
    await client.chat.completions.create(user('log me'), { headers: { 'x-trace': 'abc' } });
    expect(fx.requests).toHaveLength(1);
    const r = fx.requests[0]!;
    expect(r).toMatchObject({ method: 'POST', path: '/v1/chat/completions', outcome: 'ok', status: 200, chunks: 0 });
    expect(r.body).toEqual(user('log me'));
    expect(r.headers['x-trace']).toBe('abc');
    expect(r.headers.authorization).toBe('Bearer x');
    expect(r.time).toBeGreaterThanOrEqual(before);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    fx.clearLog();
    expect(fx.requests).toHaveLength(0);
  });

  it('per-request x-fixture-* headers override behaviour for that call only', async () => {
    const failing = await rejection(client.chat.completions.create(user('a'), { headers: { [FIXTURE_HEADERS.failure]: '503' } }));
    expect(failing).toMatchObject({ status: 503 });
    await client.chat.completions.create(user('b'));

    const start = performance.now();
    await client.chat.completions.create(user('c'), { headers: { [FIXTURE_HEADERS.latencyMs]: '80' } });
    expect(performance.now() - start).toBeGreaterThanOrEqual(80);

    expect(await rejection(client.chat.completions.create(user('d'), { headers: { [FIXTURE_HEADERS.failure]: 'reset' } }))).toBeInstanceOf(
      APIConnectionError,
    );

    // `none` bypasses a global failure without consuming it.
    fx.setBehaviour({ failure: { status: 500, times: 1 } });
    await client.chat.completions.create(user('e'), { headers: { [FIXTURE_HEADERS.failure]: 'none' } });
    expect(await rejection(client.chat.completions.create(user('f')))).toMatchObject({ status: 500 });

    const stream = await client.chat.completions.create(
      { ...user('g h i j'), stream: true },
      {
        headers: {
          [FIXTURE_HEADERS.failure]: 'midstream',
          [FIXTURE_HEADERS.midstreamAfterChunks]: '1',
          [FIXTURE_HEADERS.chunkDelayMs]: '1',
        },
      },
    );
    await rejection(
      (async () => {
        for await (const _ of stream);
      })(),
    );
    expect(fx.requests.at(-1)).toMatchObject({ outcome: 'midstream', chunks: 1 });

    expect(await rejection(client.chat.completions.create(user('x'), { headers: { [FIXTURE_HEADERS.latencyMs]: 'soon' } }))).toMatchObject({
      status: 400,
    });
    expect(fx.requests.map((r) => r.outcome)).toEqual(['error', 'ok', 'ok', 'reset', 'ok', 'error', 'midstream', 'error']);
  });

  it('close() ends hanging requests and keep-alive sockets promptly', async () => {
    const other = await startLlmFixture({ failure: 'hang', port: 0 });
    const c = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: 'x', maxRetries: 0 });
    await c.models.list(); // leaves a keep-alive socket open
    const pending = rejection(c.chat.completions.create(user('hi')));
    await other.waitFor((r) => r.outcome === 'hang');
    await other.close();
    expect(await pending).toBeInstanceOf(APIConnectionError);
    expect(other.requests.at(-1)?.outcome).toBe('hang');
  });
});
