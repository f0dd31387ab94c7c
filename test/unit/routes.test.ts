import { describe, expect, it } from 'vitest';
import type { HostError } from '../../host/errors.ts';
import type { HttpTrigger } from '../../host/manifest.ts';
import { parseManifest } from '../../host/manifest.ts';
import { basedRoute, chainedHeaders, Router, spinHeaders, wellKnown } from '../../host/routes.ts';
import type { RouteMatch, TriggerMatch } from '../../host/routes.ts';

/** A router over `[componentId, route]` pairs, in declaration order. */
function router(routes: [string, HttpTrigger['route']][]): Router {
  const triggers: HttpTrigger[] = routes.map(([component, route], index) => ({
    id: `trigger-${index}`,
    route,
    component,
    executor: { type: 'http' },
    index,
  }));
  return new Router({ triggers, components: {} });
}

function routed(r: Router, path: string): TriggerMatch {
  const m = r.match(path);
  if (m?.kind !== 'trigger') throw new Error(`expected ${path} to match a trigger, got ${JSON.stringify(m)}`);
  return m;
}

const key = (r: Router, path: string) => {
  const m: RouteMatch | null = r.match(path);
  return m?.kind === 'trigger' ? m.key : m;
};

function routeError(routes: [string, HttpTrigger['route']][]): HostError {
  try {
    router(routes);
  } catch (err) {
    return err as HostError;
  }
  throw new Error('expected the router to be rejected');
}

describe('basedRoute', () => {
  it('adds a leading slash and removes one trailing slash', () => {
    expect(basedRoute('/')).toBe('');
    expect(basedRoute('')).toBe('');
    expect(basedRoute('foo')).toBe('/foo');
    expect(basedRoute('/foo/')).toBe('/foo');
    expect(basedRoute('/foo//')).toBe('/foo/');
    expect(basedRoute('/foo/...')).toBe('/foo/...');
  });
});

describe('Router.match', () => {
  it('matches exact routes with leading/trailing slashes trimmed', () => {
    const r = router([
      ['foo', '/foo'],
      ['foobar', '/foo/bar'],
    ]);
    expect(key(r, '/foo')).toBe('foo');
    expect(key(r, '/foo/')).toBe('foo');
    expect(key(r, '//foo//')).toBe('foo');
    expect(key(r, '/foo/bar')).toBe('foobar');
    expect(key(r, '/foo/x')).toBeNull();
    expect(key(r, '/foobar')).toBeNull();
    expect(key(r, '/')).toBeNull();
  });

  it('matches /foo/... on /foo, /foo/ and deeper paths but not /foobar', () => {
    const r = router([['foo', '/foo/...']]);
    expect(routed(r, '/foo').pathInfo).toBe('');
    expect(routed(r, '/foo/').pathInfo).toBe('/');
    expect(routed(r, '/foo/a/b').pathInfo).toBe('/a/b');
    expect(key(r, '/foobar')).toBeNull();
  });

  it('treats /x/* like /x/...', () => {
    const r = router([['star', '/api/*']]);
    const m = routed(r, '/api/v1/items');
    expect(m.pathInfo).toBe('/v1/items');
    expect(m.basedRoute).toBe('/api/*');
    expect(routed(r, '/api').pathInfo).toBe('');
  });

  it('reports path-info for /users/:userid/... (Spin test_http_routing)', () => {
    const r = router([['users', '/users/:userid/...']]);
    expect(routed(r, '/users/42').pathInfo).toBe('');
    expect(routed(r, '/users/42/').pathInfo).toBe('/');
    expect(routed(r, '/users/42/hello/').pathInfo).toBe('/hello/');
    expect(routed(r, '/users/42/hello').params).toEqual([['userid', '42']]);
    expect(key(r, '/users')).toBeNull();
    expect(key(r, '/users/')).toBeNull();
  });

  it('matches everything with /..., including / (path-info "/")', () => {
    const r = router([['all', '/...']]);
    expect(routed(r, '/').pathInfo).toBe('/');
    expect(routed(r, '/foo/bar').pathInfo).toBe('/foo/bar');
    expect(routed(r, '/abc/').pathInfo).toBe('/abc/');
    expect(routed(r, '/1/2/3').pathInfo).toBe('/1/2/3');
    expect(routed(r, '/this/should/be/captured?abc=def').pathInfo).toBe('/this/should/be/captured');
  });

  it('routes / only to a root route', () => {
    const r = router([
      ['root', '/'],
      ['foo', '/foo'],
    ]);
    expect(key(r, '/')).toBe('root');
    expect(key(r, '')).toBe('root');
    expect(routed(r, '/').basedRoute).toBe('');
    expect(routed(r, '/').pathInfo).toBe('');
  });

  it('uses the raw path: no percent-decoding, query ignored', () => {
    const r = router([
      ['space', '/a b'],
      ['encoded', '/a%20c'],
    ]);
    expect(key(r, '/a%20b')).toBeNull();
    expect(key(r, '/a%20c')).toBe('encoded');
    expect(key(r, '/a%20c?x=1')).toBe('encoded');
    const p = router([['p', '/files/:name']]);
    expect(routed(p, '/files/a%2Fb').params).toEqual([['name', 'a%2Fb']]);
  });

  it('captures named parameters', () => {
    expect(routed(router([['c', '/1/:two/3']]), '/1/2/3').params).toEqual([['two', '2']]);
    expect(routed(router([['c', '/1/:two/...']]), '/1/2/3').params).toEqual([['two', '2']]);
    const dotted = router([['c', '/files/:name.:ext']]);
    expect(routed(dotted, '/files/report.pdf').params).toEqual([
      ['name', 'report'],
      ['ext', 'pdf'],
    ]);
    expect(key(dotted, '/files/report')).toBeNull();
    // A repeated name keeps its last value, as Spin's map of captures does.
    expect(routed(router([['c', '/:a/:a']]), '/x/y').params).toEqual([['a', 'y']]);
  });

  it('is case-sensitive', () => {
    expect(key(router([['c', '/Foo']]), '/foo')).toBeNull();
  });
});

describe('Router precedence', () => {
  it('prefers exact over wildcard, and the longest literal prefix (RF tests)', () => {
    const r = router([
      ['wild', '/...'],
      ['users-wild', '/users/...'],
      ['admin', '/users/admin'],
    ]);
    expect(key(r, '/users/admin')).toBe('admin');
    expect(key(r, '/users/bob')).toBe('users-wild');
    expect(key(r, '/other')).toBe('wild');
    expect(
      key(
        router([
          ['one_exact', '/one'],
          ['wildcard', '/...'],
        ]),
        '/one',
      ),
    ).toBe('one_exact');
  });

  it('respects the longest match regardless of declaration order', () => {
    const routes: [string, string][] = [
      ['one_wildcard', '/one/...'],
      ['onetwo_wildcard', '/one/two/...'],
      ['onetwothree_wildcard', '/one/two/three/...'],
    ];
    expect(key(router(routes), '/one/two/three/four')).toBe('onetwothree_wildcard');
    expect(key(router([...routes].reverse()), '/one/two/three/four')).toBe('onetwothree_wildcard');
    expect(key(router(routes), '/one/two')).toBe('onetwo_wildcard');
  });

  it('is decided by the leftmost difference: /x/... beats /:a/b for /x/b', () => {
    for (const routes of [
      [
        ['param', '/:a/b'],
        ['prefix', '/x/...'],
      ],
      [
        ['prefix', '/x/...'],
        ['param', '/:a/b'],
      ],
    ] as [string, string][][]) {
      const r = router(routes);
      expect(key(r, '/x/b')).toBe('prefix');
      expect(key(r, '/y/b')).toBe('param');
    }
  });

  it('prefers literal > param > wildcard segment by segment', () => {
    const routes: [string, string][] = [
      ['wild', '/a/...'],
      ['param', '/a/:id'],
      ['literal', '/a/new'],
    ];
    // Declaration order must not matter when shapes differ.
    for (const order of [routes, [...routes].reverse()]) {
      const r = router(order);
      expect(r.routes.map((x) => x.key)).toEqual(['literal', 'param', 'wild']);
      expect(key(r, '/a/new')).toBe('literal');
      expect(key(r, '/a/7')).toBe('param');
      expect(key(r, '/a/7/x')).toBe('wild');
      expect(key(r, '/a')).toBe('wild');
    }
  });

  it('prefers the exact route over a same-prefix wildcard, and the root over /...', () => {
    const r = router([
      ['wild', '/foo/...'],
      ['exact', '/foo'],
    ]);
    expect(key(r, '/foo')).toBe('exact');
    expect(key(r, '/foo/')).toBe('exact');
    expect(key(r, '/foo/x')).toBe('wild');
    const root = router([
      ['all', '/...'],
      ['root', '/'],
    ]);
    expect(key(root, '/')).toBe('root');
    expect(key(root, '/x')).toBe('all');
  });

  it('prefers more dots on a full tie', () => {
    const r = router([
      ['slash', '/:a/json'],
      ['dot', '/:a.json'],
    ]);
    expect(r.routes.map((x) => x.key)).toEqual(['dot', 'slash']);
  });

  it('lets the earlier declaration win between routes of the same shape', () => {
    const r = router([
      ['first', '/:a'],
      ['second', '/:b'],
    ]);
    expect(key(r, '/x')).toBe('first');
    const r2 = router([
      ['second', '/:b'],
      ['first', '/:a'],
    ]);
    expect(key(r2, '/x')).toBe('second');
    // "/foo" and "/foo/" are different raw routes with the same shape.
    expect(
      key(
        router([
          ['a', '/foo/'],
          ['b', '/foo'],
        ]),
        '/foo',
      ),
    ).toBe('a');
  });

  it('keeps Spin’s listing order (order_of_reachable_routes_is_preserved)', () => {
    const r = router([
      ['comp-/', '/'],
      ['comp-/foo', '/foo'],
      ['comp-/bar', '/bar'],
      ['comp-/whee/...', '/whee/...'],
    ]);
    expect(r.routes.map((x) => x.key)).toEqual(['comp-/', 'comp-/foo', 'comp-/bar', 'comp-/whee/...']);
  });
});

describe('Router duplicates, private and reserved routes', () => {
  it('lets the last duplicate win and reports each replaced route', () => {
    const r = router([
      ['comp-first /', '/'],
      ['comp-second /', '/'],
      ['comp-first /foo', '/foo'],
      ['comp-second /foo', '/foo'],
      ['comp-first /...', '/...'],
      ['comp-second /...', '/...'],
      ['comp-first /whee/...', '/whee/...'],
      ['comp-second /whee/...', '/whee/...'],
    ]);
    expect(r.duplicates).toEqual([
      { route: '/', replacedKey: 'comp-first /', effectiveKey: 'comp-second /' },
      { route: '/foo', replacedKey: 'comp-first /foo', effectiveKey: 'comp-second /foo' },
      { route: '/...', replacedKey: 'comp-first /...', effectiveKey: 'comp-second /...' },
      { route: '/whee/...', replacedKey: 'comp-first /whee/...', effectiveKey: 'comp-second /whee/...' },
    ]);
    expect(r.routes).toHaveLength(4);
    expect(key(r, '/foo')).toBe('comp-second /foo');
  });

  it('keeps the first declaration’s position for the winning duplicate', () => {
    const r = router([
      ['a', '/:x'],
      ['b', '/:y'],
      ['c', '/:x'],
    ]);
    expect(r.routes.map((x) => x.key)).toEqual(['c', 'b']);
    expect(key(r, '/z')).toBe('c');
  });

  it('does not route private triggers', () => {
    const r = router([
      ['public', '/foo'],
      ['secret', { private: true }],
    ]);
    expect(r.routes.map((x) => x.key)).toEqual(['public']);
    expect(r.triggerForComponent('secret')?.route).toEqual({ private: true });
    expect(r.triggerForComponent('nobody')).toBeUndefined();
  });

  it('rejects { private = false }', () => {
    const err = routeError([['comp-bad component', { private: false } as unknown as { private: true }]]);
    expect(err.code).toBe('route-invalid');
    expect(err.message).toContain('comp-bad component');
    expect(err.message).toContain('{ private = false }');
  });

  it('rejects patterns routefinder cannot use', () => {
    expect(routeError([['c', '/files/*name']]).message).toBe(
      "Error parsing route /files/*name associated with component c: since there can only be one wildcard, it doesn't need a name. replace `*name` with `*`\nhint: routes are literal segments, `:name` parameters and an optional trailing `/...`",
    );
    expect(routeError([['c', '/a/:/b']]).reason).toContain('params must be named');
    expect(routeError([['c', '/a/*/b']]).reason).toContain('wildcard must be the last segment');
  });

  it('answers /.well-known/spin/ itself, before app routes', () => {
    const r = router([['all', '/...']]);
    expect(r.match('/.well-known/spin/health')).toEqual({ kind: 'well-known', name: 'health' });
    expect(r.match('/.well-known/spin/info')).toEqual({ kind: 'well-known', name: 'info' });
    expect(r.match('/.well-known/spin/info?x=1')).toEqual({ kind: 'well-known', name: 'info' });
    expect(r.match('/.well-known/spin/health/')).toEqual({ kind: 'well-known', name: 'not-found' });
    expect(r.match('/.well-known/spin/other')).toEqual({ kind: 'well-known', name: 'not-found' });
    expect(r.match('/.well-known/spin/')).toEqual({ kind: 'well-known', name: 'not-found' });
    expect(key(r, '/.well-known/spin')).toBe('all');
    expect(wellKnown('/.well-known/spindle')).toBeUndefined();
  });

  it('flags routes under the reserved prefix', () => {
    expect(router([['c', '/.well-known/spin/...']]).hasReservedRoute).toBe(true);
    expect(router([['c', '/.well-known/spin/fie']]).hasReservedRoute).toBe(true);
    expect(router([['c', '/.well-known/spindle/...']]).hasReservedRoute).toBe(false);
    expect(router([['c', '/.well-known/spi/...']]).hasReservedRoute).toBe(false);
    expect(router([['c', '/.well-known/spin']]).hasReservedRoute).toBe(false);
  });

  it('routes static responses by trigger id', () => {
    const triggers: HttpTrigger[] = [
      {
        id: 'teapot',
        route: '/tea',
        staticResponse: { statusCode: 418, headers: [], body: 'short and stout' },
        executor: { type: 'http' },
        index: 0,
      },
    ];
    const r = new Router({ triggers, components: {} });
    expect(routed(r, '/tea').key).toBe('teapot');
    expect(routed(r, '/tea').trigger.staticResponse?.statusCode).toBe(418);
  });
});

describe('spinHeaders', () => {
  it('computes the request-shape example of the spec', () => {
    const r = router([['cart', '/users/:userid/cart/...']]);
    const m = routed(r, '/users/1/cart/items/3/edit');
    expect(
      spinHeaders(m, {
        scheme: 'http',
        host: 'example.com:8080',
        pathWithQuery: '/users/1/cart/items/3/edit?theme=pink',
        clientAddr: '127.0.0.1:53152',
      }),
    ).toEqual([
      ['spin-path-info', '/items/3/edit'],
      ['spin-full-url', 'http://example.com:8080/users/1/cart/items/3/edit?theme=pink'],
      ['spin-matched-route', '/users/:userid/cart/...'],
      ['spin-base-path', '/'],
      ['spin-raw-component-route', '/users/:userid/cart/...'],
      ['spin-component-route', '/users/:userid/cart'],
      ['spin-client-addr', '127.0.0.1:53152'],
      ['spin-path-match-userid', '1'],
    ]);
  });

  it('matches the conformance request-shape expectations', () => {
    const r = router([['request-shape', '/base/:path_segment/:path_end/...']]);
    const m = routed(r, '/base/path/end/rest');
    const headers = spinHeaders(m, {
      scheme: 'http',
      host: 'example.com',
      pathWithQuery: '/base/path/end/rest?key=value',
      clientAddr: '127.0.0.1:1',
    });
    expect(Object.fromEntries(headers)).toEqual({
      'spin-raw-component-route': '/base/:path_segment/:path_end/...',
      'spin-matched-route': '/base/:path_segment/:path_end/...',
      'spin-component-route': '/base/:path_segment/:path_end',
      'spin-path-info': '/rest',
      'spin-base-path': '/',
      'spin-full-url': 'http://example.com/base/path/end/rest?key=value',
      'spin-client-addr': '127.0.0.1:1',
      'spin-path-match-path-segment': 'path',
      'spin-path-match-path-end': 'end',
    });
    expect(headers).toHaveLength(9);
  });

  it('uses localhost without a Host header and the listener scheme', () => {
    const m = routed(router([['c', '/...']]), '/');
    const headers = Object.fromEntries(spinHeaders(m, { scheme: 'https', pathWithQuery: '/', clientAddr: '[::1]:5' }));
    expect(headers['spin-full-url']).toBe('https://localhost/');
    expect(headers['spin-path-info']).toBe('/');
    expect(headers['spin-matched-route']).toBe('/...');
    expect(headers['spin-component-route']).toBe('');
    expect(headers['spin-client-addr']).toBe('[::1]:5');
  });

  it('reports the based route for the root and un-slashed routes', () => {
    const root = Object.fromEntries(
      spinHeaders(routed(router([['c', '/']]), '/'), { scheme: 'http', pathWithQuery: '/', clientAddr: 'a' }),
    );
    expect(root['spin-matched-route']).toBe('');
    expect(root['spin-raw-component-route']).toBe('/');
    expect(root['spin-component-route']).toBe('/');
    const bare = Object.fromEntries(
      spinHeaders(routed(router([['c', 'foo/']]), '/foo'), { scheme: 'http', pathWithQuery: '/foo', clientAddr: 'a' }),
    );
    expect(bare['spin-matched-route']).toBe('/foo');
    expect(bare['spin-raw-component-route']).toBe('foo/');
  });

  it('lower-cases parameter names and turns _ into -', () => {
    const m = routed(router([['c', '/:User_ID/:path_segment']]), '/7/x');
    const names = spinHeaders(m, { scheme: 'http', pathWithQuery: '/7/x', clientAddr: 'a' }).map(([n]) => n);
    expect(names.slice(7)).toEqual(['spin-path-match-user-id', 'spin-path-match-path-segment']);
  });

  it('drops pairs that are not valid header fields', () => {
    const m = routed(router([['c', '/:a@b']]), '/x');
    expect(spinHeaders(m, { scheme: 'http', pathWithQuery: '/x', clientAddr: 'a' }).map(([n]) => n)).not.toContain('spin-path-match-a@b');
  });
});

describe('chainedHeaders', () => {
  it('reports a service-chaining request as matching /...', () => {
    expect(chainedHeaders('backend', '/api/items', 'page=2')).toEqual([
      ['spin-path-info', '/api/items'],
      ['spin-full-url', 'http://backend.spin.internal/api/items?page=2'],
      ['spin-matched-route', '/...'],
      ['spin-base-path', '/'],
      ['spin-raw-component-route', '/...'],
      ['spin-component-route', ''],
      ['spin-client-addr', '0.0.0.0:0'],
    ]);
    expect(Object.fromEntries(chainedHeaders('backend', '/'))['spin-full-url']).toBe('http://backend.spin.internal/');
    expect(Object.fromEntries(chainedHeaders('backend', '/x', '?q'))['spin-full-url']).toBe('http://backend.spin.internal/x?q');
  });
});

describe('routeTable', () => {
  it('prints spin up’s Available Routes lines', () => {
    const manifest = parseManifest(
      `spin_manifest_version = 2
[application]
name = "app"
[[trigger.http]]
route = "/..."
component = "hello"
[[trigger.http]]
route = "/api/items"
component = "api"
[[trigger.http]]
route = { private = true }
component = "secret"
[[trigger.http]]
id = "teapot"
route = "/tea/"
static_response = { status_code = 418 }
[component.hello]
source = "hello.wasm"
description = "Says hello"
[component.api]
source = "api.wasm"
[component.secret]
source = "secret.wasm"
description = "Not listed"
`,
      '/app/spin.toml',
    );
    // Precedence order: on equal leading segments the shorter route sorts first.
    expect(new Router(manifest).routeTable('http://127.0.0.1:3000')).toEqual([
      '  teapot: http://127.0.0.1:3000/tea',
      '  api: http://127.0.0.1:3000/api/items',
      '  hello: http://127.0.0.1:3000 (wildcard)',
      '    Says hello',
    ]);
  });
});
