/**
 * What an MCP tool is here: zod input and output schemas (published as JSON Schema), annotations and a function over
 * the platform. Also the result builders: `structuredContent` echoed as JSON text, and tool execution errors.
 *
 * @module
 */
import { z } from 'zod';
import type { CallToolResult, ContentBlock, JsonSchema, ToolAnnotations } from '../protocol/mcp.ts';
import { CalleeError, type Platform } from './platform.ts';

/** What a tool sees of the request. */
export interface ToolContext {
  platform: Platform;
  /** Reports progress (`notifications/progress`) when the client asked for it and the reply is a stream; else a no-op. */
  progress(progress: number, message: string): void;
  /** Whether {@link progress} reaches the client, so a tool may stream its callee to feed it. */
  streaming: boolean;
}

export interface ToolOutcome<O> {
  structured: O;
  /** Content blocks besides the JSON text of `structured` (which every result carries first). */
  extra?: ContentBlock[];
  /** A failure the tool reports with its structured result (e.g. the sandboxed code threw). */
  isError?: boolean;
}

export interface Tool<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  run(args: z.output<I>, ctx: ToolContext): Promise<ToolOutcome<z.input<O>>>;
}

export function tool<I extends z.ZodType, O extends z.ZodType>(t: Tool<I, O>): Tool {
  return t as unknown as Tool;
}

/**
 * A zod schema as JSON Schema for the wire. `$schema` is left out: MCP defaults to draft 2020-12 without it, and
 * validators of older drafts (the v1 SDK's ajv) reject a `$schema` they do not know.
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Summarises zod issues for a tool error message. */
export function describeArgumentIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Builds the result of a finished tool: the structured content, echoed as JSON text for clients that only read text. */
export function toolResult(structured: Record<string, unknown>, extra: ContentBlock[] = [], isError = false): CallToolResult {
  const result: CallToolResult = { content: [{ type: 'text', text: JSON.stringify(structured) }, ...extra], structuredContent: structured };
  if (isError) result.isError = true;
  return result;
}

/** A tool execution error: text only, `isError: true`. */
export function toolError(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

/** Runs a tool on already validated arguments; callee failures become `isError` results. */
export async function runTool(t: Tool, args: unknown, ctx: ToolContext): Promise<CallToolResult> {
  try {
    const out = await t.run(args, ctx);
    const structured = t.output.parse(out.structured) as Record<string, unknown>;
    return toolResult(structured, out.extra, out.isError === true);
  } catch (err) {
    if (err instanceof CalleeError) return toolError(`${t.name} failed: ${err.message}`);
    throw err;
  }
}
