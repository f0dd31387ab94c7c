/** request-shape: route `/base/:path_segment/:path_end/...`, GET `/base/path/end/rest?key=value`, Host example.com. */
import { fire } from '../../../shared/http/fire.ts';
import { check, expectEqual, run } from '../shared.ts';

const EXPECTED: Record<string, string> = {
  'spin-raw-component-route': '/base/:path_segment/:path_end/...',
  'spin-matched-route': '/base/:path_segment/:path_end/...',
  'spin-component-route': '/base/:path_segment/:path_end',
  'spin-path-info': '/rest',
  'spin-base-path': '/',
  'spin-path-match-path-segment': 'path',
  'spin-path-match-path-end': 'end',
};

fire({
  fetch: (request) =>
    run(() => {
      expectEqual(request.method, 'GET', 'method');
      const url = new URL(request.url);
      expectEqual(url.host, 'example.com', 'authority');
      expectEqual(url.pathname + url.search, '/base/path/end/rest?key=value', 'path-with-query');
      check(url.protocol === 'http:' || url.protocol === 'https:', `scheme ${url.protocol}`);
      // A repeated header would arrive joined with ", ", so exact equality also proves "exactly one".
      for (const [name, value] of Object.entries(EXPECTED)) expectEqual(request.headers.get(name), value, name);
      const full = request.headers.get('spin-full-url') ?? '';
      check(/^https?:\/\/example\.com\/base\/path\/end\/rest\?key=value$/.test(full), `spin-full-url ${full}`);
      const addr = request.headers.get('spin-client-addr');
      if (addr !== null) check(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(addr), `spin-client-addr ${addr}`);
      const allowed = new Set([...Object.keys(EXPECTED), 'spin-full-url', 'spin-client-addr']);
      for (const [name] of request.headers) {
        if ((name.startsWith('spin-') || name.startsWith('spin_')) && !allowed.has(name)) throw new Error(`unexpected header ${name}`);
      }
    }),
});
