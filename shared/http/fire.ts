/**
 * Serves a fetch-style handler as the component's `wasi:http/incoming-handler`.
 *
 * NOTE: componentize-js's StarlingMonkey engine implements the incoming handler with the service-worker
 * `fetch` event; the listener is registered once, at module evaluation, which Wizer snapshots into the component.
 * The event's type is not in TypeScript's WebWorker lib, hence the local declaration.
 *
 * @module
 */

interface FetchEvent extends Event {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
  waitUntil(promise: Promise<unknown>): void;
}

/** Work registered with {@link afterResponse} during this request (an instance serves exactly one request). */
const deferred: (() => void)[] = [];

/**
 * Runs `work` after the response has been handed to the host, instead of before: bookkeeping (usage, latency,
 * circuit state) then costs the client nothing. The instance stays alive until it is done (`waitUntil`), on Spin as
 * on this project's host. Work that fails is logged; it cannot change the response any more.
 */
export function afterResponse(work: () => void): void {
  deferred.push(work);
}

function runDeferred(): Promise<void> {
  return new Promise((resolve) => {
    // A macrotask: the response body is written before the bookkeeping's host calls start.
    setTimeout(() => {
      for (const work of deferred.splice(0)) {
        try {
          work();
        } catch (err) {
          console.error(`work after the response failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
      resolve();
    }, 0);
  });
}

/** What Hono calls an execution context: `c.executionCtx.waitUntil(promise)` keeps the instance alive for it. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  props: Record<string, unknown>;
}

/** Anything with a `fetch(request, env, ctx)` method, such as a Hono app. */
export interface FetchHandler {
  fetch(request: Request, env?: undefined, ctx?: ExecutionContextLike): Response | Promise<Response>;
}

/**
 * Runs code paths once while the component is initialised, so their bytecode is part of the Wizer snapshot.
 *
 * NOTE: SpiderMonkey compiles a function lazily on its first call, and every request runs in a fresh instance
 * restored from the snapshot, so without this each request re-parses every function it touches (measured: a
 * third of the llm-router's per-request time). Warm-up code must be pure: host APIs (key-value, variables,
 * outbound HTTP) are not available during initialisation, and a call to one aborts the build.
 */
export function warmUp(exercise: () => void, rounds = 2): void {
  for (let i = 0; i < rounds; i++) exercise();
}

/**
 * Serves `app` for every request. The app gets the fetch event's `waitUntil` as its execution context: StarlingMonkey
 * ends an instance as soon as its response is complete, so work that outlives the response (a non-blocking A2A
 * send, bookkeeping) must be registered there or with {@link afterResponse}.
 */
export function fire(app: FetchHandler): void {
  addEventListener('fetch', (event) => {
    const e = event as FetchEvent;
    const ctx: ExecutionContextLike = { waitUntil: (p) => e.waitUntil(p), passThroughOnException: () => {}, props: {} };
    e.respondWith(
      Promise.resolve(app.fetch(e.request, undefined, ctx)).then((response) => {
        if (deferred.length > 0) e.waitUntil(runDeferred());
        return response;
      }),
    );
  });
}
