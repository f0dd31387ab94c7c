/**
 * Reading and validating JSON request bodies for the REST endpoints, with the platform's error responses:
 * 413 `payload_too_large`, 400 `invalid_json`, 400 `invalid_request` with zod issues as `details`.
 *
 * @module
 */
import type { z } from 'zod';
import { HttpError } from './errors.ts';

/**
 * The body as text, refusing more than `limit` bytes: at once when `content-length` says so, otherwise while
 * reading, so a chunked upload is never buffered beyond the limit.
 */
export async function readBodyText(req: Request, limit: number): Promise<string> {
  const tooLarge = () => new HttpError(413, 'payload_too_large', `the request body exceeds the limit of ${limit} bytes`);
  const declared = Number(req.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Stop reading: the host discards the rest of the body when the response is sent.
      reader.releaseLock();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the request body is not valid UTF-8');
  }
}

/** Parses a JSON body (see {@link readBodyText}); an empty or malformed body is a 400 `invalid_json`. */
export async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  const text = await readBodyText(req, limit);
  if (text.trim() === '') throw new HttpError(400, 'invalid_json', 'the request body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // The engine's message names the position of the syntax error, which helps whoever wrote the body.
    throw new HttpError(400, 'invalid_json', `the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Validates `value`; a failure is a 400 `invalid_request` whose `details` are the zod issues. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw invalidRequest(parsed.error.issues, what);
}

/** A 400 `invalid_request` from issues: the message summarises the first, `details` holds them all. */
export function invalidRequest(issues: readonly { path: readonly PropertyKey[]; message: string }[], what = 'request'): HttpError {
  const first = issues[0];
  const where = first && first.path.length > 0 ? `${first.path.map(String).join('.')}: ` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new HttpError(400, 'invalid_request', `invalid ${what}: ${where}${first?.message ?? 'invalid value'}${more}`, {
    details: issues.map((i) => ({ ...i, path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) })),
  });
}

/**
 * The query parameters of `url` as a record. Empty values count as absent (`?kind=&limit=` is no filter); a
 * parameter given twice is a 400 rather than a silent choice between the two.
 */
export function queryParams(url: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URL(url).searchParams) {
    if (v === '') continue;
    if (k in out) throw new HttpError(400, 'invalid_request', `query parameter ${k} is given more than once`);
    out[k] = v;
  }
  return out;
}
