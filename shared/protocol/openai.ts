/**
 * The OpenAI wire protocol (chat completions, embeddings, models, errors) as zod schemas, plus the SSE and base64
 * helpers a guest needs to speak it without Node APIs.
 *
 * Requests are validated as strictly as the OpenAI API does for the fields we know, but objects are loose: vendor
 * extensions (`reasoning_content`, `cache_control`, `keep_alive`, …) survive parsing and are forwarded unchanged.
 * Response schemas are lenient on purpose: they are used to read real upstreams (LocalAI, Ollama, vLLM,
 * llama.cpp), which add fields and write `null` or `""` where OpenAI omits a value.
 *
 * @module
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------------
// Chat: request

/** Tool and function names as OpenAI accepts them. */
const TOOL_NAME = /^[a-zA-Z0-9_-]+$/;
const ToolNameSchema = z.string().min(1).max(64).regex(TOOL_NAME);

/** A JSON object (`parameters`, `metadata`, …): anything but an array or a primitive. */
const JsonObjectSchema = z.record(z.string(), z.unknown());

export const TextContentPartSchema = z.looseObject({ type: z.literal('text'), text: z.string() });
export type TextContentPart = z.infer<typeof TextContentPartSchema>;

export const ImageContentPartSchema = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
export type ImageContentPart = z.infer<typeof ImageContentPartSchema>;

// Audio and file parts are not used by the router, but the client can send them and an upstream may understand them.
export const AudioContentPartSchema = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
});
export type AudioContentPart = z.infer<typeof AudioContentPartSchema>;

export const FileContentPartSchema = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});
export type FileContentPart = z.infer<typeof FileContentPartSchema>;

export const RefusalContentPartSchema = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
export type RefusalContentPart = z.infer<typeof RefusalContentPartSchema>;

/** A part of a user message. */
export const UserContentPartSchema = z.discriminatedUnion('type', [
  TextContentPartSchema,
  ImageContentPartSchema,
  AudioContentPartSchema,
  FileContentPartSchema,
]);
export type UserContentPart = z.infer<typeof UserContentPartSchema>;

const TextContentSchema = z.union([z.string(), z.array(TextContentPartSchema)]);

/** A tool call made by the model, as it appears in an assistant message. */
export const ToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

export const SystemMessageSchema = z.looseObject({ role: z.literal('system'), content: TextContentSchema, name: z.string().optional() });
export type SystemMessage = z.infer<typeof SystemMessageSchema>;

export const DeveloperMessageSchema = z.looseObject({
  role: z.literal('developer'),
  content: TextContentSchema,
  name: z.string().optional(),
});
export type DeveloperMessage = z.infer<typeof DeveloperMessageSchema>;

export const UserMessageSchema = z.looseObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(UserContentPartSchema)]),
  name: z.string().optional(),
});
export type UserMessage = z.infer<typeof UserMessageSchema>;

export const AssistantMessageSchema = z.looseObject({
  role: z.literal('assistant'),
  // Absent or null when the turn only made tool calls.
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextContentPartSchema, RefusalContentPartSchema]))]).nullish(),
  tool_calls: z.array(ToolCallSchema).optional(),
  name: z.string().optional(),
  refusal: z.string().nullish(),
});
export type AssistantMessage = z.infer<typeof AssistantMessageSchema>;

export const ToolMessageSchema = z.looseObject({ role: z.literal('tool'), content: TextContentSchema, tool_call_id: z.string() });
export type ToolMessage = z.infer<typeof ToolMessageSchema>;

/** One message of a chat request, discriminated on `role`. */
export const ChatMessageSchema = z.discriminatedUnion('role', [
  SystemMessageSchema,
  DeveloperMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/** A function the model may call. */
export const ToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: ToolNameSchema,
    description: z.string().optional(),
    parameters: JsonObjectSchema.optional(),
    strict: z.boolean().nullish(),
  }),
});
export type Tool = z.infer<typeof ToolSchema>;

export const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: ToolNameSchema }) }),
]);
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;

export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: ToolNameSchema,
      description: z.string().optional(),
      schema: JsonObjectSchema.optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

const PositiveIntSchema = z.int().min(1);

/** `POST /v1/chat/completions`. Fields the client may send as `null` accept `null` (the API treats it as absent). */
export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(ChatMessageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: PositiveIntSchema.nullish(),
  max_completion_tokens: PositiveIntSchema.nullish(),
  // One choice per request keeps streaming, caching and fallback simple; callers wanting more repeat the request.
  n: PositiveIntSchema.nullish().refine((n) => n == null || n === 1, 'only n=1 is supported; send one request per choice'),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  tools: z.array(ToolSchema).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: ResponseFormatSchema.optional(),
  seed: z.int().nullish(),
  user: z.string().optional(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Chat: response and stream chunks

/** Upstreams write `""` (LocalAI) or `null` for "not finished"; both become `null`. */
const FinishReasonSchema = z
  .string()
  .nullish()
  .transform((v) => v || null);

export const UsageSchema = z.looseObject({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** A tool call in a response; `type` defaults to `function` for upstreams that leave it out. */
const ResponseToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

export const ChatCompletionChoiceSchema = z.looseObject({
  index: z.number(),
  message: z.looseObject({
    role: z.literal('assistant'),
    content: z.string().nullable().default(null),
    tool_calls: z.array(ResponseToolCallSchema).nullish(),
    refusal: z.string().nullish(),
  }),
  finish_reason: FinishReasonSchema,
  logprobs: z.unknown().optional(),
});
export type ChatCompletionChoice = z.infer<typeof ChatCompletionChoiceSchema>;

/** The answer to a non-streaming chat request. */
export const ChatCompletionSchema = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number(),
  model: z.string(),
  choices: z.array(ChatCompletionChoiceSchema),
  usage: UsageSchema.nullish(),
  system_fingerprint: z.string().nullish(),
});
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

/** A fragment of a tool call in a stream; fragments with the same `index` concatenate. */
export const ToolCallDeltaSchema = z.looseObject({
  index: z.number().optional(),
  id: z.string().nullish(),
  type: z.literal('function').nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});
export type ToolCallDelta = z.infer<typeof ToolCallDeltaSchema> & { index: number };

export const ChatCompletionChunkChoiceSchema = z.looseObject({
  index: z.number(),
  delta: z.looseObject({
    role: z.literal('assistant').nullish(),
    content: z.string().nullish(),
    refusal: z.string().nullish(),
    // Some servers leave out `index` when a delta carries whole calls; their position in the array is the index then.
    tool_calls: z
      .array(ToolCallDeltaSchema)
      .nullish()
      .transform((calls) => calls?.map((c, i): ToolCallDelta => ({ ...c, index: c.index ?? i }))),
  }),
  finish_reason: FinishReasonSchema,
  logprobs: z.unknown().optional(),
});
export type ChatCompletionChunkChoice = z.infer<typeof ChatCompletionChunkChoiceSchema>;

/** One `data:` event of a streamed chat answer. The usage-only chunk at the end has no choices. */
export const ChatCompletionChunkSchema = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number(),
  model: z.string(),
  choices: z.array(ChatCompletionChunkChoiceSchema),
  usage: UsageSchema.nullish(),
  system_fingerprint: z.string().nullish(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Embeddings

const isTokenInput = (v: unknown): boolean =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' || (Array.isArray(x) && x.every((y) => typeof y === 'number')));

/** Text input; token-id arrays are recognised first so the caller learns why they fail instead of a type error. */
const EmbeddingInputSchema = z
  .unknown()
  .superRefine((v, ctx) => {
    if (isTokenInput(v))
      ctx.addIssue({ code: 'custom', message: 'token arrays are not supported; send the text as a string or an array of strings' });
  })
  .pipe(z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]));

/** `POST /v1/embeddings`. The openai client sends `encoding_format: 'base64'` unless told otherwise. */
export const EmbeddingRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: EmbeddingInputSchema,
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: PositiveIntSchema.optional(),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;

export const EmbeddingSchema = z.looseObject({
  object: z.literal('embedding'),
  index: z.number(),
  /** Floats, or little-endian float32 in base64 when the request asked for `base64`. */
  embedding: z.union([z.array(z.number()), z.string()]),
});
export type Embedding = z.infer<typeof EmbeddingSchema>;

export const EmbeddingResponseSchema = z.looseObject({
  object: z.literal('list'),
  data: z.array(EmbeddingSchema),
  model: z.string(),
  usage: z.looseObject({ prompt_tokens: z.number(), total_tokens: z.number() }),
});
export type EmbeddingResponse = z.infer<typeof EmbeddingResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Models

/** One entry of `GET /v1/models`; LocalAI lists only `id` and `object`, so the rest has defaults. */
export const ModelSchema = z.looseObject({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().default(0),
  owned_by: z.string().default('unknown'),
});
export type Model = z.infer<typeof ModelSchema>;

export const ModelListSchema = z.looseObject({ object: z.literal('list'), data: z.array(ModelSchema) });
export type ModelList = z.infer<typeof ModelListSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Errors

/** An OpenAI error body. LocalAI writes a numeric `code` and may leave out `type`; both are normalised. */
export const OpenAIErrorBodySchema = z.looseObject({
  error: z.looseObject({
    message: z.string(),
    type: z
      .string()
      .nullish()
      .transform((t) => t || 'api_error'),
    param: z.string().nullish().default(null),
    code: z
      .union([z.string(), z.number()])
      .nullish()
      .transform((c) => (c == null ? null : String(c))),
  }),
});
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorBodySchema>;

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** An OpenAI-style JSON error response; `type` follows from the status unless given. */
export function openAIError(
  status: number,
  message: string,
  opts: { type?: string; code?: string | null; param?: string | null; headers?: HeadersInit } = {},
): Response {
  const code = opts.code ?? null;
  const type =
    opts.type ??
    (status === 429 && code === 'insufficient_quota'
      ? 'insufficient_quota'
      : (ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')));
  const body: OpenAIErrorBody = { error: { message, type, param: opts.param ?? null, code } };
  const headers = new Headers(opts.headers);
  headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(body), { status, headers });
}

/** `messages[0].content`: the notation OpenAI uses in `param`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `a string ('${v.slice(0, 40)}…')` : `'${v}'`;
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  literal: 'a constant',
};

const quoteAll = (values: readonly unknown[]): string => values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');

/** The value at `path` in `root`, or `undefined`. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

type Issue = z.core.$ZodIssue;

/**
 * The issue of a failed union worth reporting: the branch that got furthest into the value (deepest path), or, when
 * every branch failed at the value's own type, one type issue listing all acceptable types.
 */
function unionIssue(issue: Extract<Issue, { code: 'invalid_union' }>): Issue {
  let best: Issue | undefined;
  const expected: string[] = [];
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    if (first.code === 'invalid_type' && first.path.length === 0) expected.push(EXPECTED[first.expected] ?? first.expected);
    else if (!best || first.path.length > best.path.length) best = first;
  }
  if (best) return { ...best, path: [...issue.path, ...best.path] } as Issue;
  const first = issue.errors[0]?.[0];
  if (!first) return issue; // a discriminator mismatch: no branch was tried
  const alternatives = [...new Set(expected)];
  return {
    ...first,
    path: issue.path,
    expected: alternatives.length > 1 ? `${alternatives.slice(0, -1).join(', ')} or ${alternatives.at(-1)}` : alternatives[0],
  } as Issue;
}

/**
 * One sentence for an OpenAI-style 400 body: names the first offending field (`messages[0].role`), what was expected
 * and, when known, what was sent. Pass the request body as `input` (or parse with `{ reportInput: true }`) for the
 * message to quote the offending value.
 */
export function zodIssuesMessage(error: z.ZodError, input?: unknown): { message: string; param: string | null } {
  const first = error.issues[0];
  if (!first) return { message: 'Invalid request.', param: null };
  let issue: Issue = first;
  // Unions nest (content parts inside a content union): descend until the issue names a concrete field.
  for (let i = 0; i < 8 && issue.code === 'invalid_union'; i++) {
    const next = unionIssue(issue);
    if (next === issue) break;
    issue = next;
  }
  let path = issue.path;
  const known = 'input' in issue || input !== undefined;
  let value = 'input' in issue ? issue.input : valueAt(input, path);
  // zod reports a discriminator mismatch with the whole object as input; OpenAI names the field itself.
  if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string') {
    const key = issue.discriminator;
    if (path.at(-1) !== key) path = [...path, key];
    value = 'input' in issue ? valueAt(issue.input, [key]) : valueAt(input, path);
  }
  const p = formatPath(path);
  const param = p || null;
  const name = p ? `'${p}'` : 'the request body';
  const got = known ? `, but got ${describe(value)} instead` : '';
  const missing = value === undefined && (known || / received undefined$/.test(issue.message));
  if (missing) return { message: p ? `Missing required parameter: ${name}.` : 'The request body is empty; expected a JSON object.', param };

  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message = `Invalid type for ${name}: expected ${EXPECTED[issue.expected] ?? issue.expected}${got}.`;
      break;
    case 'invalid_value':
      message = `Invalid value for ${name}${known ? `: ${describe(value)}` : ''}. Supported values are: ${quoteAll(issue.values)}.`;
      break;
    case 'invalid_union': {
      const options = 'options' in issue && Array.isArray(issue.options) ? (issue.options as unknown[]) : [];
      if (options.length)
        message = `Invalid value for ${name}${known ? `: ${describe(value)}` : ''}. Supported values are: ${quoteAll(options)}.`;
      else message = `Invalid value for ${name}.`;
      break;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const op = `${small ? '>' : '<'}${issue.inclusive === false ? '' : '='}`;
      if (issue.origin === 'array' || issue.origin === 'set') {
        message =
          small && Array.isArray(value) && value.length === 0
            ? `Invalid ${name}: empty array. Expected an array with at least ${bound} item${bound === 1 ? '' : 's'}.`
            : `Invalid ${name}: array too ${small ? 'short' : 'long'}. Expected ${op} ${bound} items${Array.isArray(value) ? `, but got ${value.length}` : ''}.`;
      } else if (issue.origin === 'string') {
        message =
          small && value === ''
            ? `Invalid ${name}: empty string. Expected a string with at least ${bound} character${bound === 1 ? '' : 's'}.`
            : `Invalid ${name}: string too ${small ? 'short' : 'long'}. Expected ${op} ${bound} characters.`;
      } else {
        message = `Invalid ${name}: ${small ? 'below minimum' : 'above maximum'} value. Expected a value ${op} ${bound}${got}.`;
      }
      break;
    }
    case 'invalid_format': {
      const pattern = 'pattern' in issue && typeof issue.pattern === 'string' ? issue.pattern.replace(/^\/(.*)\/[a-z]*$/, '$1') : undefined;
      message = pattern
        ? `Invalid ${name}: string does not match pattern. Expected a string that matches the pattern '${pattern}'${got}.`
        : `Invalid ${name}: expected a valid ${issue.format}${got}.`;
      break;
    }
    case 'unrecognized_keys':
      message = `Unrecognized parameter${issue.keys.length > 1 ? 's' : ''} in ${name}: ${quoteAll(issue.keys)}.`;
      break;
    default:
      message = `Invalid ${name}: ${issue.message}.`;
  }
  return { message: message.replace(/\.\.$/, '.'), param };
}

// ---------------------------------------------------------------------------------------------------------------------
// Server-sent events

const encoder = new TextEncoder();

/** One SSE event: `data: <json>` (or the literal `[DONE]` terminator), optionally preceded by `event: <name>`. */
export function sseEvent(data: unknown, event?: string): Uint8Array {
  if (event !== undefined && /[\r\n]/.test(event)) throw new TypeError('SSE event names cannot contain line breaks');
  // JSON.stringify escapes line breaks, so the payload always fits one `data:` line.
  const payload = data === '[DONE]' ? '[DONE]' : JSON.stringify(data);
  return encoder.encode(`${event === undefined ? '' : `event: ${event}\n`}data: ${payload}\n\n`);
}

/**
 * Parses an SSE stream into events as the HTML spec's event-stream interpretation does: LF, CRLF and CR line ends,
 * multi-line `data`, comments, a leading BOM; an event without a closing blank line at end of stream is dropped.
 * `id` and `retry` are ignored. Returning early cancels the body, which releases an upstream connection.
 */
export async function* parseSSE(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event?: string; data: string }> {
  const reader = body.getReader();
  // `stream: true` holds back a UTF-8 sequence split across chunks; the default ignoreBOM=false strips the BOM.
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event: string | undefined;
  let finished = false;

  /** Completed lines of `buffer`; a trailing CR waits for the next chunk, which may start with its LF. */
  const takeLines = (final: boolean): string[] => {
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c === 10) {
        lines.push(buffer.slice(start, i));
        start = i + 1;
      } else if (c === 13) {
        if (i + 1 === buffer.length && !final) break;
        lines.push(buffer.slice(start, i));
        if (buffer.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
    }
    buffer = buffer.slice(start);
    return lines;
  };

  /** Applies one line; returns the event it completes, if any. */
  const applyLine = (line: string): { event?: string; data: string } | undefined => {
    if (line === '') {
      const out = data.length ? { ...(event ? { event } : {}), data: data.join('\n') } : undefined;
      data = [];
      event = undefined;
      return out;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    return undefined;
  };

  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (const line of takeLines(done)) {
        const out = applyLine(line);
        if (out) yield out;
      }
      if (done) break;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Base64 float32 embeddings

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** A vector as OpenAI's `encoding_format: 'base64'` sends it: little-endian float32, standard base64 with padding. */
export function encodeEmbeddingBase64(v: Float32Array | number[]): string {
  const bytes = new Uint8Array(v.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i] ?? 0, true);
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = ((bytes[i] ?? 0) << 16) | (rest === 2 ? (bytes[i + 1] ?? 0) << 8 : 0);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + (rest === 2 ? B64[(n >> 6) & 63]! : '=') + '=';
  }
  return out;
}

/** The inverse of {@link encodeEmbeddingBase64}; padding is optional. Throws a `TypeError` on malformed input. */
export function decodeEmbeddingBase64(s: string): Float32Array {
  const text = s.replace(/={1,2}$/, '');
  if (text.length % 4 === 1) throw new TypeError('invalid base64: bad length');
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? (B64_INDEX[c] ?? -1) : -1;
    if (d < 0) throw new TypeError(`invalid base64: unexpected character at ${i}`);
    acc = ((acc << 6) | d) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[j++] = (acc >> bits) & 0xff;
    }
  }
  if (bytes.length % 4 !== 0) throw new TypeError(`invalid float32 embedding: ${bytes.length} bytes is not a multiple of 4`);
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
