/**
 * Serving with `waitUntil`: `shared/http/fire.ts` hands the fetch event to Hono as its execution context, so
 * handlers can call `c.executionCtx.waitUntil(promise)`.
 *
 * NOTE: StarlingMonkey ends a request's instance once the response is complete, even with work pending, unless the
 * work was registered with the fetch event's `waitUntil`. A non-blocking A2A send answers with the task at once and
 * runs the agent under `waitUntil` (see `shared/a2a/server.ts`).
 *
 * @module
 */
/** The request's `waitUntil`, when the app is served by `fire()`; undefined otherwise. */
export function waitUntilOf(c: { executionCtx: { waitUntil(p: Promise<unknown>): void } }): ((p: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    // Hono throws when the app was called without an execution context (warm-up, tests under Node).
    return undefined;
  }
}
