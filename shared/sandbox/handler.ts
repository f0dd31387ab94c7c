/**
 * The sandbox's HTTP handler: `POST /execute` only; see `components/sandbox/src/index.ts`.
 *
 * NOTE: no router framework here: the answer is built after the submitted code has run in this instance and may
 * have replaced built-ins, so the path from the run to the `Response` uses only values captured beforehand.
 *
 * @module
 */
import { readJsonBody, validate } from '../http/body.ts';
import { errorResponse, HttpError } from '../http/errors.ts';
import { ExecuteRequestSchema, SANDBOX_LIMITS } from '../protocol/sandbox.ts';
import { renderReport, run, type RunOptions } from './runner.ts';

const RealResponse = Response;
const create = Object.create;

/** One run per instance: a second fetch event in the same instance (the code dispatching one) is refused. */
let running = false;

async function execute(request: Request, options: RunOptions): Promise<Response> {
  const body = await readJsonBody(request, SANDBOX_LIMITS.bodyBytes);
  // Oversized code is a 413 like an oversized body, not a validation error.
  const code = (body as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > SANDBOX_LIMITS.codeChars) {
    throw new HttpError(413, 'payload_too_large', `code must be at most ${SANDBOX_LIMITS.codeChars} characters (got ${code.length})`);
  }
  const input = validate(ExecuteRequestSchema, body, 'request');
  if (running) throw new HttpError(409, 'conflict', 'a run is already in progress in this instance');
  running = true;
  const report = await run(input, options);
  const headers = create(null) as Record<string, string>;
  headers['content-type'] = 'application/json';
  const init = create(null) as ResponseInit;
  init.status = 200;
  init.headers = headers;
  return new RealResponse(renderReport(report), init);
}

/** The fetch handler; `options.bare` (benchmarks only) runs code uninstrumented. */
export async function handle(request: Request, options: RunOptions = {}): Promise<Response> {
  try {
    const path = new URL(request.url).pathname;
    if (path !== '/execute' && path !== '/execute/') return errorResponse(404, 'not_found', `no route for ${request.method} ${path}`);
    if (request.method !== 'POST') {
      const res = errorResponse(405, 'method_not_allowed', `${request.method} is not allowed here; allowed: POST`);
      res.headers.set('allow', 'POST');
      return res;
    }
    return await execute(request, options);
  } catch (err) {
    if (err instanceof HttpError) return err.getResponse();
    // Only reachable through a defect of the runner: answer plainly, with no help from built-ins the code may own.
    return new RealResponse('{"error":{"code":"internal","message":"the sandbox failed to render the run"}}', { status: 500 });
  }
}
