/**
 * The MCP endpoint over Streamable HTTP, stateless: every POST carries one JSON-RPC message (or, in 2025-03-26
 * only, a batch) and gets its answer in the response, as JSON or as an SSE stream, depending on what the client
 * accepts. There are no sessions and no server-to-client stream, so GET and DELETE are 405.
 *
 * Order of checks: Origin (403) → method (405) → API key (401/403) → Content-Type (415) → Accept (406) →
 * `MCP-Protocol-Version` (400) → body size (413) → JSON (400, -32700) → envelope (400, -32600) → dispatch.
 *
 * Origins: a request without `Origin` (any non-browser client) passes. A browser origin passes when its host is a
 * loopback name, when it is listed in `mcp_allowed_origins` (`*` allows all), or when it is the server's own host
 * and authentication is on. With authentication off, the own-host rule would let a DNS-rebinding page (whose host
 * name resolves to this machine) drive the server, so only loopback and listed origins pass then.
 *
 * @module
 */
import { Hono, type Context } from 'hono';
import { authStatus, requireScope, type ApiKeysSource, type AuthEnv } from '../http/auth.ts';
import { readBodyText } from '../http/body.ts';
import { HttpError } from '../http/errors.ts';
import {
  failure,
  JSONRPC_ERRORS,
  JsonRpcEnvelopeSchema,
  salvageId,
  type JsonRpcErrorObject,
  type JsonRpcId,
  type JsonRpcResponse,
} from '../protocol/jsonrpc.ts';
import {
  DEFAULT_HTTP_VERSION,
  isSupportedVersion,
  MCP_ERRORS,
  META,
  MODERN_VERSION,
  SUPPORTED_VERSIONS,
  type ProtocolVersion,
} from '../protocol/mcp.ts';
import { Platform, type ServiceUrls } from './platform.ts';
import { handle, knownMethod, type Exchange } from './server.ts';

/** Largest accepted POST body: room for `execute_code` sources and agent instructions, not for abuse. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest 2025-03-26 batch. */
export const MAX_BATCH = 32;
export const DEFAULT_PAGE_SIZE = 50;

export interface McpAppDeps {
  urls: () => ServiceUrls;
  apiKeys: ApiKeysSource;
  /** `mcp_allowed_origins`: comma-separated origins (`https://app.example.com`) or `*`. */
  allowedOrigins: () => string | undefined;
  /** `mcp_page_size`: items per page of the list methods. */
  pageSize: () => string | undefined;
  fetcher?: typeof fetch;
}

const ALLOW = 'POST, OPTIONS';
const CORS_HEADERS = 'authorization, content-type, accept, mcp-protocol-version, mcp-method, mcp-name, last-event-id';

/** A transport-level JSON-RPC error (no request id can be trusted) with an HTTP error status. */
export function rpcError(status: number, code: number, message: string, data?: unknown, id: JsonRpcId | null = null): Response {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data };
  return new Response(JSON.stringify(failure(id, error)), { status, headers: { 'content-type': 'application/json' } });
}

const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;

/** Whether a browser `Origin` may use the endpoint (see the module comment for the rules). */
export function originAllowed(origin: string, requestHost: string | undefined, allowed: string | undefined, authOn: boolean): boolean {
  const list = (allowed ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, '').toLowerCase())
    .filter(Boolean);
  if (list.includes('*')) return true;
  if (origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (list.includes(url.origin.toLowerCase())) return true;
  if (LOOPBACK.test(url.hostname) || url.hostname.toLowerCase().endsWith('.localhost')) return true;
  return authOn && requestHost !== undefined && url.host.toLowerCase() === requestHost.toLowerCase();
}

/** The media types of an `Accept` header, lowercased, without parameters. */
function mediaTypes(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((s) => s.split(';')[0]!.trim().toLowerCase())
    .filter(Boolean);
}

/** Decodes the 2026-07-28 header encoding `=?base64?<utf-8 base64>?=`; plain values pass through. */
export function decodeHeaderValue(value: string): string | undefined {
  const m = /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/.exec(value);
  if (!m) return value;
  try {
    const bin = atob(m[1]!);
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/**
 * 2026-07-28 header/body agreement: `MCP-Protocol-Version` = `_meta` protocol version, `Mcp-Method` = method,
 * `Mcp-Name` = `params.name` / `params.uri` for the methods that name something. A message on failure.
 */
function headerMismatch(c: Context, method: string, params: unknown): string | undefined {
  const p = typeof params === 'object' && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
  const meta = typeof p._meta === 'object' && p._meta !== null ? (p._meta as Record<string, unknown>) : {};
  const declared = meta[META.protocolVersion];
  if (declared !== MODERN_VERSION) return `_meta["${META.protocolVersion}"] must repeat MCP-Protocol-Version (${MODERN_VERSION})`;
  const mcpMethod = c.req.header('mcp-method');
  if (mcpMethod === undefined) return 'the Mcp-Method header is required';
  if (mcpMethod !== method) return `Mcp-Method header value '${mcpMethod}' does not match body value '${method}'`;
  const source = method === 'tools/call' || method === 'prompts/get' ? p.name : method === 'resources/read' ? p.uri : undefined;
  if (source === undefined) return undefined;
  const raw = c.req.header('mcp-name');
  if (raw === undefined) return `the Mcp-Name header is required for ${method}`;
  const name = decodeHeaderValue(raw.trim());
  if (name === undefined) return 'the Mcp-Name header has an invalid base64 value';
  if (name !== source) return `Mcp-Name header value '${name}' does not match body value '${String(source)}'`;
  return undefined;
}

interface Classified {
  /** Requests to answer, in order. */
  requests: { id: JsonRpcId; method: string; params: unknown }[];
  /** Answers to invalid messages. */
  errors: JsonRpcResponse[];
}

function classify(messages: unknown[], batch: boolean): Classified {
  const out: Classified = { requests: [], errors: [] };
  for (const m of messages) {
    const isResponse =
      typeof m === 'object' &&
      m !== null &&
      !('method' in m) &&
      ('result' in m || 'error' in m) &&
      (m as { jsonrpc?: unknown }).jsonrpc === '2.0';
    // Responses (to server requests this server never sends) are accepted and dropped.
    if (isResponse) continue;
    const env = JsonRpcEnvelopeSchema.safeParse(m);
    if (!env.success) {
      const first = env.error.issues[0];
      out.errors.push(
        failure(salvageId(m), {
          code: JSONRPC_ERRORS.invalidRequest,
          message: `invalid request: ${first?.message ?? 'not a JSON-RPC 2.0 message'}`,
        }),
      );
      continue;
    }
    const { id, method, params } = env.data;
    if (id === undefined) continue; // a notification: nothing this stateless server must act on
    if (batch && method === 'initialize') {
      out.errors.push(failure(id, { code: JSONRPC_ERRORS.invalidRequest, message: 'initialize must not be part of a batch' }));
      continue;
    }
    out.requests.push({ id, method, params });
  }
  return out;
}

const encoder = new TextEncoder();
const sseEvent = (message: unknown) => encoder.encode(`event: message\ndata: ${JSON.stringify(message)}\n\n`);

function pageSizeOf(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 500 ? n : DEFAULT_PAGE_SIZE;
}

/** The MCP endpoint at `/mcp` (and `/mcp/`). */
export function mcpApp(deps: McpAppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>({ strict: false });
  const read = requireScope('read', deps.apiKeys);

  app.use('/mcp', async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined) {
      let authOn: boolean;
      try {
        authOn = authStatus(deps.apiKeys).enabled;
      } catch {
        authOn = true;
      }
      const host = c.req.header('host') ?? new URL(c.req.url).host;
      if (!originAllowed(origin, host, deps.allowedOrigins(), authOn)) {
        return rpcError(403, JSONRPC_ERRORS.invalidRequest, `origin ${origin} is not allowed; set mcp_allowed_origins to allow it`);
      }
      await next();
      c.res.headers.set('access-control-allow-origin', origin);
      c.res.headers.append('vary', 'Origin');
      return undefined;
    }
    await next();
    return undefined;
  });

  app.options('/mcp', (c) => {
    const headers: Record<string, string> = { allow: ALLOW };
    if (c.req.header('origin') !== undefined) {
      headers['access-control-allow-methods'] = ALLOW;
      headers['access-control-allow-headers'] = CORS_HEADERS;
      headers['access-control-max-age'] = '600';
    }
    return new Response(null, { status: 204, headers });
  });

  app.post('/mcp', read, async (c) => {
    const contentType = mediaTypes(c.req.header('content-type'))[0];
    if (contentType !== 'application/json') {
      return rpcError(415, JSONRPC_ERRORS.invalidRequest, `Content-Type must be application/json, got ${contentType ?? 'none'}`);
    }
    const accepts = mediaTypes(c.req.header('accept'));
    const wantsSse = accepts.includes('text/event-stream');
    const wantsJson = accepts.length === 0 || accepts.some((t) => t === 'application/json' || t === 'application/*' || t === '*/*');
    if (!wantsJson && !wantsSse) {
      return rpcError(
        406,
        JSONRPC_ERRORS.invalidRequest,
        'Accept must allow application/json or text/event-stream (clients should send both)',
      );
    }

    const header = c.req.header('mcp-protocol-version')?.trim();
    if (header !== undefined && !isSupportedVersion(header)) {
      return rpcError(400, MCP_ERRORS.unsupportedProtocolVersion, `unsupported protocol version: ${header}`, {
        supported: [...SUPPORTED_VERSIONS],
        requested: header,
      });
    }
    const version: ProtocolVersion = (header as ProtocolVersion | undefined) ?? DEFAULT_HTTP_VERSION;

    let text: string;
    try {
      text = await readBodyText(c.req.raw, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof HttpError)
        return rpcError(err.status, err.status === 413 ? JSONRPC_ERRORS.invalidRequest : JSONRPC_ERRORS.parseError, err.message);
      throw err;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return rpcError(400, JSONRPC_ERRORS.parseError, `parse error: ${err instanceof Error ? err.message : 'invalid JSON'}`);
    }

    const batch = Array.isArray(body);
    const messages: unknown[] = Array.isArray(body) ? body : [body];
    if (batch) {
      if (version !== '2025-03-26') {
        return rpcError(
          400,
          JSONRPC_ERRORS.invalidRequest,
          `JSON-RPC batches are not part of protocol version ${version} (only 2025-03-26)`,
        );
      }
      if (messages.length === 0) return rpcError(400, JSONRPC_ERRORS.invalidRequest, 'empty batch');
      if (messages.length > MAX_BATCH) return rpcError(413, JSONRPC_ERRORS.invalidRequest, `batches are limited to ${MAX_BATCH} messages`);
    }
    const { requests, errors } = classify(messages, batch);

    // 2026-07-28 requests must say so in _meta too; a body that claims it without the header is a mismatch.
    if (!batch && requests.length === 1) {
      const r = requests[0]!;
      const meta = (r.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
      if (version === MODERN_VERSION) {
        const why = headerMismatch(c, r.method, r.params);
        if (why) return rpcError(400, MCP_ERRORS.headerMismatch, `header mismatch: ${why}`, undefined, r.id);
        if (!knownMethod(r.method, version)) {
          return rpcError(404, JSONRPC_ERRORS.methodNotFound, `method not found: ${r.method}`, undefined, r.id);
        }
      } else if (meta?.[META.protocolVersion] !== undefined && meta[META.protocolVersion] !== header) {
        return rpcError(
          400,
          MCP_ERRORS.headerMismatch,
          `header mismatch: MCP-Protocol-Version must repeat _meta["${META.protocolVersion}"]`,
          undefined,
          r.id,
        );
      }
    }

    if (requests.length === 0) {
      if (errors.length === 0) return new Response(null, { status: 202 });
      return new Response(JSON.stringify(batch ? errors : errors[0]), {
        status: batch ? 200 : 400,
        headers: { 'content-type': 'application/json' },
      });
    }

    const urls = deps.urls();
    const platform = new Platform(urls, c.req.header('authorization'), deps.fetcher);
    const pageSize = pageSizeOf(deps.pageSize());
    const hasProgressToken = requests.some(
      (r) => (r.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken !== undefined,
    );
    // SSE when the client takes only SSE, or when it asked for progress (which only a stream can carry).
    const stream = wantsSse && (!wantsJson || hasProgressToken);

    const answerAll = async (notify: Exchange['notify']) => {
      const ex: Exchange = { version, platform, pageSize, notify, streaming: stream };
      const answers: JsonRpcResponse[] = [];
      // Sequential on purpose: a batch is small, and the callees are the same few components.
      for (const r of requests) answers.push(await handle(r.method, r.params, r.id, ex));
      return [...answers, ...errors];
    };

    if (!stream) {
      const answers = await answerAll(() => {});
      return new Response(JSON.stringify(batch ? answers : answers[0]), { status: 200, headers: { 'content-type': 'application/json' } });
    }
    const sse = new ReadableStream<Uint8Array>({
      async start(controller) {
        const answers = await answerAll((method, params) => controller.enqueue(sseEvent({ jsonrpc: '2.0', method, params })));
        for (const a of answers) controller.enqueue(sseEvent(a));
        controller.close();
      },
    });
    return new Response(sse, {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
    });
  });

  app.all('/mcp', (c) => {
    const res = rpcError(
      405,
      JSONRPC_ERRORS.invalidRequest,
      `${c.req.method} is not supported: this server is stateless, without sessions or a server-to-client stream; POST JSON-RPC messages`,
    );
    res.headers.set('allow', ALLOW);
    return res;
  });

  app.notFound((c) =>
    rpcError(404, JSONRPC_ERRORS.invalidRequest, `no route for ${c.req.method} ${new URL(c.req.url).pathname}; the MCP endpoint is /mcp`),
  );
  app.onError((err) => {
    console.error(`mcp: ${err.stack ?? err.message}`);
    return rpcError(500, JSONRPC_ERRORS.internalError, 'internal error');
  });
  return app;
}
