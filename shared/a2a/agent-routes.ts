/**
 * An agent's own A2A server, mounted into every agent kind component by `shared/agents/app.ts`:
 *
 * - `GET /agents/<kind>/<name>/.well-known/agent-card.json` (and `agent.json`): the agent's card, derived from its
 *   record and what its component can do (`agentSkills`; push only when the component may reach webhooks).
 * - `POST /agents/<kind>/<name>/a2a`: the JSON-RPC endpoint (`shared/a2a/server.ts`); sends run the agent in this
 *   instance, tasks go to KV `tasks`.
 *
 * Cards are public (as A2A discovery expects); the endpoint needs a key with `read`, and `invoke` to send or cancel.
 *
 * @module
 */
import type { Context, Hono } from 'hono';
import { authStatus, requireScope, type ApiKeysSource, type AuthEnv } from '../http/auth.ts';
import type { KvLike } from '../agents/registry.ts';
import type { Agent } from '../protocol/agents.ts';
import type { ToolServices } from '../agents/tools.ts';
import { agentSkills, cardFormat, cardResponse, cardV03, cardV1, publicOrigin, type CardInput } from './card.ts';
import type { AgentRun } from './execute.ts';
import { waitUntilOf } from './serve.ts';
import { handleA2A } from './server.ts';
import { TaskStore } from './tasks.ts';

export interface AgentA2ADeps {
  tasks: () => KvLike;
  apiKeys: ApiKeysSource;
  /** Whether this component may deliver push notifications (it was granted webhook hosts). */
  pushNotifications: () => boolean;
  /** The agent's runner for one request, forwarding the caller's Authorization to the router. */
  runner: (agent: Agent, authorization: string | undefined) => AgentRun;
  /** What the component's tools can reach, so the card advertises only tools that can run. */
  services?: ToolServices;
}

/** The card of one agent. */
export function agentCardInput(
  req: Request,
  agent: Agent,
  kindDescription: string,
  push: boolean,
  auth: boolean,
  services: ToolServices = {},
): CardInput {
  const origin = publicOrigin(req);
  return {
    name: `${agent.kind}/${agent.name}`,
    description: agent.description || kindDescription,
    endpoint: `${origin}/agents/${agent.kind}/${agent.name}/a2a`,
    origin,
    skills: agentSkills(agent, services),
    streaming: true,
    pushNotifications: push,
    auth,
  };
}

/** Adds the agent A2A routes to a kind's app; `agentOf` resolves (and 404s) the agent named in the path. */
export function mountAgentA2A(app: Hono<AuthEnv>, kindDescription: string, deps: AgentA2ADeps, agentOf: (c: Context) => Agent): void {
  const store = new TaskStore(deps.tasks);
  const read = requireScope('read', deps.apiKeys);
  const authOn = () => authStatus(deps.apiKeys).enabled;

  const card = (c: Context) => {
    const agent = agentOf(c);
    const input = agentCardInput(c.req.raw, agent, kindDescription, deps.pushNotifications(), authOn(), deps.services);
    return cardResponse(c.req.raw, cardFormat(c.req.raw) === '1.0' ? cardV1(input) : cardV03(input));
  };
  app.get('/agents/:kind/:name/.well-known/agent-card.json', card);
  app.get('/agents/:kind/:name/.well-known/agent.json', card);

  app.post('/agents/:kind/:name/a2a', read, (c) => {
    const agent = agentOf(c);
    const push = deps.pushNotifications();
    const auth = authOn();
    return handleA2A(
      {
        store,
        agent: `${agent.kind}/${agent.name}`,
        streaming: true,
        pushNotifications: push,
        auth,
        extendedCard: async (version) => {
          const input = agentCardInput(c.req.raw, agent, kindDescription, push, auth, deps.services);
          return version === '1.0' ? cardV1(input, true) : cardV03(input, true);
        },
        send: { run: deps.runner(agent, c.req.header('authorization')) },
        waitUntil: waitUntilOf(c),
      },
      c.req.raw,
      c.get('auth'),
    );
  });
  app.all('/agents/:kind/:name/a2a', (c) => {
    agentOf(c);
    return handleA2A(
      { store, streaming: true, pushNotifications: false, auth: false, extendedCard: async () => ({}), send: { run: async () => '' } },
      c.req.raw,
      { keyId: null, scopes: [] },
    );
  });
}
