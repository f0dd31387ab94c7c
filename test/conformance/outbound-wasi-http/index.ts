/** outbound-wasi-http: POST "Hello, world!" to the `url` header's echo server and stream its answer back. */
import { fire } from '../../../shared/http/fire.ts';

fire({
  fetch: async (request) => {
    const url = request.headers.get('url');
    if (!url) return new Response('missing url header', { status: 400 });
    const upstream = await fetch(url, { method: 'POST', body: 'Hello, world!', headers: { 'content-type': 'text/plain' } });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
});
