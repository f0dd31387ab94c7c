/**
 * The browser's client of the platform API: JSON requests with the user's API key, event streams, and one error
 * type that carries whatever the server said (`{error: {code, message, details}}`, the router's OpenAI-style
 * errors, or a bare status) so the page can show it plainly.
 *
 * @module
 */
import { readSse, type SseEvent } from './sse.ts';

/** A validation problem as the API reports it in `details` (zod issues). */
export interface Issue {
  path: (string | number)[];
  message: string;
}

/** A failed API call: `status` 0 means the server was not reached at all. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly issues: Issue[];

  constructor(status: number, code: string, message: string, issues: Issue[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The zod-shaped issues in an error's `details`, if that is what it holds. */
export function issuesOf(details: unknown): Issue[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((d) =>
    isRecord(d) && typeof d.message === 'string'
      ? [{ path: Array.isArray(d.path) ? d.path.filter((p) => typeof p === 'string' || typeof p === 'number') : [], message: d.message }]
      : [],
  );
}

/** An {@link ApiError} from a response body's text (JSON error bodies of either shape, or anything else). */
export function errorFromBody(status: number, statusText: string, text: string): ApiError {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body) && isRecord(body.error) && typeof body.error.message === 'string') {
      const e = body.error;
      const code = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : `http_${status}`;
      return new ApiError(status, code, e.message as string, issuesOf(e.details));
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const snippet = text.trim().slice(0, 300);
  return new ApiError(status, `http_${status}`, snippet || statusText || `HTTP ${status}`);
}

export interface ApiOptions {
  /** The key to send, or null to send none. */
  key(): string | null;
  /** Called with every 401 before the error is thrown, so the page can ask for a key. */
  onUnauthorized?(error: ApiError): void;
  /** The global fetch by default; tests pass their own. */
  fetch?: typeof fetch;
}

/** Calls the platform's API on the page's own origin. */
export class Api {
  readonly #options: ApiOptions;

  constructor(options: ApiOptions) {
    this.#options = options;
  }

  async #send(method: string, path: string, body: unknown, accept: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept };
    const key = this.#options.key();
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
      if (signal) init.signal = signal;
      res = await (this.#options.fetch ?? fetch)(path, init);
    } catch (err) {
      if (signal?.aborted) throw new ApiError(0, 'aborted', 'the request was stopped');
      throw new ApiError(0, 'network_error', `could not reach the server (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!res.ok) {
      const error = errorFromBody(res.status, res.statusText, await res.text().catch(() => ''));
      if (res.status === 401) this.#options.onUnauthorized?.(error);
      throw error;
    }
    return res;
  }

  /** A JSON request; resolves to the parsed body (undefined for 204). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#send(method, path, body, 'application/json');
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    try {
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch {
      throw new ApiError(res.status, 'bad_response', `the server answered ${path} with something that is not JSON`);
    }
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** A POST answered with `text/event-stream`: yields events as they arrive; `signal` stops the request. */
  async *stream(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<SseEvent> {
    const res = await this.#send('POST', path, body, 'text/event-stream', signal);
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream') || !res.body) {
      throw new ApiError(
        res.status,
        'bad_response',
        `expected an event stream from ${path}, got ${res.headers.get('content-type') ?? 'nothing'}`,
      );
    }
    yield* readSse(res.body);
  }
}

/** `encodeURIComponent` for each path segment. */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}
