/**
 * JSON-RPC 2.0 as zod schemas, shared by the A2A handler and the MCP server.
 *
 * Parsing is two-staged on purpose: {@link JsonRpcEnvelopeSchema} decides whether a value is a request at all (so
 * a bad envelope gets -32600 with the id it carried, when it carried a usable one), and each method then validates
 * its own `params` (-32602). Ids are strings or numbers; `null` ids are accepted only in responses, as the spec says.
 *
 * @module
 */
import { z } from 'zod';

/** The error codes JSON-RPC 2.0 reserves. */
export const JSONRPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

export const JsonRpcIdSchema = z.union([z.string().max(256), z.number().int().finite()]);
export type JsonRpcId = z.infer<typeof JsonRpcIdSchema>;

/** A request (with `id`) or a notification (without). `params` is checked by the method, not here. */
export const JsonRpcEnvelopeSchema = z.looseObject({
  jsonrpc: z.literal('2.0', { error: 'jsonrpc must be "2.0"' }),
  id: JsonRpcIdSchema.optional(),
  method: z.string({ error: 'method must be a string' }).min(1, { error: 'method must not be empty' }).max(256),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], { error: 'params must be an object or an array' }).optional(),
});
export type JsonRpcEnvelope = z.infer<typeof JsonRpcEnvelopeSchema>;

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess<T = unknown> {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: T;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse<T = unknown> = JsonRpcSuccess<T> | JsonRpcFailure;

/** A JSON-RPC error to throw from a method handler; the dispatcher renders it with the request's id. */
export class JsonRpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }

  toObject(): JsonRpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export function success<T>(id: JsonRpcId, result: T): JsonRpcSuccess<T> {
  return { jsonrpc: '2.0', id, result };
}

export function failure(id: JsonRpcId | null, error: JsonRpcErrorObject): JsonRpcFailure {
  return { jsonrpc: '2.0', id, error };
}

/**
 * The id to answer an invalid request with: the request's own id when it is a valid JSON-RPC id, else `null`
 * (the spec's rule for requests whose id cannot be determined).
 */
export function salvageId(value: unknown): JsonRpcId | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const parsed = JsonRpcIdSchema.safeParse((value as { id?: unknown }).id);
  return parsed.success ? parsed.data : null;
}

/** Human-readable summary of a zod error for `error.message`; the issues themselves go into `error.data`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
