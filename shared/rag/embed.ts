/**
 * Embeddings through the LLM router (`POST {router_url}/v1/embeddings`), in batches.
 *
 * @module
 */
import { HttpError } from '../http/errors.ts';
import { EmbeddingResponseSchema } from '../protocol/openai.ts';

/** Inputs per router request, and their total size: well under the router's 4 MiB request limit. */
const BATCH_INPUTS = 96;
const BATCH_CHARS = 384 * 1024;
/** Batches in flight at once. */
const PARALLEL = 4;
const TIMEOUT_MS = 120_000;

export interface EmbedOptions {
  routerUrl: string;
  model: string;
  dimensions?: number | undefined;
  /** The caller's `Authorization` header, forwarded so the router charges the caller's key. */
  authorization?: string | undefined;
  /** Extra headers for the router (usage scope). */
  headers?: Record<string, string>;
}

export interface Embedded {
  /** The model the router actually used (`builtin/offline`, `local/all-minilm-l6-v2`, …). */
  model: string;
  vectors: number[][];
}

function batches(inputs: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let size = 0;
  for (const text of inputs) {
    if (cur.length > 0 && (cur.length >= BATCH_INPUTS || size + text.length > BATCH_CHARS)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(text);
    size += text.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** `fetch` with a deadline (the engine's fetch ignores AbortSignal, so the timer races it). */
async function fetchWithTimeout(url: string, init: RequestInit): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
  });
  try {
    return await Promise.race([fetch(url, init), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function embedBatch(inputs: string[], opts: EmbedOptions): Promise<Embedded> {
  const url = `${opts.routerUrl.replace(/\/+$/, '')}/v1/embeddings`;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.authorization) headers.authorization = opts.authorization;
  const body = JSON.stringify({
    model: opts.model,
    input: inputs,
    encoding_format: 'float',
    ...(opts.dimensions !== undefined ? { dimensions: opts.dimensions } : {}),
  });
  let res: Response;
  try {
    res = await fetchWithTimeout(url, { method: 'POST', headers, body });
  } catch (err) {
    throw new HttpError(
      503,
      'embeddings_unavailable',
      `the LLM router at ${opts.routerUrl} is unreachable: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const text = await res.text();
  if (!res.ok) {
    let reason = text.slice(0, 500);
    try {
      const j = JSON.parse(text) as { error?: { message?: string } };
      if (typeof j.error?.message === 'string') reason = j.error.message;
    } catch {
      // not JSON: keep the text
    }
    if (res.status === 401 || res.status === 403) {
      // The caller's key is forwarded: a key the router does not accept cannot embed (the router wants `invoke`).
      throw new HttpError(
        res.status,
        res.status === 401 ? 'unauthorized' : 'forbidden',
        `embedding needs the LLM router, which refused this API key (${res.status}: ${reason}); ` +
          'vector and hybrid search and ingest need a key with the invoke scope, keyword search needs read only',
      );
    }
    throw new HttpError(502, 'embeddings_failed', `the LLM router refused to embed with '${opts.model}' (${res.status}): ${reason}`);
  }
  let parsed;
  try {
    parsed = EmbeddingResponseSchema.parse(JSON.parse(text));
  } catch {
    throw new HttpError(502, 'embeddings_failed', 'the LLM router answered with something that is not an embeddings response');
  }
  const vectors: number[][] = new Array(inputs.length);
  for (const d of parsed.data) {
    if (typeof d.embedding === 'string')
      throw new HttpError(502, 'embeddings_failed', 'the LLM router sent base64 embeddings after float was asked for');
    vectors[d.index] = d.embedding;
  }
  for (let i = 0; i < inputs.length; i++) {
    if (!vectors[i]) throw new HttpError(502, 'embeddings_failed', `the LLM router returned no embedding for input ${i}`);
  }
  return { model: parsed.model, vectors };
}

/**
 * Embeds `inputs` in batches (a few at a time). Every batch must come back from the same model: a router falling
 * back mid-document to another provider would mix vector spaces, which is refused (409).
 */
export async function embed(inputs: string[], opts: EmbedOptions): Promise<Embedded> {
  const groups = batches(inputs);
  const results: Embedded[] = new Array(groups.length);
  for (let i = 0; i < groups.length; i += PARALLEL) {
    const slice = groups.slice(i, i + PARALLEL);
    const done = await Promise.all(slice.map((g) => embedBatch(g, opts)));
    done.forEach((r, j) => (results[i + j] = r));
  }
  const model = results[0]?.model ?? opts.model;
  for (const r of results) {
    if (r.model !== model) {
      throw new HttpError(
        409,
        'embedding_model_changed',
        `the router switched models mid-request (${model}, then ${r.model}); retry when it is stable`,
      );
    }
  }
  return { model, vectors: results.flatMap((r) => r.vectors) };
}

/** pgvector's text form of a vector. */
export function vectorLiteral(v: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i > 0 ? ',' : '') + (Number.isFinite(v[i]!) ? v[i]! : 0);
  return `${s}]`;
}
