/**
 * outbound-wasi-http-no-perms: no `allowed_outbound_hosts`; a request to the `url` header must fail on the
 * response future with `HTTP-request-denied`. Uses `wasi:http` directly, because `fetch` hides the error code.
 */
import { handle } from 'wasi:http/outgoing-handler@0.2.10';
import { Fields, OutgoingRequest, type ErrorCode } from 'wasi:http/types@0.2.10';
import { fire } from '../../../shared/http/fire.ts';

/** `HTTP-request-denied` → `HttpRequestDenied`, as Rust's Debug output names the variant. */
function variantName(tag: string): string {
  return tag
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase())
    .join('');
}

/** A streamed body, so it goes out chunked (the upstream expectation pins a content-length that never matches). */
function streamed(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

fire({
  fetch: (request) => {
    const url = new URL(request.headers.get('url') ?? 'http://localhost:1234/');
    const req = new OutgoingRequest(new Fields());
    req.setScheme(url.protocol === 'https:' ? { tag: 'HTTPS' } : { tag: 'HTTP' });
    req.setAuthority(url.host);
    req.setPathWithQuery(url.pathname + url.search);
    const future = handle(req, undefined);
    future.subscribe().block();
    const result = future.get();
    if (result === undefined || result.tag === 'err') return new Response('future resolved without a value', { status: 500 });
    if (result.val.tag === 'err') {
      const code: ErrorCode = result.val.val;
      return new Response(streamed(`incoming-response#get: ErrorCode::${variantName(code.tag)}`), { status: 500 });
    }
    return new Response(`request was allowed (status ${result.val.val.status()})`, { status: 200 });
  },
});
