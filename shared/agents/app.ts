/**
 * The HTTP app of an agent kind component: `/agents/<kind>/<name>` (profile), `/agents/<kind>/<name>/chat` (JSON,
 * or SSE with `Accept: text/event-stream`), `/agents/<kind>/<name>/conversations/<id>`, and the agent's A2A card and
 * JSON-RPC endpoint (`/agents/<kind>/<name>/.well-known/agent-card.json`, `/agents/<kind>/<name>/a2a`, see
 * `shared/a2a/agent-routes.ts`), so every kind, scaffolded ones included, speaks A2A.
 *
 * @module
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { requireScope, type ApiKeysSource, type AuthEnv } from '../http/auth.ts';
import { readJsonBody, validate } from '../http/body.ts';
import { HttpError, notFound, onError } from '../http/errors.ts';
import { ConversationIdSchema, SLUG, type Agent } from '../protocol/agents.ts';
import { mountAgentA2A } from '../a2a/agent-routes.ts';
import { AgentRegistry, memoryKv, type KvLike, type RegistryStores } from './registry.ts';
import { chat, readTurns, type ChatEvent } from './runtime.ts';
import { HOPS_HEADER, type ToolServices } from './tools.ts';

/** What a kind component brings: its kind and what its agents do when their record says nothing. */
export interface KindDefinition {
  kind: string;
  description: string;
  instructions: string;
}

export interface AgentAppDeps {
  stores: RegistryStores;
  routerUrl: () => string;
  apiKeys: ApiKeysSource;
  /** KV `tasks` for A2A; without it (warm-up) tasks live in memory for the app's lifetime. */
  tasks?: () => KvLike;
  /** Whether the component may deliver A2A push notifications (was granted webhook hosts); default false. */
  pushNotifications?: () => boolean;
  /** The services the agents' tools reach (knowledge, sandbox, other agents); see tools.ts. */
  services?: ToolServices;
}

/** The `ask_agent` hop count of a request (0 unless another agent sent it), clamped to a sane range. */
function hopsOf(c: Context): number {
  const n = Number(c.req.header(HOPS_HEADER) ?? '0');
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 100) : 0;
}

export const MAX_MESSAGE_CHARS = 32 * 1024;
const MAX_BODY_BYTES = 64 * 1024;

const ChatRequestSchema = z.strictObject({
  message: z.string().min(1, 'message must not be empty'),
  conversationId: ConversationIdSchema.optional(),
});

const encoder = new TextEncoder();

function sse(e: ChatEvent | { event: 'error'; data: { code: string; message: string } }): Uint8Array {
  return encoder.encode(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
}

export function agentApp(def: KindDefinition, deps: AgentAppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const registry = new AgentRegistry(deps.stores);
  const read = requireScope('read', deps.apiKeys);
  const invoke = requireScope('invoke', deps.apiKeys);

  /** The agent named in the path, if it exists and is of this component's kind. */
  function agentOf(c: Context): Agent {
    const kind = c.req.param('kind') ?? '';
    const name = c.req.param('name') ?? '';
    if (kind !== def.kind) throw new HttpError(404, 'not_found', `this component serves agents of kind '${def.kind}', not '${kind}'`);
    if (!SLUG.test(name))
      throw new HttpError(400, 'invalid_request', 'agent names are slugs: lower-case letters, digits and inner hyphens');
    const agent = registry.get(kind, name);
    if (!agent) throw new HttpError(404, 'not_found', `no ${kind} agent named '${name}'`);
    return agent;
  }

  app.get('/agents/:kind/:name', read, (c) => c.json(agentOf(c)));

  app.get('/agents/:kind/:name/conversations/:id', read, (c) => {
    const agent = agentOf(c);
    const id = c.req.param('id');
    if (!ConversationIdSchema.safeParse(id).success) throw new HttpError(400, 'invalid_request', 'invalid conversation id');
    const turns = readTurns(deps.stores.memory(), agent.kind, agent.name, id);
    if (turns.length === 0) throw new HttpError(404, 'not_found', `no conversation '${id}' with ${agent.kind}/${agent.name}`);
    return c.json({ conversationId: id, turns });
  });

  app.post('/agents/:kind/:name/chat', invoke, async (c) => {
    const agent = agentOf(c);
    const input = validate(ChatRequestSchema, await readJsonBody(c.req.raw, MAX_BODY_BYTES), 'chat request');
    if (input.message.length > MAX_MESSAGE_CHARS) {
      throw new HttpError(413, 'payload_too_large', `messages are limited to ${MAX_MESSAGE_CHARS} characters`);
    }
    const runtime = {
      memory: () => deps.stores.memory(),
      routerUrl: deps.routerUrl,
      authorization: c.req.header('authorization'),
      services: deps.services,
      hops: hopsOf(c),
      log: (line: string) => console.error(line),
    };
    if (!(c.req.header('accept') ?? '').includes('text/event-stream')) {
      return c.json(await chat(runtime, agent, def, input));
    }
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          await chat(runtime, agent, def, input, (e) => controller.enqueue(sse(e)));
        } catch (err) {
          const e = err instanceof HttpError ? err : new HttpError(500, 'internal', 'internal error');
          if (!(err instanceof HttpError))
            console.error(`agent ${agent.kind}/${agent.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          controller.enqueue(sse({ event: 'error', data: { code: e.code, message: e.message } }));
        }
        controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
  });

  const memoryTasks = memoryKv();
  mountAgentA2A(
    app,
    def.description,
    {
      tasks: deps.tasks ?? (() => memoryTasks),
      apiKeys: deps.apiKeys,
      pushNotifications: deps.pushNotifications ?? (() => false),
      services: deps.services ?? {},
      runner: (agent, authorization) => async (message, conversationId, onToken) => {
        const runtime = {
          memory: () => deps.stores.memory(),
          routerUrl: deps.routerUrl,
          authorization,
          services: deps.services,
          log: (line: string) => console.error(line),
        };
        const emit = onToken ? (e: ChatEvent) => (e.event === 'token' ? onToken(e.data.text) : undefined) : undefined;
        return (await chat(runtime, agent, def, { message, conversationId }, emit)).reply;
      },
    },
    agentOf,
  );

  app.notFound(notFound);
  app.onError(onError);
  return app;
}
