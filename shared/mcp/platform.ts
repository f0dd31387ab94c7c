/**
 * The platform as the MCP server reaches it: plain HTTP to the api, rag, workflow, sandbox and agent components
 * at base URLs from variables, with the MCP client's `Authorization` header forwarded so every callee applies its
 * own scope checks to the caller's key.
 *
 * NOTE: StarlingMonkey's `fetch` ignores `AbortSignal`, so timeouts race the call with a timer; the abandoned
 * request finishes (or not) in the background and its result is dropped.
 *
 * @module
 */
import { withTimeout } from '../http/timeout.ts';

export type Service = 'api' | 'rag' | 'workflow' | 'sandbox' | 'agents';

/** Base URLs without a trailing slash. */
export type ServiceUrls = Record<Service, string>;

/** A callee answered with an error status, or could not be reached; `message` is meant for the MCP client. */
export class CalleeError extends Error {
  override readonly name = 'CalleeError';
  readonly service: Service;
  /** HTTP status, or 0 when there was no response (unreachable, timed out). */
  readonly status: number;
  /** The callee's `error.code`, when it sent the platform's error body. */
  readonly code: string | undefined;

  constructor(service: Service, status: number, code: string | undefined, message: string) {
    super(message);
    this.service = service;
    this.status = status;
    this.code = code;
  }
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Extra request headers (`accept`, …). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Summarises an error body (`{error: {code, message}}` or anything else) for {@link CalleeError}. */
export function describeErrorBody(text: string): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } | string; message?: unknown };
    const e = parsed.error;
    if (typeof e === 'object' && e !== null) {
      return {
        code: typeof e.code === 'string' ? e.code : undefined,
        message: typeof e.message === 'string' ? e.message : undefined,
      };
    }
    if (typeof e === 'string') return { message: e };
    if (typeof parsed.message === 'string') return { message: parsed.message };
  } catch {
    // not JSON: fall through to the raw text
  }
  const trimmed = text.trim();
  return { message: trimmed === '' ? undefined : trimmed.slice(0, 300) };
}

/** One MCP request's view of the platform. */
export class Platform {
  readonly urls: ServiceUrls;
  readonly authorization: string | undefined;
  private readonly fetcher: typeof fetch;

  constructor(urls: ServiceUrls, authorization: string | undefined, fetcher: typeof fetch = (input, init) => fetch(input, init)) {
    this.urls = urls;
    this.authorization = authorization;
    this.fetcher = fetcher;
  }

  /** Sends a request and returns the response as is (for streams); network failures and timeouts become {@link CalleeError}s. */
  async send(service: Service, path: string, options: CallOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    const init: RequestInit = { method: options.method ?? (options.body === undefined ? 'GET' : 'POST'), headers };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const url = `${this.urls[service]}${path}`;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      return await withTimeout(
        this.fetcher(url, init),
        timeoutMs,
        () => new CalleeError(service, 0, 'timeout', `${service} did not answer within ${timeoutMs} ms`),
      );
    } catch (err) {
      if (err instanceof CalleeError) throw err;
      throw new CalleeError(service, 0, 'unreachable', `${service} is unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Sends a request and parses the JSON answer; a non-2xx status becomes a {@link CalleeError} with the callee's message. */
  async json<T = unknown>(service: Service, path: string, options: CallOptions = {}): Promise<T> {
    const res = await this.send(service, path, options);
    const text = await res.text();
    if (!res.ok) throw calleeError(service, res.status, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CalleeError(service, res.status, 'invalid_response', `${service} answered ${res.status} with a body that is not JSON`);
    }
  }
}

/** The {@link CalleeError} for an error response. */
export function calleeError(service: Service, status: number, text: string): CalleeError {
  const { code, message } = describeErrorBody(text);
  const what = code ? `${status} ${code}` : String(status);
  return new CalleeError(service, status, code, `${service} answered ${what}${message ? `: ${message}` : ''}`);
}
