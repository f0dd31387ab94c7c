/**
 * The one HTTP error type of the platform's REST endpoints and its JSON rendering:
 * `{ "error": { "code", "message", "details"? } }` with the matching status.
 *
 * @module
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: unknown;

  constructor(status: ContentfulStatusCode, code: string, message: string, options?: { details?: unknown; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.status = status;
    this.code = code;
    this.details = options?.details;
  }

  getResponse(): Response {
    return errorResponse(this.status, this.code, this.message, this.details);
  }
}

export function errorResponse(status: number, code: string, message: string, details?: unknown): Response {
  const error: Record<string, unknown> = { code, message };
  if (details !== undefined) error.details = details;
  return new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json' } });
}

/** `app.onError`: renders {@link HttpError}s; anything else is logged once and becomes a plain 500. */
export function onError(err: Error, _c: Context): Response {
  if (err instanceof HttpError) return err.getResponse();
  console.error(`unhandled error: ${err.stack ?? err.message}`);
  return errorResponse(500, 'internal', 'internal error');
}

/** `app.notFound`. */
export function notFound(c: Context): Response {
  return errorResponse(404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
}
