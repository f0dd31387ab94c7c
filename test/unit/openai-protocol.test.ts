import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { z } from 'zod';
import {
  ChatCompletionChunkSchema,
  ChatCompletionRequestSchema,
  ChatCompletionSchema,
  EmbeddingRequestSchema,
  EmbeddingResponseSchema,
  ModelListSchema,
  OpenAIErrorBodySchema,
  decodeEmbeddingBase64,
  encodeEmbeddingBase64,
  openAIError,
  parseSSE,
  sseEvent,
  zodIssuesMessage,
} from '../../shared/protocol/openai.ts';

// ---------------------------------------------------------------------------------------------------------------------
// A capture server: records what the official client sends and answers with canned, schema-valid responses.

const COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};
const chunk = (delta: object, finish: string | null = null) => ({
  id: 'chatcmpl-2',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const VECTOR = [0.5, -1.25, 3.1415927, 1e-8, 0];

let server: http.Server;
let client: OpenAI;
const bodies: unknown[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw) as { stream?: boolean; input?: unknown; encoding_format?: string };
      bodies.push(body);
      if (req.url === '/v1/embeddings') {
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        const embedding = body.encoding_format === 'base64' ? encodeEmbeddingBase64(VECTOR) : VECTOR;
        const data = inputs.map((_, index) => ({ object: 'embedding', index, embedding }));
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ object: 'list', data, model: 'e', usage: { prompt_tokens: 2, total_tokens: 2 } }));
      } else if (body.stream) {
        res.setHeader('content-type', 'text/event-stream');
        for (const c of [
          chunk({ role: 'assistant', content: '' }),
          chunk({ content: 'héllo ' }),
          chunk({ content: '🌍' }),
          chunk({}, 'stop'),
        ]) {
          res.write(sseEvent(c));
        }
        res.write(sseEvent({ ...chunk({}), choices: [], usage: COMPLETION.usage }));
        res.end(sseEvent('[DONE]'));
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(COMPLETION));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'k', maxRetries: 0 });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs a client call and returns the JSON body the server received. */
async function sent(call: () => Promise<unknown>): Promise<unknown> {
  const before = bodies.length;
  await call();
  expect(bodies.length).toBe(before + 1);
  return bodies.at(-1);
}

// ---------------------------------------------------------------------------------------------------------------------

describe('requests the openai client sends', () => {
  it('a plain chat request, with developer, system text parts and a multi-part user message', async () => {
    const body = await sent(() =>
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'system', content: [{ type: 'text', text: 'You are terse.' }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
            ],
            name: 'alice',
          },
        ],
        temperature: 0.2,
        top_p: 1,
        max_completion_tokens: 64,
        stop: ['\n\n'],
        seed: 7,
        user: 'u-1',
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        logit_bias: { '50256': -100 },
        metadata: { run: 'a' },
        response_format: { type: 'json_object' },
      }),
    );
    const parsed = ChatCompletionRequestSchema.parse(body);
    expect(parsed.messages.map((m) => m.role)).toEqual(['developer', 'system', 'user']);
    expect(parsed).toMatchObject({ max_completion_tokens: 64, stop: ['\n\n'], response_format: { type: 'json_object' } });
  });

  it('tools with tool_choice, then the assistant tool_calls + tool message round trip', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          description: 'Current weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          strict: true,
        },
      },
    ];
    for (const tool_choice of ['auto', 'required', 'none', { type: 'function', function: { name: 'get_weather' } }] as const) {
      const body = await sent(() =>
        client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, tool_choice }),
      );
      expect(ChatCompletionRequestSchema.parse(body).tool_choice).toEqual(tool_choice);
    }
    const body = await sent(() =>
      client.chat.completions.create({
        model: 'm',
        tools,
        parallel_tool_calls: false,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
        ],
      }),
    );
    const parsed = ChatCompletionRequestSchema.parse(body);
    const [, assistant, tool] = parsed.messages;
    expect(assistant?.role === 'assistant' && assistant.tool_calls?.[0]?.function.arguments).toBe('{"city":"Paris"}');
    expect(tool).toEqual({ role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' });
  });

  it('a streaming request with stream_options, and the client reads our SSE encoding', async () => {
    const pieces: string[] = [];
    let usage: unknown;
    const body = await sent(async () => {
      const stream = await client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const c of stream) {
        pieces.push(c.choices[0]?.delta.content ?? '');
        usage ??= c.usage;
      }
    });
    expect(ChatCompletionRequestSchema.parse(body)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(pieces.join('')).toBe('héllo 🌍');
    expect(usage).toEqual(COMPLETION.usage);
  });

  it('embeddings: the default base64 encoding (decoded by the client from ours), explicit float, arrays', async () => {
    let result: OpenAI.Embeddings.CreateEmbeddingResponse | undefined;
    const body = await sent(async () => {
      result = await client.embeddings.create({ model: 'e', input: 'hello' });
    });
    expect(EmbeddingRequestSchema.parse(body)).toEqual({ model: 'e', input: 'hello', encoding_format: 'base64' });
    expect(result?.data[0]?.embedding).toEqual(Array.from(Float32Array.from(VECTOR)));

    const arrayBody = await sent(() =>
      client.embeddings.create({ model: 'e', input: ['a', 'b'], encoding_format: 'float', dimensions: 256, user: 'u' }),
    );
    expect(EmbeddingRequestSchema.parse(arrayBody)).toMatchObject({ input: ['a', 'b'], encoding_format: 'float', dimensions: 256 });
  });

  it('keeps vendor fields so they can be forwarded unchanged, and accepts null for optional fields', () => {
    const parsed = ChatCompletionRequestSchema.parse({
      model: 'llama3',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] },
        { role: 'assistant', content: 'hello', reasoning_content: 'thinking' },
      ],
      keep_alive: '5m',
      options: { num_ctx: 4096 },
      temperature: null,
      max_tokens: null,
      stop: null,
      n: null,
      stream: null,
    });
    expect(parsed).toMatchObject({ keep_alive: '5m', options: { num_ctx: 4096 } });
    expect(parsed.messages[1]).toMatchObject({ reasoning_content: 'thinking' });
    expect(parsed.messages[0]).toMatchObject({ content: [{ cache_control: { type: 'ephemeral' } }] });
  });
});

// ---------------------------------------------------------------------------------------------------------------------

const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

/** Parses, expects failure, and returns the OpenAI-style message both with and without the input at hand. */
function rejected(schema: z.ZodType, body: unknown): { message: string; param: string | null; bare: string } {
  const result = schema.safeParse(body);
  expect(result.success).toBe(false);
  const error = result.error as z.ZodError;
  const reported = schema.safeParse(body, { reportInput: true }).error as z.ZodError;
  // The message is the same whether the value comes from the body or from zod's reportInput.
  expect(zodIssuesMessage(reported)).toEqual(zodIssuesMessage(error, body));
  return { ...zodIssuesMessage(error, body), bare: zodIssuesMessage(error).message };
}

describe('rejected requests', () => {
  it('a wrong role names the field, the value and the supported roles', () => {
    const r = rejected(ChatCompletionRequestSchema, { ...base, messages: [{ role: 'bot', content: 'hi' }] });
    expect(r.param).toBe('messages[0].role');
    expect(r.message).toBe(
      "Invalid value for 'messages[0].role': 'bot'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool'.",
    );
    expect(r.bare).toBe("Invalid value for 'messages[0].role'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool'.");
    expect(rejected(ChatCompletionRequestSchema, { ...base, messages: [{ content: 'hi' }] })).toMatchObject({
      param: 'messages[0].role',
      message: "Missing required parameter: 'messages[0].role'.",
    });
  });

  it('missing or empty messages', () => {
    const missing = rejected(ChatCompletionRequestSchema, { model: 'm' });
    expect(missing).toEqual({ param: 'messages', message: "Missing required parameter: 'messages'.", bare: missing.message });
    expect(rejected(ChatCompletionRequestSchema, { ...base, messages: [] })).toMatchObject({
      param: 'messages',
      message: "Invalid 'messages': empty array. Expected an array with at least 1 item.",
    });
    expect(rejected(ChatCompletionRequestSchema, { ...base, model: '' }).message).toBe(
      "Invalid 'model': empty string. Expected a string with at least 1 character.",
    );
  });

  it('n other than 1', () => {
    expect(rejected(ChatCompletionRequestSchema, { ...base, n: 2 })).toMatchObject({
      param: 'n',
      message: "Invalid 'n': only n=1 is supported; send one request per choice.",
    });
  });

  it('negative or fractional max_tokens', () => {
    expect(rejected(ChatCompletionRequestSchema, { ...base, max_tokens: -5 })).toMatchObject({
      param: 'max_tokens',
      message: "Invalid 'max_tokens': below minimum value. Expected a value >= 1, but got -5 instead.",
    });
    expect(rejected(ChatCompletionRequestSchema, { ...base, max_completion_tokens: 1.5 })).toMatchObject({
      param: 'max_completion_tokens',
      message: "Invalid type for 'max_completion_tokens': expected an integer, but got 1.5 instead.",
    });
  });

  it('a bad tool name', () => {
    const r = rejected(ChatCompletionRequestSchema, { ...base, tools: [{ type: 'function', function: { name: 'get weather' } }] });
    expect(r.param).toBe('tools[0].function.name');
    expect(r.message).toBe(
      "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$', but got 'get weather' instead.",
    );
    expect(
      rejected(ChatCompletionRequestSchema, { ...base, tools: [{ type: 'function', function: { name: 'x'.repeat(65) } }] }).message,
    ).toBe("Invalid 'tools[0].function.name': string too long. Expected <= 64 characters.");
  });

  it('wrong types inside unions name the deepest field', () => {
    expect(rejected(ChatCompletionRequestSchema, { ...base, stop: 5 })).toMatchObject({
      param: 'stop',
      message: "Invalid type for 'stop': expected a string or an array, but got 5 instead.",
    });
    expect(rejected(ChatCompletionRequestSchema, { ...base, stop: ['a', 'b', 'c', 'd', 'e'] }).message).toBe(
      "Invalid 'stop': array too long. Expected <= 4 items, but got 5.",
    );
    expect(
      rejected(ChatCompletionRequestSchema, { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }),
    ).toMatchObject({
      param: 'messages[0].content[0].text',
      message: "Invalid type for 'messages[0].content[0].text': expected a string, but got 5 instead.",
    });
    expect(
      rejected(ChatCompletionRequestSchema, { ...base, messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }),
    ).toMatchObject({
      param: 'messages[0].content[0].type',
    });
    expect(rejected(ChatCompletionRequestSchema, { ...base, tool_choice: 'sometimes' }).message).toBe(
      "Invalid value for 'tool_choice': 'sometimes'. Supported values are: 'none', 'auto', 'required'.",
    );
    expect(rejected(ChatCompletionRequestSchema, { ...base, temperature: 3 }).message).toBe(
      "Invalid 'temperature': above maximum value. Expected a value <= 2, but got 3 instead.",
    );
    expect(rejected(ChatCompletionRequestSchema, { ...base, messages: [{ role: 'tool', content: 'x' }] }).message).toBe(
      "Missing required parameter: 'messages[0].tool_call_id'.",
    );
    expect(rejected(ChatCompletionRequestSchema, [base])).toEqual({
      param: null,
      message: 'Invalid type for the request body: expected an object, but got an array instead.',
      bare: 'Invalid type for the request body: expected an object.',
    });
  });

  it('embedding token arrays, empty strings, too many items, bad encoding', () => {
    for (const input of [
      [1, 2, 3],
      [[1, 2], [3]],
    ]) {
      expect(rejected(EmbeddingRequestSchema, { model: 'e', input })).toMatchObject({
        param: 'input',
        message: "Invalid 'input': token arrays are not supported; send the text as a string or an array of strings.",
      });
    }
    expect(rejected(EmbeddingRequestSchema, { model: 'e', input: ['a', ''] }).param).toBe('input[1]');
    expect(rejected(EmbeddingRequestSchema, { model: 'e', input: Array(2049).fill('a') }).message).toContain('Expected <= 2048 items');
    expect(rejected(EmbeddingRequestSchema, { model: 'e' }).message).toBe("Missing required parameter: 'input'.");
    expect(rejected(EmbeddingRequestSchema, { model: 'e', input: 'a', encoding_format: 'int8' }).message).toBe(
      "Invalid value for 'encoding_format': 'int8'. Supported values are: 'float', 'base64'.",
    );
    expect(rejected(EmbeddingRequestSchema, { model: 'e', input: 'a', dimensions: 0 }).param).toBe('dimensions');
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('upstream responses', () => {
  it('parses OpenAI, Ollama, LocalAI and vLLM completions', () => {
    const ollama = {
      id: 'chatcmpl-712',
      object: 'chat.completion',
      created: 1_733_000_000,
      model: 'llama3.2',
      system_fingerprint: 'fp_ollama',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: '',
            tool_calls: [{ id: 'call_x', index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 },
    };
    expect(ChatCompletionSchema.parse(ollama).choices[0]?.message.tool_calls?.[0]?.function.name).toBe('get_weather');

    const localai = {
      created: 1_733_000_000,
      object: 'chat.completion',
      id: 'a1b2',
      model: 'gpt-4',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hi' } }],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
    expect(ChatCompletionSchema.parse(localai).choices[0]?.message).toEqual({ role: 'assistant', content: 'Hi' });

    const vllm = {
      id: 'chatcmpl-abc',
      object: 'chat.completion',
      created: 1_733_000_000,
      model: 'Qwen/Qwen2.5-1.5B-Instruct',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Hi',
            refusal: null,
            tool_calls: [],
            reasoning_content: null,
            annotations: null,
            audio: null,
          },
          logprobs: null,
          finish_reason: 'stop',
          stop_reason: null,
        },
      ],
      usage: { prompt_tokens: 10, total_tokens: 12, completion_tokens: 2, prompt_tokens_details: null },
      prompt_logprobs: null,
      kv_transfer_params: null,
    };
    const parsed = ChatCompletionSchema.parse(vllm);
    expect(parsed).toMatchObject({ prompt_logprobs: null, choices: [{ stop_reason: null, message: { reasoning_content: null } }] });

    // Tool-call-only answer without content, and without `type` on the call.
    const bare = ChatCompletionSchema.parse({
      ...COMPLETION,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{}' } }] },
          finish_reason: 'tool_calls',
        },
      ],
    });
    expect(bare.choices[0]?.message).toMatchObject({ content: null, tool_calls: [{ type: 'function' }] });

    expect(() =>
      ChatCompletionSchema.parse({ ...COMPLETION, choices: [{ index: 0, message: { role: 'assistant', content: 5 } }] }),
    ).toThrow();
  });

  it('parses chunks with extra, null and empty-string fields', () => {
    const localai = {
      created: 1,
      object: 'chat.completion.chunk',
      id: 'x',
      model: 'm',
      choices: [{ index: 0, finish_reason: '', delta: { content: 'Hi', role: null } }],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
    expect(ChatCompletionChunkSchema.parse(localai).choices[0]).toMatchObject({ finish_reason: null, delta: { content: 'Hi' } });

    const vllm = {
      ...chunk({}),
      choices: [
        {
          index: 0,
          delta: { role: 'assistant', content: null, reasoning_content: null, tool_calls: null },
          logprobs: null,
          finish_reason: null,
          stop_reason: null,
        },
      ],
      usage: null,
      system_fingerprint: null,
    };
    expect(ChatCompletionChunkSchema.parse(vllm).choices[0]?.delta.tool_calls).toBeUndefined();

    // Ollama sends whole tool calls in one delta; older versions left out `index`.
    const ollama = chunk({
      role: 'assistant',
      content: '',
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'a', arguments: '{}' } },
        { id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"x":1}' } },
      ],
    });
    expect(ChatCompletionChunkSchema.parse(ollama).choices[0]?.delta.tool_calls?.map((c) => c.index)).toEqual([0, 1]);

    const fragment = chunk({ tool_calls: [{ index: 1, function: { arguments: '"Par' } }] });
    expect(ChatCompletionChunkSchema.parse(fragment).choices[0]?.delta.tool_calls).toEqual([{ index: 1, function: { arguments: '"Par' } }]);

    const usageOnly = { ...chunk({}), choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
    expect(ChatCompletionChunkSchema.parse(usageOnly).usage?.total_tokens).toBe(3);
  });

  it('parses embeddings, model lists and error bodies as upstreams write them', () => {
    const emb = EmbeddingResponseSchema.parse({
      created: 1,
      id: 'e',
      object: 'list',
      model: 'all-minilm',
      data: [
        { object: 'embedding', index: 0, embedding: [0.1, 0.2] },
        { object: 'embedding', index: 1, embedding: encodeEmbeddingBase64([0.1, 0.2]) },
      ],
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
    expect(typeof emb.data[1]?.embedding).toBe('string');

    expect(ModelListSchema.parse({ object: 'list', data: [{ id: 'gpt-4', object: 'model' }] }).data[0]).toEqual({
      id: 'gpt-4',
      object: 'model',
      created: 0,
      owned_by: 'unknown',
    });

    expect(OpenAIErrorBodySchema.parse({ error: { code: 500, message: 'could not load model', type: '' } })).toEqual({
      error: { code: '500', message: 'could not load model', type: 'api_error', param: null },
    });
    const openai = { error: { message: 'Rate limit', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
    expect(OpenAIErrorBodySchema.parse(openai)).toEqual(openai);
  });
});

describe('openAIError', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [409, 'conflict_error'],
    [413, 'invalid_request_error'],
    [422, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [503, 'api_error'],
  ])('status %i has type %s', async (status, type) => {
    const res = openAIError(status, 'boom');
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ error: { message: 'boom', type, param: null, code: null } });
  });

  it('honours code, param, type and headers', async () => {
    const res = openAIError(429, 'quota', { code: 'insufficient_quota', headers: { 'retry-after': '2' } });
    expect(res.headers.get('retry-after')).toBe('2');
    expect((await res.json()) as unknown).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } });
    const custom = openAIError(400, 'bad', { type: 'x', param: 'messages', headers: { 'content-type': 'text/plain' } });
    expect(custom.headers.get('content-type')).toBe('application/json');
    expect(await custom.json()).toEqual({ error: { message: 'bad', type: 'x', param: 'messages', code: null } });
  });
});

// ---------------------------------------------------------------------------------------------------------------------

const streamOf = (chunks: Uint8Array[], onCancel?: () => void): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
    cancel: onCancel,
  });

async function collect(body: ReadableStream<Uint8Array>): Promise<{ event?: string; data: string }[]> {
  const out: { event?: string; data: string }[] = [];
  for await (const e of parseSSE(body)) out.push(e);
  return out;
}

describe('SSE', () => {
  const wire =
    '\uFEFF: keep-alive comment\r\n' +
    'data: {"a":"héllo wörld 世界 🎉"}\r\n\r\n' +
    'event: error\n' +
    'data: line one\n' +
    'data:line two\n' +
    'id: 7\n' +
    'retry: 1000\n\n' +
    'data\r\r' +
    'event: ignored-without-data\n\n' +
    'data:  two spaces\r\n\r\n' +
    'data: [DONE]\n\n' +
    'data: unterminated';
  const expected = [
    { data: '{"a":"héllo wörld 世界 🎉"}' },
    { event: 'error', data: 'line one\nline two' },
    { data: '' },
    { data: ' two spaces' },
    { data: '[DONE]' },
  ];
  const bytes = new TextEncoder().encode(wire);

  it('parses a stream delivered in one chunk', async () => {
    expect(await collect(streamOf([bytes]))).toEqual(expected);
  });

  it('parses the same events wherever the chunk boundary falls, including inside CRLF and UTF-8 sequences', async () => {
    for (let i = 1; i < bytes.length; i++) {
      expect(await collect(streamOf([bytes.slice(0, i), bytes.slice(i)])), `split at byte ${i}`).toEqual(expected);
    }
    expect(await collect(streamOf(Array.from(bytes, (b) => Uint8Array.of(b))))).toEqual(expected);
  });

  it('round-trips sseEvent, and a CR at the very end still ends its line', async () => {
    const out = [sseEvent({ x: 'a\nb', y: [1] }), sseEvent('[DONE]'), sseEvent('plain', 'note')];
    expect(await collect(streamOf(out))).toEqual([
      { data: '{"x":"a\\nb","y":[1]}' },
      { data: '[DONE]' },
      { event: 'note', data: '"plain"' },
    ]);
    expect(new TextDecoder().decode(sseEvent({ a: 1 }))).toBe('data: {"a":1}\n\n');
    expect(() => sseEvent(1, 'a\nb')).toThrow(TypeError);
    expect(await collect(streamOf([new TextEncoder().encode('data: x\r\r')]))).toEqual([{ data: 'x' }]);
  });

  it('cancels the body when the consumer stops early, and surfaces stream errors', async () => {
    let cancelled = false;
    const body = streamOf([sseEvent(1), sseEvent(2)], () => (cancelled = true));
    for await (const e of parseSSE(body)) {
      expect(e.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);

    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(sseEvent(1));
        controller.error(new Error('socket reset'));
      },
    });
    await expect(collect(failing)).rejects.toThrow('socket reset');
  });
});

describe('base64 float32 embeddings', () => {
  const bufferBase64 = (v: number[]): string => {
    const b = Buffer.alloc(v.length * 4);
    v.forEach((x, i) => b.writeFloatLE(x, i * 4));
    return b.toString('base64');
  };

  it("matches Node's Buffer float32LE encoding for every padding length", () => {
    for (const v of [[], [1], [1, -2], [0.1, 0.2, 0.3], VECTOR, Array.from({ length: 384 }, (_, i) => Math.sin(i) / (i + 1))]) {
      expect(encodeEmbeddingBase64(v)).toBe(bufferBase64(v));
      expect(encodeEmbeddingBase64(Float32Array.from(v))).toBe(bufferBase64(v));
      expect(decodeEmbeddingBase64(bufferBase64(v))).toEqual(Float32Array.from(v));
    }
  });

  it('round-trips special values and accepts missing padding', () => {
    const v = Float32Array.from([NaN, Infinity, -Infinity, -0, 1.4e-45, 3.4028234663852886e38]);
    const back = decodeEmbeddingBase64(encodeEmbeddingBase64(v));
    expect(Array.from(back)).toEqual(Array.from(v));
    expect(Object.is(back[3], -0)).toBe(true);
    expect(decodeEmbeddingBase64(bufferBase64([1, 2]).replace(/=+$/, ''))).toEqual(Float32Array.from([1, 2]));
  });

  it('rejects malformed input', () => {
    expect(() => decodeEmbeddingBase64('AAA*')).toThrow(TypeError);
    expect(() => decodeEmbeddingBase64('AAAAA')).toThrow(TypeError);
    expect(() => decodeEmbeddingBase64('AAAAAAA=')).toThrow(/multiple of 4/);
  });
});
