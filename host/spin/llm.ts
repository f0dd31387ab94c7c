/**
 * `fermyon:spin/llm@2.0.0`, served by a remote model server (`[llm_compute] type = "remote_http"`).
 *
 * As on Spin, a model missing from the component's `ai_models` is refused before any backend is asked, and a
 * missing `params` means Spin's defaults. This host has no local inference engine, so without `[llm_compute]`, or
 * with `type = "spin"`, every call fails the way the Spin CLI built without its `llm` feature fails.
 *
 * `api_type = "open_ai"` speaks the OpenAI API (`POST /v1/chat/completions`, `POST /v1/embeddings`); the
 * `infer` params map onto it as follows (Spin itself sends only `max_completion_tokens` and
 * `frequency_penalty = repeat-penalty`):
 * - the prompt is the single `user` message;
 * - `max-tokens` → `max_tokens` (the field every OpenAI-compatible server accepts);
 * - `temperature` → `temperature`, `top-p` → `top_p`, rounded to the 7 digits an f32 holds (1.1, not 1.100000023841858);
 * - `repeat-penalty` is llama.cpp's multiplicative penalty where 1 means off, while OpenAI's penalties are additive
 *   with 0 meaning off, so `repeat-penalty` > 1 → `frequency_penalty = min(2, repeat-penalty − 1)`, and ≤ 1 (0 is
 *   commonly passed to mean off) sends none;
 * - `top-k` and `repeat-penalty-last-n-token-count` have no OpenAI equivalent and are dropped (OpenAI rejects
 *   unknown fields).
 *
 * `api_type = "default"` speaks Spin's own remote protocol (`crates/llm-remote-http/src/default.rs`, served by the
 * `spin cloud-gpu` plugin): `POST /infer {model, prompt, options}` and `POST /embed {model, input}`, camelCase.
 *
 * Endpoint paths replace any path in `url`, as Rust's `Url::join` does for Spin. Upstream failures become
 * `runtime-error`: `"<status> <message>"` for an error status (the OpenAI `error.message`, else the start of the
 * body), Spin's texts for transport errors, oversized bodies and unparseable answers.
 *
 * @module
 */
import type { LlmComputeConfig } from '../runtime-config.ts';

/** `fermyon:spin/llm.error` as jco represents it. */
export type LlmError = { tag: 'model-not-supported' } | { tag: 'runtime-error'; val: string } | { tag: 'invalid-input'; val: string };

/** `inferencing-params`. */
export interface InferencingParams {
  maxTokens: number;
  repeatPenalty: number;
  repeatPenaltyLastNTokenCount: number;
  temperature: number;
  topK: number;
  topP: number;
}

/** `inferencing-result`. */
export interface InferencingResult {
  text: string;
  usage: { promptTokenCount: number; generatedTokenCount: number };
}

/** `embeddings-result`. */
export interface EmbeddingsResult {
  embeddings: Float32Array[];
  usage: { promptTokenCount: number };
}

/** The `fermyon:spin/llm` import object of one component. */
export interface LlmImport {
  infer(model: string, prompt: string, params: InferencingParams | undefined): Promise<InferencingResult>;
  generateEmbeddings(model: string, text: string[]): Promise<EmbeddingsResult>;
}

/** What Spin uses when `infer` gets no params (`crates/factor-llm/src/host.rs`). */
export const DEFAULT_INFERENCING_PARAMS: Readonly<InferencingParams> = {
  maxTokens: 100,
  repeatPenalty: 1.1,
  repeatPenaltyLastNTokenCount: 64,
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
};

/** Spin's `runtime-error` when no engine can run the model (`crates/factor-llm/src/spin.rs`, the noop engine). */
export const LOCAL_LLM_UNSUPPORTED = 'Local LLM operations are not supported in this version of Spin.';

/** Spin's `invalid-input` for a model missing from `ai_models` (`crates/factor-llm/src/host.rs`). */
export function modelAccessDenied(model: string): string {
  return `The component does not have access to use '${model}'. To give the component access, add '${model}' to the 'ai_models' key for the component in your spin.toml manifest`;
}

/** Spin's cap on a buffered upstream answer (`MAX_HOST_BUFFERED_BYTES`, 128 MiB). */
const MAX_RESULT_BYTES = 128 << 20;

/** Spin sets no timeout; a hung upstream would hold the guest instance forever, so this host gives up eventually. */
const DEFAULT_TIMEOUT_MS = 300_000;

/** How much of a non-JSON error body goes into the error text. */
const EXCERPT_CHARS = 200;

export interface LlmImportOptions {
  /** Per upstream request, body included; default 5 minutes. */
  timeoutMs?: number;
}

interface Backend {
  infer(model: string, prompt: string, params: InferencingParams): Promise<InferencingResult>;
  embed(model: string, text: string[]): Promise<EmbeddingsResult>;
}

/** A failure the guest sees; anything else thrown would trap the instance (jco rethrows `Error`s). */
class LlmFailure {
  readonly error: LlmError;
  constructor(error: LlmError) {
    this.error = error;
  }
}

const runtimeError = (val: string): LlmFailure => new LlmFailure({ tag: 'runtime-error', val });

/**
 * Builds the `fermyon:spin/llm` import for one component.
 * @param config `[llm_compute]` from runtime config, if any
 * @param grantedModels the component's `ai_models`
 */
export function llmImport(
  config: LlmComputeConfig | undefined,
  grantedModels: readonly string[],
  options: LlmImportOptions = {},
): LlmImport {
  const granted = new Set(grantedModels);
  const backend = createBackend(config, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const call = async <T>(model: string, run: () => Promise<T>): Promise<T> => {
    if (!granted.has(model)) throw { tag: 'invalid-input', val: modelAccessDenied(model) } satisfies LlmError;
    try {
      return await run();
    } catch (err) {
      throw err instanceof LlmFailure ? err.error : ({ tag: 'runtime-error', val: message(err) } satisfies LlmError);
    }
  };
  return {
    infer: (model, prompt, params) => call(model, () => backend.infer(model, prompt, params ?? { ...DEFAULT_INFERENCING_PARAMS })),
    generateEmbeddings: (model, text) => call(model, () => backend.embed(model, text)),
  };
}

function createBackend(config: LlmComputeConfig | undefined, timeoutMs: number): Backend {
  if (!config || config.type === 'spin') {
    const fail = (): Promise<never> => Promise.reject(runtimeError(LOCAL_LLM_UNSUPPORTED));
    return { infer: fail, embed: fail };
  }
  const post = (path: string, body: unknown) => postJson(new URL(path, config.url), path, config.authToken, body, timeoutMs);
  return config.apiType === 'open_ai' ? openAiBackend(post) : spinRemoteBackend(post);
}

type Post = (path: string, body: unknown) => Promise<unknown>;

function openAiBackend(post: Post): Backend {
  return {
    async infer(model, prompt, params) {
      const path = '/v1/chat/completions';
      const body: Record<string, unknown> = {
        model,
        messages: [{ role: 'user', content: prompt }],
        max_tokens: params.maxTokens,
        temperature: f32(params.temperature),
        top_p: f32(params.topP),
      };
      if (params.repeatPenalty > 1) body.frequency_penalty = Math.min(2, f32(params.repeatPenalty - 1));
      const r = record(await post(path, body), path);
      openAiError(r);
      const choices = Array.isArray(r.choices) ? r.choices : [];
      const content = (choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content;
      const usage = isRecord(r.usage) ? r.usage : {};
      return {
        text: typeof content === 'string' ? content : '',
        usage: { promptTokenCount: u32(usage.prompt_tokens), generatedTokenCount: u32(usage.completion_tokens) },
      };
    },
    async embed(model, text) {
      const path = '/v1/embeddings';
      const r = record(await post(path, { model, input: text }), path);
      openAiError(r);
      if (!Array.isArray(r.data)) throw deserializeError(path, 'missing field `data`');
      const data = (r.data as unknown[]).map((d) => record(d, path));
      // OpenAI answers in input order and numbers the items; follow the numbers when every item has one.
      if (data.every((d) => typeof d.index === 'number')) data.sort((a, b) => (a.index as number) - (b.index as number));
      const usage = isRecord(r.usage) ? r.usage : {};
      return { embeddings: data.map((d) => vector(d.embedding, path)), usage: { promptTokenCount: u32(usage.prompt_tokens) } };
    },
  };
}

function spinRemoteBackend(post: Post): Backend {
  return {
    async infer(model, prompt, params) {
      const path = '/infer';
      const options = {
        maxTokens: params.maxTokens,
        repeatPenalty: f32(params.repeatPenalty),
        repeatPenaltyLastNTokenCount: params.repeatPenaltyLastNTokenCount,
        temperature: f32(params.temperature),
        topK: params.topK,
        topP: f32(params.topP),
      };
      const r = record(await post(path, { model, prompt, options }), path);
      if (typeof r.text !== 'string') throw deserializeError(path, 'missing field `text`');
      const usage = record(r.usage, path);
      return {
        text: r.text,
        usage: { promptTokenCount: u32(usage.promptTokenCount), generatedTokenCount: u32(usage.generatedTokenCount) },
      };
    },
    async embed(model, text) {
      const path = '/embed';
      const r = record(await post(path, { model, input: text }), path);
      if (!Array.isArray(r.embeddings)) throw deserializeError(path, 'missing field `embeddings`');
      const usage = record(r.usage, path);
      return {
        embeddings: (r.embeddings as unknown[]).map((e) => vector(e, path)),
        usage: { promptTokenCount: u32(usage.promptTokenCount) },
      };
    },
  };
}

/** POSTs JSON and returns the parsed answer; every failure is an {@link LlmFailure}. */
async function postJson(url: URL, path: string, token: string, body: unknown, timeoutMs: number): Promise<unknown> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await readLimited(res);
  } catch (err) {
    if (err instanceof LlmFailure) throw err;
    const why = err instanceof DOMException && err.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : message(err);
    throw runtimeError(`POST ${path} request error: ${why}`);
  }
  if (!res.ok) {
    const detail = errorMessage(text) ?? excerpt(text);
    throw runtimeError(`${res.status} ${detail || res.statusText}`.trimEnd());
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw deserializeError(path, message(err));
  }
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > MAX_RESULT_BYTES) {
      await res.body.cancel().catch(() => {});
      throw runtimeError(`query result exceeds limit of ${MAX_RESULT_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Spin turns an OpenAI `{error: {message}}` answer into `runtime-error(message)`, whatever the status. */
function openAiError(r: Record<string, unknown>): void {
  if (isRecord(r.error) && typeof r.error.message === 'string') throw runtimeError(r.error.message);
}

function errorMessage(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    if (isRecord(v) && isRecord(v.error) && typeof v.error.message === 'string') return v.error.message;
    if (isRecord(v) && typeof v.error === 'string') return v.error;
  } catch {
    // not JSON: the raw excerpt will do
  }
  return undefined;
}

function excerpt(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > EXCERPT_CHARS ? `${t.slice(0, EXCERPT_CHARS)}…` : t;
}

function deserializeError(path: string, why: string): LlmFailure {
  return runtimeError(`Failed to deserialize response for "POST ${path}": ${why}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function record(v: unknown, path: string): Record<string, unknown> {
  if (!isRecord(v)) throw deserializeError(path, 'expected a JSON object');
  return v;
}

function vector(v: unknown, path: string): Float32Array {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw deserializeError(path, 'an embedding is not a list of numbers');
  return Float32Array.from(v as number[]);
}

/** A count as WIT u32; jco traps on anything else, and a sloppy upstream must not crash the guest. */
function u32(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(0xffff_ffff, Math.max(0, Math.trunc(v))) : 0;
}

/** An f32 from the guest at the precision it had there: 0.800000011920929 → 0.8. */
function f32(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(7)) : v;
}

function message(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause && cause !== err.message ? `${err.message}: ${cause}` : err.message;
}
