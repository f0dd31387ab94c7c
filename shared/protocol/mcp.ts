/**
 * Model Context Protocol messages as zod schemas (request params the server parses) and TypeScript types (results
 * the server builds), for the revisions the MCP server speaks: 2025-11-25, 2025-06-18 and 2025-03-26 over
 * Streamable HTTP, and the stateless 2026-07-28 revision on top.
 *
 * Params schemas are loose objects: MCP lets every request carry `_meta` and later revisions add optional fields,
 * which a server must ignore rather than reject. The JSON-RPC envelope itself is in `jsonrpc.ts`.
 *
 * @module
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------------
// Versions and errors

/** The 2025-era revisions (initialize handshake), newest first: initialize answers with the first when it must pick. */
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
export type LegacyVersion = (typeof LEGACY_VERSIONS)[number];

/** The stateless revision: no initialize, `server/discover`, per-request `_meta`. */
export const MODERN_VERSION = '2026-07-28';

export type ProtocolVersion = LegacyVersion | typeof MODERN_VERSION;

export const SUPPORTED_VERSIONS: readonly ProtocolVersion[] = [MODERN_VERSION, ...LEGACY_VERSIONS];

/** What a request without `MCP-Protocol-Version` speaks (transports spec: assume the first HTTP revision). */
export const DEFAULT_HTTP_VERSION: LegacyVersion = '2025-03-26';

export function isSupportedVersion(v: string): v is ProtocolVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

export function isLegacyVersion(v: string): v is LegacyVersion {
  return (LEGACY_VERSIONS as readonly string[]).includes(v);
}

/** MCP's own error codes (the JSON-RPC ones are in `jsonrpc.ts`). */
export const MCP_ERRORS = {
  /** 2025 revisions; 2026-07-28 answers a missing resource with -32602 instead. */
  resourceNotFound: -32002,
  /** 2026-07-28: an `Mcp-*` header disagrees with the body. */
  headerMismatch: -32020,
  /** 2026-07-28: the request needs a client capability the request's `_meta` does not declare. */
  missingClientCapability: -32021,
  /** 2026-07-28: `data: { supported, requested }`. */
  unsupportedProtocolVersion: -32022,
} as const;

/** Reserved `_meta` keys of 2026-07-28. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
} as const;

// ---------------------------------------------------------------------------------------------------------------------
// Request params

const MetaSchema = z.record(z.string(), z.unknown());

/** `_meta.progressToken` on any request: the client wants `notifications/progress` for it. */
export const ProgressTokenSchema = z.union([z.string().max(256), z.number().int()]);

const RequestMetaSchema = z.looseObject({ progressToken: ProgressTokenSchema.optional() });

const BaseParamsSchema = z.looseObject({ _meta: RequestMetaSchema.optional() });

export const ImplementationSchema = z.looseObject({
  name: z.string({ error: 'clientInfo.name must be a string' }).max(256),
  version: z.string({ error: 'clientInfo.version must be a string' }).max(256),
  title: z.string().max(256).optional(),
});

export const InitializeParamsSchema = z.looseObject({
  protocolVersion: z.string({ error: 'protocolVersion must be a string' }).max(64),
  capabilities: z.record(z.string(), z.unknown(), { error: 'capabilities must be an object' }),
  clientInfo: ImplementationSchema,
  _meta: MetaSchema.optional(),
});
export type InitializeParams = z.output<typeof InitializeParamsSchema>;

/** An opaque cursor as this server mints them (base64url); anything else is rejected with -32602. */
export const CursorSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,1024}$/, { error: 'cursor must be a nextCursor value from a previous page' });

export const ListParamsSchema = BaseParamsSchema.extend({ cursor: CursorSchema.optional() });

export const CallToolParamsSchema = BaseParamsSchema.extend({
  name: z.string({ error: 'name must be a string' }).min(1).max(128),
  arguments: z.record(z.string(), z.unknown(), { error: 'arguments must be an object' }).optional(),
});
export type CallToolParams = z.output<typeof CallToolParamsSchema>;

export const ReadResourceParamsSchema = BaseParamsSchema.extend({
  uri: z.string({ error: 'uri must be a string' }).min(1).max(2048),
});

export const GetPromptParamsSchema = BaseParamsSchema.extend({
  name: z.string({ error: 'name must be a string' }).min(1).max(128),
  arguments: z.record(z.string(), z.string({ error: 'prompt arguments must be strings' })).optional(),
});

export const CompleteParamsSchema = BaseParamsSchema.extend({
  ref: z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('ref/prompt'), name: z.string().max(128) }),
    z.looseObject({ type: z.literal('ref/resource'), uri: z.string().max(2048) }),
  ]),
  argument: z.looseObject({ name: z.string().max(128), value: z.string().max(1024) }),
  context: z.looseObject({ arguments: z.record(z.string(), z.string()).optional() }).optional(),
});
export type CompleteParams = z.output<typeof CompleteParamsSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Results (built by the server, so plain types)

export interface Implementation {
  name: string;
  version: string;
  title?: string;
  description?: string;
  websiteUrl?: string;
}

export interface ServerCapabilities {
  tools?: { listChanged?: boolean };
  resources?: { subscribe?: boolean; listChanged?: boolean };
  prompts?: { listChanged?: boolean };
  completions?: Record<string, never>;
  logging?: Record<string, never>;
}

export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** A JSON Schema object as sent on the wire (draft 2020-12 unless `$schema` says otherwise). */
export type JsonSchema = Record<string, unknown>;

export interface ToolDescriptor {
  name: string;
  title?: string;
  description?: string;
  inputSchema: JsonSchema;
  outputSchema?: JsonSchema;
  annotations?: ToolAnnotations;
}

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'resource_link'; uri: string; name: string; title?: string; description?: string; mimeType?: string }
  | { type: 'resource'; resource: ResourceContents };

export interface CallToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface ResourceDescriptor {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
}

export interface ResourceTemplateDescriptor {
  uriTemplate: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
}

export interface ResourceContents {
  uri: string;
  mimeType?: string;
  text: string;
}

export interface PromptArgument {
  name: string;
  description?: string;
  required?: boolean;
}

export interface PromptDescriptor {
  name: string;
  title?: string;
  description?: string;
  arguments?: PromptArgument[];
}

export interface PromptMessage {
  role: 'user' | 'assistant';
  content: { type: 'text'; text: string };
}

export interface GetPromptResult {
  description?: string;
  messages: PromptMessage[];
}

export interface CompleteResult {
  completion: { values: string[]; total?: number; hasMore?: boolean };
}
