/**
 * MCP method dispatch, independent of HTTP: one JSON-RPC request in, one response out, with the protocol revision
 * of the request deciding the revision-specific rules:
 *
 * - 2025-03-26 / 2025-06-18: invalid tool arguments are a -32602 protocol error;
 * - 2025-11-25 and later: they are a tool execution error (`isError: true`), so the model can correct itself (SEP-1303);
 * - 2026-07-28: no `initialize`/`ping`, every result has `resultType` and the server's identity in `_meta`, lists and
 *   reads carry `ttlMs`/`cacheScope`, and a missing resource is -32602 instead of -32002.
 *
 * The server is stateless: nothing is kept between requests, so `initialize` is answered but not required.
 *
 * @module
 */
import type { z } from 'zod';
import { VERSION } from '../build-info.ts';
import {
  describeIssues,
  failure,
  JSONRPC_ERRORS,
  JsonRpcError,
  success,
  type JsonRpcId,
  type JsonRpcResponse,
} from '../protocol/jsonrpc.ts';
import {
  CallToolParamsSchema,
  CompleteParamsSchema,
  GetPromptParamsSchema,
  InitializeParamsSchema,
  isLegacyVersion,
  LEGACY_VERSIONS,
  ListParamsSchema,
  MCP_ERRORS,
  META,
  MODERN_VERSION,
  ReadResourceParamsSchema,
  SUPPORTED_VERSIONS,
  type Implementation,
  type ProtocolVersion,
  type ServerCapabilities,
} from '../protocol/mcp.ts';
import { page } from './pagination.ts';
import type { Platform } from './platform.ts';
import { getPrompt, PROMPT_DESCRIPTORS } from './prompts.ts';
import { completeArgument, listResources, readResource, RESOURCE_TEMPLATES } from './resources.ts';
import { describeArgumentIssues, runTool, toolError } from './tool.ts';
import { findTool, TOOL_DESCRIPTORS } from './tools/index.ts';

export const SERVER_INFO: Implementation = {
  name: 'edge-agents',
  title: 'edge-agents',
  version: VERSION,
  description: 'Edge-native AI agents on Spin: agents, knowledge, workflows and a code sandbox as MCP tools',
};

export const CAPABILITIES: ServerCapabilities = {
  tools: { listChanged: false },
  resources: { subscribe: false, listChanged: false },
  prompts: { listChanged: false },
  completions: {},
};

export const INSTRUCTIONS =
  'edge-agents runs AI agents as WebAssembly components. Use list_agents to find agents and chat_with_agent to talk to ' +
  'one (pass conversationId back to continue), create_agent to register one, search_knowledge to retrieve from a ' +
  'knowledge collection, execute_workflow to run the SPARC workflow and execute_code to run JavaScript/TypeScript in a ' +
  'sandbox. Agents and knowledge documents are also resources; the SPARC phases are prompts.';

/** One HTTP request's view: its protocol revision, the platform with the caller's credentials, and a notification sink. */
export interface Exchange {
  version: ProtocolVersion;
  platform: Platform;
  pageSize: number;
  /** Sends a notification before the response (SSE replies); a no-op for JSON replies. */
  notify(method: string, params: Record<string, unknown>): void;
  /** Whether the reply is an SSE stream, so notifications reach the client. */
  streaming: boolean;
}

type Handler = (params: unknown, ex: Exchange) => Promise<Record<string, unknown>> | Record<string, unknown>;

function parse<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  const parsed = schema.safeParse(params ?? {});
  if (parsed.success) return parsed.data;
  throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, `invalid params: ${describeIssues(parsed.error)}`, {
    issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
  });
}

/** The version `initialize` answers with: the client's when this server speaks it, else the newest 2025 revision. */
export function negotiate(requested: string): ProtocolVersion {
  return isLegacyVersion(requested) ? requested : LEGACY_VERSIONS[0];
}

/** Whether a revision reports invalid tool arguments as tool errors (2025-11-25 on) rather than -32602. */
function argumentErrorsAreToolErrors(v: ProtocolVersion): boolean {
  return v === MODERN_VERSION || v === '2025-11-25';
}

const COMMON: Record<string, Handler> = {
  'server/discover': () => ({ supportedVersions: [...SUPPORTED_VERSIONS], capabilities: CAPABILITIES, instructions: INSTRUCTIONS }),

  'tools/list': (params, ex) => {
    const { cursor } = parse(ListParamsSchema, params);
    const p = page(TOOL_DESCRIPTORS, 'tools', cursor, ex.pageSize);
    return { tools: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
  },

  'tools/call': async (params, ex) => {
    const call = parse(CallToolParamsSchema, params);
    const t = findTool(call.name);
    if (!t) throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, `unknown tool '${call.name}'`, { name: call.name });
    const args = t.input.safeParse(call.arguments ?? {});
    if (!args.success) {
      const message = `invalid arguments for ${t.name}: ${describeArgumentIssues(args.error)}`;
      if (argumentErrorsAreToolErrors(ex.version)) return { ...toolError(message) };
      throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, message, {
        issues: args.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
      });
    }
    const token = call._meta?.progressToken;
    const progress =
      token === undefined
        ? () => {}
        : (n: number, message: string) => ex.notify('notifications/progress', { progressToken: token, progress: n, message });
    return { ...(await runTool(t, args.data, { platform: ex.platform, progress, streaming: token !== undefined && ex.streaming })) };
  },

  'resources/list': async (params, ex) => {
    const { cursor } = parse(ListParamsSchema, params);
    return { ...(await listResources(ex.platform, cursor, ex.pageSize)) };
  },

  'resources/templates/list': (params, ex) => {
    const { cursor } = parse(ListParamsSchema, params);
    const p = page(RESOURCE_TEMPLATES, 'templates', cursor, ex.pageSize);
    return { resourceTemplates: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
  },

  'resources/read': async (params, ex) => {
    const { uri } = parse(ReadResourceParamsSchema, params);
    const notFound = ex.version === MODERN_VERSION ? JSONRPC_ERRORS.invalidParams : MCP_ERRORS.resourceNotFound;
    return { ...(await readResource(ex.platform, uri, notFound)) };
  },

  'prompts/list': (params, ex) => {
    const { cursor } = parse(ListParamsSchema, params);
    const p = page(PROMPT_DESCRIPTORS, 'prompts', cursor, ex.pageSize);
    return { prompts: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
  },

  'prompts/get': (params) => {
    const { name, arguments: args } = parse(GetPromptParamsSchema, params);
    return { ...getPrompt(name, args) };
  },

  'completion/complete': async (params, ex) => ({ ...(await completeArgument(ex.platform, parse(CompleteParamsSchema, params))) }),
};

/** Methods of the 2025 revisions only (2026-07-28 removed the handshake and ping). */
const LEGACY_ONLY: Record<string, Handler> = {
  initialize: (params) => {
    const init = parse(InitializeParamsSchema, params);
    return {
      protocolVersion: negotiate(init.protocolVersion),
      capabilities: CAPABILITIES,
      serverInfo: SERVER_INFO,
      instructions: INSTRUCTIONS,
    };
  },
  ping: () => ({}),
};

/** How long 2026-07-28 clients may cache each cacheable result, and who may share it. */
const CACHING: Record<string, { ttlMs: number; cacheScope: 'public' | 'private' }> = {
  'server/discover': { ttlMs: 3_600_000, cacheScope: 'public' },
  'tools/list': { ttlMs: 3_600_000, cacheScope: 'public' },
  'prompts/list': { ttlMs: 3_600_000, cacheScope: 'public' },
  'resources/templates/list': { ttlMs: 3_600_000, cacheScope: 'public' },
  // Agents and documents change under the client's feet and depend on the caller's key: never cache them for long.
  'resources/list': { ttlMs: 0, cacheScope: 'private' },
  'resources/read': { ttlMs: 0, cacheScope: 'private' },
};

/** Whether `method` exists in the request's revision (for 2026-07-28's 404 on unknown methods). */
export function knownMethod(method: string, version: ProtocolVersion): boolean {
  return method in COMMON || (version !== MODERN_VERSION && method in LEGACY_ONLY);
}

/** Answers one JSON-RPC request. Never throws: unexpected errors become -32603 (and are logged once). */
export async function handle(method: string, params: unknown, id: JsonRpcId, ex: Exchange): Promise<JsonRpcResponse> {
  const handler = COMMON[method] ?? (ex.version !== MODERN_VERSION ? LEGACY_ONLY[method] : undefined);
  try {
    if (!handler) {
      const hint = ex.version === MODERN_VERSION && method in LEGACY_ONLY ? ` (${method} does not exist in ${MODERN_VERSION})` : '';
      throw new JsonRpcError(JSONRPC_ERRORS.methodNotFound, `method not found: ${method}${hint}`);
    }
    if (Array.isArray(params)) throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, 'params must be an object');
    const result = await handler(params, ex);
    if (ex.version === MODERN_VERSION) {
      Object.assign(result, { resultType: 'complete', ...CACHING[method] });
      result._meta = { ...(result._meta as Record<string, unknown> | undefined), [META.serverInfo]: SERVER_INFO };
    }
    return success(id, result);
  } catch (err) {
    if (err instanceof JsonRpcError) return failure(id, err.toObject());
    console.error(`mcp ${method}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return failure(id, { code: JSONRPC_ERRORS.internalError, message: 'internal error' });
  }
}
