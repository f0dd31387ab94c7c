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
}

/** Anything with a `fetch(request)` method, such as a Hono app. */
export interface FetchHandler {
  fetch(request: Request): Response | Promise<Response>;
}

export function fire(app: FetchHandler): void {
  addEventListener('fetch', (event) => {
    const e = event as FetchEvent;
    e.respondWith(app.fetch(e.request));
  });
}
