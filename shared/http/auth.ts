/**
 * Bearer API keys with scopes, configured by the Spin variable `api_keys`.
 *
 * Format: entries separated by commas and/or newlines, each `<scopes>:<key>`:
 *
 * ```text
 * admin:sha256:<64 hex digits>            # the sha256 of the key, so the configuration holds no secret
 * read+invoke:sha256:<64 hex digits>
 * invoke:plain:dev-key                    # the key itself: for local development only
 * ```
 *
 * `scopes` is `admin`, `invoke` or `read`, or several joined with `+`; `admin` implies `invoke` and `read`, and
 * `invoke` implies `read`. Blank entries and entries starting with `#` are ignored. Make a hashed entry with
 * `printf %s "$KEY" | sha256sum`. With no entries at all, authentication is off: every request passes and responses
 * say so with `x-edge-agents-auth: off`.
 *
 * Keys never appear in messages or logs: a configuration error names the entry by its position only.
 *
 * NOTE: the module is pure (Web APIs only, no Spin imports) so it can be unit-tested under Node; components pass
 * the variable's reader in ({@link ApiKeysSource}).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { errorResponse } from './errors.ts';

export const SCOPES = ['read', 'invoke', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What each scope grants, itself included. */
const IMPLIES: Record<Scope, readonly Scope[]> = {
  read: ['read'],
  invoke: ['invoke', 'read'],
  admin: ['admin', 'invoke', 'read'],
};

/** One configured key: its sha256 (hex), or the plain key whose digest is computed when first needed. */
export interface ApiKey {
  /** 1-based position in `api_keys`, for messages. */
  entry: number;
  /** The granted scopes with their implications, in {@link SCOPES} order. */
  scopes: Scope[];
  sha256?: string;
  plain?: string;
}

/** An `api_keys` value that cannot be parsed; the message is safe to show and log (it holds no key material). */
export class ApiKeysError extends Error {
  override readonly name = 'ApiKeysError';
}

/** Reads the raw `api_keys` value; components pass `() => variable('api_keys')`. */
export type ApiKeysSource = () => string | undefined;

/** `/health`'s view of authentication. `error` is set (and `enabled` true: it fails closed) when misconfigured. */
export interface AuthStatus {
  enabled: boolean;
  keys: number;
  error?: string;
}

/** The caller as the middleware established it; `keyId` is null when authentication is off. */
export interface AuthInfo {
  /** First 16 hex digits of the key's sha256: the same id the LLM router uses for the key's usage scope. */
  keyId: string | null;
  scopes: Scope[];
}

/** Hono environment of apps using {@link requireScope}: `c.get('auth')` after the middleware ran. */
export type AuthEnv = { Variables: { auth: AuthInfo } };

export const AUTH_HEADER = 'x-edge-agents-auth';
const REALM = 'edge-agents';
const HEX64 = /^[0-9a-fA-F]{64}$/;
/** Visible ASCII but the entry separator: what a plain key and a bearer token may contain. */
const PLAIN_KEY = /^[\x21-\x2b\x2d-\x7e]{1,512}$/;
const FORMAT_HINT = 'expected comma- or newline-separated <scopes>:sha256:<64 hex digits> or <scopes>:plain:<key> entries';

/**
 * Parses `api_keys`. An empty (or blank) value is an empty list, which turns authentication off.
 *
 * @throws {ApiKeysError} naming the first bad entry by position, never by content.
 */
export function parseApiKeys(text: string | undefined): ApiKey[] {
  const keys: ApiKey[] = [];
  const seen = new Map<string, number>();
  const entries = (text ?? '').split(/[,\n\r]/);
  let entry = 0;
  for (const raw of entries) {
    const item = raw.trim();
    if (item === '' || item.startsWith('#')) continue;
    entry++;
    const fail = (why: string): never => {
      throw new ApiKeysError(`api_keys entry ${entry}: ${why}; ${FORMAT_HINT}`);
    };
    const first = item.indexOf(':');
    if (first < 0) fail('no scopes: write <scopes>:<key>, e.g. admin:sha256:<hex>');
    const scopeText = item.slice(0, first);
    const rest = item.slice(first + 1);
    // Comparing against known words only, so a key pasted without scopes is recognised without echoing it.
    if (scopeText === 'sha256' || scopeText === 'plain') fail('no scopes before the key: write e.g. admin:' + scopeText + ':…');
    const scopes = new Set<Scope>();
    for (const word of scopeText.split('+')) {
      if (!(SCOPES as readonly string[]).includes(word)) fail('unknown scope (scopes are admin, invoke and read, joined with +)');
      for (const s of IMPLIES[word as Scope]) scopes.add(s);
    }
    const key: ApiKey = { entry, scopes: SCOPES.filter((s) => scopes.has(s)) };
    let identity: string;
    if (rest.startsWith('sha256:')) {
      const hex = rest.slice('sha256:'.length);
      if (!HEX64.test(hex)) fail('a sha256 key must be exactly 64 hex digits');
      key.sha256 = hex.toLowerCase();
      identity = `sha256:${key.sha256}`;
    } else if (rest.startsWith('plain:')) {
      const plain = rest.slice('plain:'.length);
      if (!PLAIN_KEY.test(plain)) fail('a plain key must be 1-512 visible ASCII characters without commas');
      key.plain = plain;
      identity = `plain:${plain}`;
    } else {
      identity = fail('the key must start with sha256: or plain:');
    }
    const previous = seen.get(identity);
    if (previous !== undefined) fail(`the same key as entry ${previous}; give one entry all its scopes (e.g. read+invoke)`);
    seen.set(identity, entry);
    keys.push(key);
  }
  return keys;
}

/** Whether granted scopes (already expanded by {@link parseApiKeys}) include `needed`. */
export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes(needed);
}

/** sha256 of UTF-8 text as lowercase hex (`crypto.subtle` works in the guest and in Node). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  let hex = '';
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Compares two hex strings in time independent of where they differ (lengths are not secret: always 64). */
export function timingSafeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Extracts the token of `Authorization: Bearer <token>`; undefined when the header is malformed. */
export function bearerToken(header: string): string | undefined {
  return /^\s*Bearer +([\x21-\x7e]{1,4096})\s*$/i.exec(header)?.[1];
}

/** The key matching a presented token, comparing every configured digest so timing does not reveal which. */
export async function findKey(keys: readonly ApiKey[], token: string): Promise<{ key: ApiKey; digest: string } | undefined> {
  const digest = await sha256Hex(token);
  let found: ApiKey | undefined;
  for (const key of keys) {
    const expected = key.sha256 ?? (await plainDigest(key.plain!));
    if (timingSafeEqualHex(digest, expected) && !found) found = key;
  }
  return found && { key: found, digest };
}

const plainDigests = new Map<string, string>();
async function plainDigest(plain: string): Promise<string> {
  let d = plainDigests.get(plain);
  if (d === undefined) plainDigests.set(plain, (d = await sha256Hex(plain)));
  return d;
}

// One parse per distinct value: each request runs in a fresh instance, but a handler may consult it twice.
let cached: { text: string; keys: ApiKey[] } | undefined;
function load(source: ApiKeysSource): ApiKey[] {
  const text = source() ?? '';
  if (cached?.text !== text) cached = { text, keys: parseApiKeys(text) };
  return cached.keys;
}

/** For `/health`: whether authentication is on and how many keys are configured. Never throws. */
export function authStatus(source: ApiKeysSource): AuthStatus {
  try {
    const keys = load(source);
    return { enabled: keys.length > 0, keys: keys.length };
  } catch (err) {
    if (err instanceof ApiKeysError) return { enabled: true, keys: 0, error: err.message };
    throw err;
  }
}

function unauthorized(message: string, error?: 'invalid_token'): Response {
  const res = errorResponse(401, 'unauthorized', message);
  const challenge = error ? `Bearer realm="${REALM}", error="${error}"` : `Bearer realm="${REALM}"`;
  res.headers.set('www-authenticate', challenge);
  return res;
}

/**
 * Hono middleware: the request needs a key granting `scope`. 401 (`unauthorized`, with `WWW-Authenticate: Bearer`)
 * without a valid key, 403 (`forbidden`) with a key lacking the scope, 500 (`auth_misconfigured`) when `api_keys`
 * cannot be parsed (failing closed). With no keys configured every request passes and the response carries
 * `x-edge-agents-auth: off`. Sets `c.get('auth')`.
 */
export function requireScope(scope: Scope, source: ApiKeysSource): MiddlewareHandler<AuthEnv> {
  return async (c: Context<AuthEnv>, next): Promise<Response | void> => {
    let keys: ApiKey[];
    try {
      keys = load(source);
    } catch (err) {
      if (!(err instanceof ApiKeysError)) throw err;
      console.error(`auth: ${err.message}`);
      return errorResponse(
        500,
        'auth_misconfigured',
        `authentication is misconfigured, ask the operator to fix the api_keys variable: ${err.message}`,
      );
    }
    if (keys.length === 0) {
      c.set('auth', { keyId: null, scopes: [...SCOPES] });
      await next();
      c.header(AUTH_HEADER, 'off');
      return;
    }
    const header = c.req.header('authorization');
    if (header === undefined || header.trim() === '') return unauthorized('an API key is required: send Authorization: Bearer <key>');
    const token = bearerToken(header);
    if (token === undefined) return unauthorized('malformed Authorization header: expected Bearer <key>', 'invalid_token');
    const match = await findKey(keys, token);
    if (!match) return unauthorized('unknown API key', 'invalid_token');
    if (!grants(match.key.scopes, scope)) {
      const res = errorResponse(403, 'forbidden', `this API key lacks the ${scope} scope (it has ${match.key.scopes.join(', ')})`);
      res.headers.set('www-authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`);
      return res;
    }
    c.set('auth', { keyId: match.digest.slice(0, 16), scopes: match.key.scopes });
    await next();
  };
}
