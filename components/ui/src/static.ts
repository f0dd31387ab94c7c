/**
 * Serving an embedded single-page app: hashed assets cached forever, `index.html` revalidated on every load (ETag,
 * 304), gzip when the client accepts it, a strict Content-Security-Policy, and every other path under the mount point
 * answered with `index.html` so deep links (`/ui/agents/coder/ada/chat`) work on reload.
 *
 * The module is pure (Web APIs only) so it is unit-tested under Node as well as served by the component.
 *
 * @module
 */
import { errorResponse } from '../../../shared/http/errors.ts';

/** A file as the build embeds it (see `client-bundle.d.ts`). */
export interface EmbeddedFile {
  path: string;
  contentType: string;
  body: string;
  gzip: string;
  etag: string;
  immutable: boolean;
}

/** A file ready to serve: bodies decoded once, at initialisation (which Wizer snapshots). */
interface Asset {
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer> | undefined;
  etag: string;
  cacheControl: string;
}

/**
 * The page may load scripts, styles and images from its own origin only and talk to its own origin's API only; no
 * inline script or style, no plugins, no framing, no foreign form targets.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The page itself: always revalidated, so a new build is picked up on the next load. */
const REVALIDATE = 'no-cache';

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Whether `Accept-Encoding` allows gzip (present and not `q=0`). */
export function acceptsGzip(header: string | null): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** Whether `If-None-Match` matches the tag (weak comparison, as RFC 9110 prescribes for this header). */
export function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((t) => t.trim() === '*' || opaque(t) === wanted);
}

export interface SpaOptions {
  /** Where the app is mounted, with a trailing slash: `/ui/`. */
  mount: string;
}

/** A fetch handler serving the embedded files under `mount`; `/` and the bare mount redirect to `mount`. */
export function spaHandler(files: readonly EmbeddedFile[], options: SpaOptions): { fetch(request: Request): Response } {
  const { mount } = options;
  const assets = new Map<string, Asset>();
  for (const f of files) {
    assets.set(f.path, {
      contentType: f.contentType,
      body: new TextEncoder().encode(f.body),
      gzip: f.gzip ? decodeBase64(f.gzip) : undefined,
      etag: f.etag,
      cacheControl: f.immutable ? IMMUTABLE : REVALIDATE,
    });
  }
  const index = assets.get('index.html');
  if (!index) throw new Error('the embedded app has no index.html');

  const serve = (request: Request, asset: Asset): Response => {
    const gzip = asset.gzip !== undefined && acceptsGzip(request.headers.get('accept-encoding'));
    // Each encoding is its own representation, so it gets its own strong validator.
    const etag = gzip ? `${asset.etag.slice(0, -1)}-gz"` : asset.etag;
    const headers = new Headers({ ...SECURITY_HEADERS, etag, 'cache-control': asset.cacheControl });
    if (asset.gzip !== undefined) headers.set('vary', 'accept-encoding');
    if (etagMatches(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });
    const body = gzip ? asset.gzip! : asset.body;
    headers.set('content-type', asset.contentType);
    headers.set('content-length', String(body.byteLength));
    if (gzip) headers.set('content-encoding', 'gzip');
    return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers });
  };

  const redirect = (url: URL, to: string): Response =>
    new Response(null, { status: 302, headers: { ...SECURITY_HEADERS, location: `${to}${url.search}`, 'cache-control': REVALIDATE } });

  return {
    fetch(request: Request): Response {
      const url = new URL(request.url);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        const res = errorResponse(405, 'method_not_allowed', `${request.method} is not allowed here; allowed: GET, HEAD`);
        res.headers.set('allow', 'GET, HEAD');
        return res;
      }
      if (url.pathname === '/' || url.pathname === mount.slice(0, -1)) return redirect(url, mount);
      if (!url.pathname.startsWith(mount)) return errorResponse(404, 'not_found', `no route for ${request.method} ${url.pathname}`);
      const rest = url.pathname.slice(mount.length);
      if (rest.startsWith('assets/')) {
        const asset = assets.get(rest);
        return asset ? serve(request, asset) : errorResponse(404, 'not_found', `no asset ${url.pathname}`);
      }
      // Every other path is a page of the app: its router reads the path.
      return serve(request, index);
    },
  };
}
