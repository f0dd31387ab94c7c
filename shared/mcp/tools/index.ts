/**
 * The MCP tools, in the (deterministic) order `tools/list` returns them, and their wire descriptors.
 *
 * A callee's error (404, 403, 501, a timeout) is a tool execution error (`isError: true` with the callee's message),
 * so the model can read it and try something else; it is never a JSON-RPC error.
 *
 * @module
 */
import type { ToolDescriptor } from '../../protocol/mcp.ts';
import { jsonSchema, type Tool } from '../tool.ts';
import { chatWithAgent, createAgent, listAgents } from './agents.ts';
import { executeCode } from './code.ts';
import { searchKnowledge } from './knowledge.ts';
import { executeWorkflow } from './workflow.ts';

/** Every tool, in the (deterministic) order `tools/list` returns them. */
export const TOOLS: readonly Tool[] = [searchKnowledge, createAgent, listAgents, chatWithAgent, executeWorkflow, executeCode];

const byName = new Map(TOOLS.map((t) => [t.name, t]));

export function findTool(name: string): Tool | undefined {
  return byName.get(name);
}

/** `tools/list` entries; computed once (at build time, in the Wizer snapshot). */
export const TOOL_DESCRIPTORS: readonly ToolDescriptor[] = TOOLS.map((t) => ({
  name: t.name,
  title: t.title,
  description: t.description,
  inputSchema: jsonSchema(t.input, 'input'),
  outputSchema: jsonSchema(t.output, 'output'),
  annotations: t.annotations,
}));
