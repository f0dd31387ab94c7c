/**
 * Agent tools: `create_agent` and `list_agents` over the registry (`api_url`), `chat_with_agent` over the agent's own
 * chat route (`agents_url`), relaying the agent's SSE tokens as progress when the client asked for progress.
 *
 * @module
 */
import { z } from 'zod';
import { ConversationIdSchema, CreateAgentSchema, slug } from '../../protocol/agents.ts';
import type { ContentBlock } from '../../protocol/mcp.ts';
import { CalleeError, calleeError } from '../platform.ts';
import { field, readSse } from '../../http/sse.ts';
import { tool } from '../tool.ts';
import { agentUri } from '../uris.ts';

/** The agent's reply may wait on a slow model. */
const CHAT_TIMEOUT_MS = 180_000;

/** An agent record as the registry returns it; loose, so a field added there does not break the output schema. */
const AgentOutSchema = z.looseObject({
  name: z.string(),
  kind: z.string(),
  url: z.string(),
  description: z.string(),
  model: z.string(),
  skills: z.array(z.looseObject({ id: z.string(), name: z.string() })),
  tools: z.array(z.string()),
  uri: z.string().describe('The agent as an MCP resource (resources/read)'),
});
type AgentOut = z.input<typeof AgentOutSchema>;

const AgentRecordSchema = z.looseObject({
  name: z.string(),
  kind: z.string(),
  url: z.string(),
  description: z.string().default(''),
  model: z.string().default('chat'),
  skills: z.array(z.looseObject({ id: z.string(), name: z.string() })).default([]),
  tools: z.array(z.string()).default([]),
});

function agentOut(record: unknown, service: 'api' | 'agents' = 'api'): AgentOut {
  const parsed = AgentRecordSchema.safeParse(record);
  if (!parsed.success)
    throw new CalleeError(service, 200, 'invalid_response', `${service} returned an agent record this server cannot read`);
  return { ...parsed.data, uri: agentUri(parsed.data.kind, parsed.data.name) };
}

function agentLink(a: AgentOut): ContentBlock {
  return {
    type: 'resource_link',
    uri: a.uri,
    name: `${a.kind}/${a.name}`,
    description: a.description || undefined,
    mimeType: 'application/json',
  };
}

export const createAgent = tool({
  name: 'create_agent',
  title: 'Create agent',
  description:
    'Registers a new agent (a record: name, kind, model, instructions, skills, tools, budget). It is served at once at ' +
    '/agents/<kind>/<name> by the component of its kind; chat with it through chat_with_agent. Needs an admin key.',
  input: CreateAgentSchema,
  output: z.object({ agent: AgentOutSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const agent = agentOut(await platform.json('api', '/api/v1/agents', { body: args }));
    return { structured: { agent }, extra: [agentLink(agent)] };
  },
});

export const listAgents = tool({
  name: 'list_agents',
  title: 'List agents',
  description: 'Lists registered agents, optionally of one kind or with a skill (id or tag), a page at a time.',
  input: z.strictObject({
    kind: slug('kind').optional().describe('Only agents of this kind (coder, researcher, reviewer, ...)'),
    skill: z.string().min(1).max(128).optional().describe('Only agents with this skill id or tag'),
    limit: z.number().int().min(1).max(100).optional().describe('Page size (1-100, default 20)'),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,512}$/, { error: 'cursor must be a nextCursor from a previous call' })
      .optional()
      .describe('nextCursor of the previous page'),
  }),
  output: z.object({ agents: z.array(AgentOutSchema), nextCursor: z.string().nullable() }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(args)) if (v !== undefined) q.set(k, String(v));
    const page = await platform.json<{ items?: unknown; nextCursor?: unknown }>('api', `/api/v1/agents${q.size > 0 ? `?${q}` : ''}`);
    const items = Array.isArray(page.items) ? page.items : [];
    const agents = items.map((a) => agentOut(a));
    const nextCursor = typeof page.nextCursor === 'string' ? page.nextCursor : null;
    return { structured: { agents, nextCursor }, extra: agents.map(agentLink) };
  },
});

export const chatWithAgent = tool({
  name: 'chat_with_agent',
  title: 'Chat with agent',
  description:
    'Sends a message to an agent and returns its reply. Pass the returned conversationId back to continue the conversation ' +
    '(the agent remembers it); omit it to start a new one. Send a progressToken to receive the reply as it is generated.',
  input: z.strictObject({
    kind: slug('kind').describe('The agent kind (coder, researcher, reviewer, ...)'),
    name: slug('name').describe('The agent name'),
    message: z
      .string()
      .min(1, { error: 'message must not be empty' })
      .max(32 * 1024),
    conversationId: ConversationIdSchema.optional().describe('Continue this conversation'),
  }),
  output: z.object({
    conversationId: z.string(),
    reply: z.string(),
    model: z.string(),
    usage: z.object({ promptTokens: z.number(), completionTokens: z.number() }),
    toolCalls: z.array(z.looseObject({ name: z.string() })),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, { platform, progress, streaming }) {
    const body: Record<string, unknown> = { message: args.message };
    if (args.conversationId !== undefined) body.conversationId = args.conversationId;
    const path = `/agents/${args.kind}/${args.name}/chat`;
    let answer: unknown;
    if (!streaming) {
      answer = await platform.json('agents', path, { body, timeoutMs: CHAT_TIMEOUT_MS });
    } else {
      // The agent's SSE chat, relayed as progress: the reply so far after each token, and each tool the agent calls.
      const res = await platform.send('agents', path, { body, headers: { accept: 'text/event-stream' }, timeoutMs: CHAT_TIMEOUT_MS });
      if (!res.ok) throw calleeError('agents', res.status, await res.text());
      let sofar = '';
      let n = 0;
      const deadline = Date.now() + CHAT_TIMEOUT_MS;
      const late = () => new CalleeError('agents', 0, 'timeout', `${path} did not finish its reply within ${CHAT_TIMEOUT_MS} ms`);
      for await (const e of readSse(res.body ?? new ReadableStream(), deadline, late)) {
        if (e.event === 'token') {
          sofar += String(field(e.data, 'text') ?? '');
          progress(++n, sofar);
        } else if (e.event === 'tool_call') progress(++n, `calling ${String(field(e.data, 'name'))}`);
        else if (e.event === 'done') answer = e.data;
        else if (e.event === 'error') {
          throw new CalleeError(
            'agents',
            200,
            String(field(e.data, 'code') ?? 'error'),
            `${path} failed: ${String(field(e.data, 'message') ?? 'error')}`,
          );
        }
      }
      if (answer === undefined) throw new CalleeError('agents', 200, 'invalid_response', `${path} ended its stream without a reply`);
    }
    const parsed = z
      .looseObject({
        conversationId: z.string(),
        reply: z.string(),
        model: z.string().default(''),
        usage: z.looseObject({ promptTokens: z.number(), completionTokens: z.number() }).default({ promptTokens: 0, completionTokens: 0 }),
        toolCalls: z.array(z.looseObject({ name: z.string() })).default([]),
      })
      .safeParse(answer);
    if (!parsed.success) throw new CalleeError('agents', 200, 'invalid_response', `${path} returned a reply this server cannot read`);
    const { conversationId, reply, model, usage, toolCalls } = parsed.data;
    return {
      structured: {
        conversationId,
        reply,
        model,
        usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens },
        toolCalls,
      },
    };
  },
});
