/**
 * Calls to OpenAI-compatible upstreams (LocalAI, Ollama, vLLM, a cloud API), with a timeout and a classification
 * of every failure into "retry this provider" and/or "fall back to the next one".
 *
 * @module
 */
import type { Candidate, ProviderName, RouterConfig } from './config.ts';

/** One provider/model to call. */
export interface Target {
  provider: ProviderName;
  candidate: Candidate;
  /** `provider/model`, the name used in responses, usage and latency records. */
  name: string;
  baseUrl: string;
  apiKey?: string;
}

export type FailureKind = 'connection' | 'timeout' | 'rate-limit' | 'server' | 'context-length' | 'auth' | 'not-found' | 'rejected';

export class UpstreamError extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(kind: FailureKind, message: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
  /** Worth trying the same provider again after a backoff. */
  get retryable(): boolean {
    return this.kind === 'connection' || this.kind === 'timeout' || this.kind === 'rate-limit' || this.kind === 'server';
  }
  /** Counts against the provider's circuit breaker (the provider, not the request, is at fault). */
  get providerFault(): boolean {
    return this.retryable || this.kind === 'auth';
  }
}

export function targetFor(config: RouterConfig, candidate: Candidate): Target | undefined {
  const name = `${candidate.provider}/${candidate.model}`;
  if (candidate.provider === 'local' && config.localUrl) return { provider: 'local', candidate, name, baseUrl: config.localUrl };
  if (candidate.provider === 'cloud' && config.cloudUrl && config.cloudApiKey) {
    return { provider: 'cloud', candidate, name, baseUrl: config.cloudUrl, apiKey: config.cloudApiKey };
  }
  return undefined;
}

async function errorFromResponse(res: Response): Promise<UpstreamError> {
  let message = `${res.status} ${res.statusText}`.trim();
  let code: unknown;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as { error?: { message?: unknown; code?: unknown } | string; message?: unknown };
      const e = typeof body.error === 'object' ? body.error : undefined;
      message = String(e?.message ?? body.error ?? body.message ?? text).slice(0, 500);
      code = e?.code;
    } catch {
      if (text) message = text.slice(0, 500);
    }
  } catch {
    // the body is unreadable; the status is all we have
  }
  const status = res.status;
  if (code === 'context_length_exceeded' || /context.{0,20}(length|window)|maximum context|too many tokens/i.test(message)) {
    return new UpstreamError('context-length', message, { status });
  }
  if (status === 429) {
    const ra = Number(res.headers.get('retry-after'));
    return new UpstreamError('rate-limit', message, { status, ...(Number.isFinite(ra) && ra >= 0 ? { retryAfterMs: ra * 1000 } : {}) });
  }
  if (status >= 500) return new UpstreamError('server', message, { status });
  if (status === 401 || status === 403) return new UpstreamError('auth', message, { status });
  if (status === 404) return new UpstreamError('not-found', message, { status });
  return new UpstreamError('rejected', message, { status });
}

export interface CallOptions {
  timeoutMs: number;
  /** Aborts the upstream request (client gone). */
  signal?: AbortSignal | undefined;
}

/**
 * POSTs JSON to `<baseUrl>/v1/<path>`. Resolves with the response once its headers arrived with a 2xx status;
 * the timeout covers the time to those headers. Rejects with an {@link UpstreamError}.
 */
export async function post(target: Target, path: string, body: unknown, options: CallOptions): Promise<Response> {
  // NOTE: StarlingMonkey's fetch ignores AbortSignal, so the timeout races the fetch instead of aborting it; the
  // abandoned request is cut by the host when the instance finishes (and by engines that honour the signal).
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new UpstreamError('timeout', `no response from ${target.provider} within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
    let res: Response;
    try {
      res = await Promise.race([
        fetch(`${target.baseUrl}/v1/${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal }),
        timeout,
      ]);
    } catch (cause) {
      if (cause instanceof UpstreamError) throw cause;
      throw new UpstreamError(
        'connection',
        `cannot reach ${target.provider} at ${target.baseUrl}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** `exponential backoff with full jitter`: a random delay in [0, base·2^attempt]. */
export function backoffMs(attempt: number, baseMs: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, 10_000);
  return Math.random() * baseMs * 2 ** attempt;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
