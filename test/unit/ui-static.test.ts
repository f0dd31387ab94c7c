/**
 * How the `ui` component serves the embedded app (components/ui/src/static.ts), on made-up files: negotiation,
 * validators, caching and the SPA fallback. The real build is served end to end in test/host/ui.test.ts.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, CONTENT_SECURITY_POLICY, etagMatches, spaHandler, type EmbeddedFile } from '../../components/ui/src/static.ts';

const js = 'console.log("app");'.repeat(20);
const FILES: EmbeddedFile[] = [
  {
    path: 'index.html',
    contentType: 'text/html; charset=utf-8',
    body: '<!doctype html><div id="app"></div>',
    gzip: '',
    etag: '"page"',
    immutable: false,
  },
  {
    path: 'assets/main-ABC.js',
    contentType: 'text/javascript; charset=utf-8',
    body: js,
    gzip: gzipSync(js).toString('base64'),
    etag: '"js"',
    immutable: true,
  },
];
const app = spaHandler(FILES, { mount: '/ui/' });
const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  app.fetch(new Request(`http://x${path}`, { method, headers }));

describe('content negotiation helpers', () => {
  it('accepts gzip unless it is absent or q=0', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('br;q=1, GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(null)).toBe(false);
  });

  it('compares ETags weakly, in lists and with *', () => {
    expect(etagMatches('"a", W/"js"', '"js"')).toBe(true);
    expect(etagMatches('*', '"js"')).toBe(true);
    expect(etagMatches('"jsx"', '"js"')).toBe(false);
    expect(etagMatches(null, '"js"')).toBe(false);
  });
});

describe('spaHandler', () => {
  it('serves assets immutable, gzip when accepted, with a separate validator per encoding', async () => {
    const plain = get('/ui/assets/main-ABC.js');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('etag')).toBe('"js"');
    expect(await plain.text()).toBe(js);
    const gz = get('/ui/assets/main-ABC.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('etag')).toBe('"js-gz"');
    expect(gz.headers.get('vary')).toBe('accept-encoding');
    expect(Number(gz.headers.get('content-length'))).toBeLessThan(js.length);
    expect(get('/ui/assets/main-ABC.js', { 'if-none-match': '"js"' }).status).toBe(304);
    expect(get('/ui/assets/main-ABC.js', { 'if-none-match': '"js"', 'accept-encoding': 'gzip' }).status).toBe(200);
  });

  it('answers every page path with index.html, revalidated, under the CSP', async () => {
    for (const path of ['/ui/', '/ui/agents', '/ui/agents/coder/ada/chat']) {
      const res = get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(await res.text()).toContain('id="app"');
    }
    expect(get('/ui/agents', { 'if-none-match': '"page"' }).status).toBe(304);
  });

  it('redirects, refuses, and 404s with JSON errors', async () => {
    expect(get('/').headers.get('location')).toBe('/ui/');
    expect(get('/ui?a=1').headers.get('location')).toBe('/ui/?a=1');
    const missing = get('/ui/assets/gone.js');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
    expect(get('/elsewhere').status).toBe(404);
    const del = get('/ui/', {}, 'DELETE');
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    const head = get('/ui/assets/main-ABC.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
  });

  it('refuses a build without index.html', () => {
    expect(() => spaHandler([FILES[1]!], { mount: '/ui/' })).toThrow(/index.html/);
  });
});
