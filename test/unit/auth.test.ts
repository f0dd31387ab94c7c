/**
 * `shared/http/auth.ts` under Node: parsing `api_keys`, scope rules, token matching and the Hono middleware.
 * The module is guest code, but pure (Web APIs only), so it runs here unchanged.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  ApiKeysError,
  authStatus,
  bearerToken,
  findKey,
  grants,
  parseApiKeys,
  requireScope,
  sha256Hex,
  timingSafeEqualHex,
  type AuthEnv,
} from '../../shared/http/auth.ts';
import { HttpError, onError } from '../../shared/http/errors.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const HEX = sha256('admin-key');

describe('parseApiKeys', () => {
  it('no keys: empty, blank, separators and comments only', () => {
    for (const text of [undefined, '', '  ', ',\n, ,', '# nothing here\n']) expect(parseApiKeys(text)).toEqual([]);
  });

  it('parses hashed and plain keys, comma- or newline-separated, and expands scopes', () => {
    const keys = parseApiKeys(
      ` admin:sha256:${HEX} ,read:sha256:${sha256('r').toUpperCase()}\r\n# dev keys\ninvoke:plain:dev-key\n\nread+invoke:plain:k2`,
    );
    expect(keys).toEqual([
      { entry: 1, scopes: ['read', 'invoke', 'admin'], sha256: HEX },
      { entry: 2, scopes: ['read'], sha256: sha256('r') },
      { entry: 3, scopes: ['read', 'invoke'], plain: 'dev-key' },
      { entry: 4, scopes: ['read', 'invoke'], plain: 'k2' },
    ]);
    expect(parseApiKeys(`invoke+read+admin:sha256:${HEX}`)[0]!.scopes).toEqual(['read', 'invoke', 'admin']);
    // A plain key may contain colons and other visible ASCII.
    expect(parseApiKeys('read:plain:a:b=c/d+e')[0]!.plain).toBe('a:b=c/d+e');
  });

  it('rejects bad entries by position, with the format in the message', () => {
    const cases: [string, RegExp][] = [
      ['just-a-key', /entry 1: no scopes/],
      [`sha256:${HEX}`, /entry 1: no scopes before the key/],
      ['plain:dev', /entry 1: no scopes before the key/],
      [`read:sha256:${HEX},owner:sha256:${HEX.replace('a', 'b')}`, /entry 2: unknown scope/],
      [`read+:sha256:${HEX}`, /unknown scope/],
      [`:sha256:${HEX}`, /unknown scope/],
      ['admin:sha256:abc', /exactly 64 hex digits/],
      [`admin:sha256:${HEX}0`, /exactly 64 hex digits/],
      [`admin:sha256:${'g'.repeat(64)}`, /exactly 64 hex digits/],
      ['admin:md5:abc', /must start with sha256: or plain:/],
      ['admin:plain:', /plain key must be/],
      ['admin:plain:has space', /plain key must be/],
      [`admin:sha256:${HEX}\nread:sha256:${HEX.toUpperCase()}`, /entry 2: the same key as entry 1/],
      ['read:plain:k\n# c\ninvoke:plain:k', /entry 2: the same key as entry 1/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseApiKeys(text), text).toThrow(ApiKeysError);
      expect(() => parseApiKeys(text), text).toThrow(message);
      expect(() => parseApiKeys(text)).toThrow(/expected comma- or newline-separated <scopes>:sha256:<64 hex digits>/);
    }
  });

  it('never puts key material in its messages', () => {
    const secrets = ['my-secret-token', 'owner:plain:my-secret-token', `sha256:${HEX}`, 'admin:plain:my secret', `bad:sha256:${HEX}`];
    for (const text of secrets) {
      try {
        parseApiKeys(text);
        expect.unreachable(text);
      } catch (err) {
        expect((err as Error).message).not.toContain('my-secret');
        expect((err as Error).message).not.toContain('secret');
        expect((err as Error).message).not.toContain(HEX);
      }
    }
  });
});

describe('scopes, digests and tokens', () => {
  it('admin implies invoke and read; invoke implies read', () => {
    const [admin, invoke, read] = parseApiKeys(`admin:plain:a,invoke:plain:i,read:plain:r`);
    expect(['read', 'invoke', 'admin'].map((s) => grants(admin!.scopes, s as 'read'))).toEqual([true, true, true]);
    expect(['read', 'invoke', 'admin'].map((s) => grants(invoke!.scopes, s as 'read'))).toEqual([true, true, false]);
    expect(['read', 'invoke', 'admin'].map((s) => grants(read!.scopes, s as 'read'))).toEqual([true, false, false]);
  });

  it('sha256Hex matches node:crypto, including non-ASCII text', async () => {
    for (const text of ['', 'admin-key', 'ключ-€-🔑']) expect(await sha256Hex(text)).toBe(sha256(text));
  });

  it('timingSafeEqualHex', () => {
    expect(timingSafeEqualHex(HEX, HEX)).toBe(true);
    expect(timingSafeEqualHex(HEX, HEX.slice(0, 63) + (HEX.endsWith('0') ? '1' : '0'))).toBe(false);
    expect(timingSafeEqualHex(HEX, HEX.slice(1))).toBe(false);
    expect(timingSafeEqualHex('', '')).toBe(true);
  });

  it('bearerToken', () => {
    expect(bearerToken('Bearer abc.def-_~+/=')).toBe('abc.def-_~+/=');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    for (const h of ['Bearer', 'Bearer ', 'Bearer a b', 'Basic abc', 'abc', `Bearer ${'x'.repeat(4097)}`, 'Bearer é'])
      expect(bearerToken(h), h).toBeUndefined();
  });

  it('findKey matches hashed and plain keys and returns the token digest', async () => {
    const keys = parseApiKeys(`admin:sha256:${HEX}\nread:plain:dev`);
    expect(await findKey(keys, 'admin-key')).toEqual({ key: keys[0], digest: HEX });
    expect(await findKey(keys, 'dev')).toEqual({ key: keys[1], digest: sha256('dev') });
    expect(await findKey(keys, 'nope')).toBeUndefined();
    expect(await findKey(keys, HEX)).toBeUndefined(); // the digest itself is not a key
  });

  it('authStatus', () => {
    expect(authStatus(() => undefined)).toEqual({ enabled: false, keys: 0 });
    expect(authStatus(() => `admin:sha256:${HEX}, read:plain:x`)).toEqual({ enabled: true, keys: 2 });
    const broken = authStatus(() => 'admin:nope');
    expect(broken).toMatchObject({ enabled: true, keys: 0 });
    expect(broken.error).toContain('api_keys entry 1');
  });
});

describe('requireScope middleware', () => {
  function appWith(keys: string | undefined) {
    const app = new Hono<AuthEnv>();
    app.get(
      '/read',
      requireScope('read', () => keys),
      (c) => c.json(c.get('auth')),
    );
    app.post(
      '/admin',
      requireScope('admin', () => keys),
      (c) => c.json(c.get('auth')),
    );
    app.get(
      '/boom',
      requireScope('read', () => keys),
      () => {
        throw new HttpError(500, 'internal', 'boom');
      },
    );
    app.onError(onError);
    return app;
  }
  const req = (app: Hono<AuthEnv>, method: string, path: string, key?: string) =>
    app.request(path, { method, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });

  it('no keys configured: everything passes, marked x-edge-agents-auth: off (errors too)', async () => {
    const app = appWith('');
    const r = await req(app, 'POST', '/admin');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-edge-agents-auth')).toBe('off');
    expect(await r.json()).toEqual({ keyId: null, scopes: ['read', 'invoke', 'admin'] });
    const err = await req(app, 'GET', '/boom');
    expect(err.status).toBe(500);
    expect(err.headers.get('x-edge-agents-auth')).toBe('off');
  });

  it('401 / 403 / pass with keys', async () => {
    const app = appWith(`admin:sha256:${HEX}\nread:plain:reader`);
    const none = await req(app, 'GET', '/read');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="edge-agents"');
    expect(await none.json()).toEqual({
      error: { code: 'unauthorized', message: 'an API key is required: send Authorization: Bearer <key>' },
    });
    const unknown = await req(app, 'GET', '/read', 'nope');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer realm="edge-agents", error="invalid_token"');
    const forbidden = await req(app, 'POST', '/admin', 'reader');
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect(forbidden.headers.get('www-authenticate')).toContain('scope="admin"');
    const ok = await req(app, 'GET', '/read', 'reader');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-edge-agents-auth')).toBeNull();
    expect(await ok.json()).toEqual({ keyId: sha256('reader').slice(0, 16), scopes: ['read'] });
    const admin = await req(app, 'POST', '/admin', 'admin-key');
    expect(admin.status).toBe(200);
    expect(await admin.json()).toEqual({ keyId: HEX.slice(0, 16), scopes: ['read', 'invoke', 'admin'] });
  });

  it('invalid configuration: 500 auth_misconfigured, failing closed', async () => {
    const r = await req(appWith('admin:sha256:short'), 'GET', '/read', 'anything');
    expect(r.status).toBe(500);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('auth_misconfigured');
    expect(body.error.message).toContain('api_keys entry 1: a sha256 key must be exactly 64 hex digits');
  });
});
