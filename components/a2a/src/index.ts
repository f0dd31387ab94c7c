/**
 * `a2a`: the platform as one A2A agent. `/.well-known/agent-card.json` (and `agent.json` for 0.2/0.3 clients) lists
 * the skills of every registered agent; `POST /a2a` is a JSON-RPC endpoint (v1.0 and the v0.3 method names) that
 * hands each message to the agent whose skill matches (rules in `shared/a2a/dispatch.ts`) by forwarding the request
 * to that agent's own endpoint (`{agents_url}/agents/<kind>/<name>/a2a`), and serves every task from KV `tasks`
 * (get, list, cancel, subscribe, push configs), wherever it was created.
 *
 * The response of a forwarded send says which agent took it in `x-a2a-agent` (`<kind>/<name>`) and why in
 * `x-a2a-dispatch` (`task`, `skill`, `context`, `match` or `default`).
 *
 * With `workflow_url` set, the card also lists `workflow/sparc`, and a send asking for the skill
 * `workflow/<definitionId>` (or answering a waiting workflow task) is not forwarded: it runs a workflow run as the
 * task, here (`shared/a2a/workflow.ts`).
 *
 * @module
 */
import { Hono } from 'hono';
import { cardFormat, cardResponse, cardV03, cardV1, platformSkills, publicOrigin, type CardInput } from '../../../shared/a2a/card.ts';
import { chooseAgent, requestedSkill } from '../../../shared/a2a/dispatch.ts';
import { handleA2A, type ForwardedSend } from '../../../shared/a2a/server.ts';
import { TaskStore } from '../../../shared/a2a/tasks.ts';
import { warmUpA2A } from '../../../shared/a2a/warm-up.ts';
import {
  cancelWorkflowRun,
  continueWorkflow,
  startWorkflow,
  WORKFLOW_PREFIX,
  WORKFLOW_SKILLS,
  workflowDefinitionOf,
  type LocalSend,
  type WorkflowClient,
} from '../../../shared/a2a/workflow.ts';
import { AgentRegistry, memoryKv, type KvLike } from '../../../shared/agents/registry.ts';
import { authStatus, requireScope, type ApiKeysSource, type AuthEnv } from '../../../shared/http/auth.ts';
import { notFound, onError } from '../../../shared/http/errors.ts';
import { fire } from '../../../shared/http/fire.ts';
import type { StoredTask } from '../../../shared/protocol/a2a.ts';
import type { Agent } from '../../../shared/protocol/agents.ts';
import { JsonRpcError, JSONRPC_ERRORS } from '../../../shared/protocol/jsonrpc.ts';
import { KeyValue } from '../../../shared/spin/key-value.ts';
import { variable } from '../../../shared/spin/variables.ts';
import { lazy } from '../../../shared/lazy.ts';

interface Deps {
  agents: () => KvLike;
  tasks: () => KvLike;
  apiKeys: ApiKeysSource;
  agentsUrl: () => string;
  /** `workflow_url` without a trailing slash; undefined when workflows are not available. */
  workflowUrl: () => string | undefined;
  pushNotifications: () => boolean;
  defaultAgent: () => string | undefined;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
}

/** Every agent, in registry order (the registry pages by 100). */
function allAgents(registry: AgentRegistry): Agent[] {
  const out: Agent[] = [];
  let cursor: string | undefined;
  do {
    const page = registry.list({ limit: 100, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

/** Request headers a forwarded call keeps (the version, the caller's key, extensions, what it accepts). */
const FORWARDED_HEADERS = ['content-type', 'accept', 'a2a-version', 'a2a-extensions', 'x-a2a-extensions', 'authorization'];

export function buildApp(deps: Deps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>({ strict: false });
  const registry = new AgentRegistry({ agents: deps.agents, memory: () => memoryKv() });
  const store = new TaskStore(deps.tasks);
  const read = requireScope('read', deps.apiKeys);

  const cardInput = (req: Request): CardInput => {
    const origin = publicOrigin(req);
    return {
      name: 'edge-agents',
      description:
        'Edge-native AI agents on Spin. Each message goes to the agent owning the requested skill (metadata.skill), or the best match by skill tags and names.',
      endpoint: `${origin}/a2a`,
      origin,
      skills: platformSkills(allAgents(registry), deps.workflowUrl() ? WORKFLOW_SKILLS : []),
      streaming: true,
      pushNotifications: deps.pushNotifications(),
      auth: authStatus(deps.apiKeys).enabled,
    };
  };

  const card = (c: { req: { raw: Request } }) => {
    const input = cardInput(c.req.raw);
    return cardResponse(c.req.raw, cardFormat(c.req.raw) === '1.0' ? cardV1(input) : cardV03(input));
  };
  app.get('/.well-known/agent-card.json', card);
  app.get('/.well-known/agent.json', card);

  const forward = async (f: ForwardedSend): Promise<Response> => {
    const agents = allAgents(registry);
    const taskAgent = f.message.taskId ? store.get(f.message.taskId)?.agent : undefined;
    let contextAgent: string | undefined;
    if (!f.message.taskId && f.message.contextId) {
      const inContext = store.all((t) => t.contextId === f.message.contextId);
      inContext.sort((a, b) => (a.timestamp < b.timestamp ? 1 : -1));
      contextAgent = inContext[0]?.agent;
    }
    const choice = chooseAgent({ agents, taskAgent, contextAgent, defaultAgent: deps.defaultAgent() }, f.message, f.metadata);
    const target = `${deps.agentsUrl()}/agents/${choice.agent.kind}/${choice.agent.name}/a2a`;
    const headers: Record<string, string> = {};
    for (const h of FORWARDED_HEADERS) {
      const v = f.req.headers.get(h);
      if (v !== null) headers[h] = v;
    }
    let res: Response;
    try {
      res = await deps.fetch(target, { method: 'POST', headers, body: f.body });
    } catch (err) {
      throw new JsonRpcError(
        JSONRPC_ERRORS.internalError,
        `agent ${choice.agent.kind}/${choice.agent.name} cannot be reached at ${target}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const out = new Headers();
    for (const h of ['content-type', 'cache-control', 'x-accel-buffering', 'www-authenticate']) {
      const v = res.headers.get(h);
      if (v !== null) out.set(h, v);
    }
    out.set('x-a2a-agent', `${choice.agent.kind}/${choice.agent.name}`);
    out.set('x-a2a-dispatch', choice.reason);
    return new Response(res.body, { status: res.status, headers: out });
  };

  const workflowClient = (req: Request): WorkflowClient | undefined => {
    const baseUrl = deps.workflowUrl();
    return baseUrl ? { baseUrl, authorization: req.headers.get('authorization'), fetch: deps.fetch } : undefined;
  };

  /** Workflow sends stay here: a `workflow/<definitionId>` skill, or a message answering a workflow task. */
  const local = async (f: ForwardedSend): Promise<LocalSend | undefined> => {
    const client = workflowClient(f.req);
    if (!client) return undefined;
    if (f.message.taskId) {
      const agent = store.get(f.message.taskId)?.agent;
      return agent?.startsWith(WORKFLOW_PREFIX) ? continueWorkflow(client, agent) : undefined;
    }
    const definitionId = workflowDefinitionOf(requestedSkill(f.message, f.metadata));
    return definitionId === undefined ? undefined : startWorkflow(client, definitionId, f.message, f.metadata);
  };

  const onCancel = async (task: StoredTask, req: Request) => {
    const client = workflowClient(req);
    if (client) await cancelWorkflowRun(client, task);
  };

  app.post('/a2a', read, (c) => {
    const auth = authStatus(deps.apiKeys).enabled;
    return handleA2A(
      {
        store,
        streaming: true,
        pushNotifications: deps.pushNotifications(),
        auth,
        extendedCard: async (version) => (version === '1.0' ? cardV1(cardInput(c.req.raw), true) : cardV03(cardInput(c.req.raw), true)),
        send: { forward, local },
        onCancel,
      },
      c.req.raw,
      c.get('auth'),
    );
  });
  app.all('/a2a', (c) =>
    handleA2A(
      { store, streaming: true, pushNotifications: false, auth: false, extendedCard: async () => ({}), send: { forward } },
      c.req.raw,
      { keyId: null, scopes: [] },
    ),
  );

  app.notFound(notFound);
  app.onError(onError);
  return app;
}

// Host calls happen inside handlers only: at initialisation (Wizer) they are not available.
const app = buildApp({
  agents: lazy(() => KeyValue.open('agents')),
  tasks: lazy(() => KeyValue.open('tasks')),
  apiKeys: () => variable('api_keys'),
  agentsUrl: () => (variable('agents_url') ?? 'http://self.alt').replace(/\/+$/, ''),
  workflowUrl: () => variable('workflow_url')?.trim().replace(/\/+$/, '') || undefined,
  pushNotifications: () => (variable('a2a_push_hosts') ?? '').trim() !== '',
  defaultAgent: () => variable('a2a_default_agent') || undefined,
  fetch: (url, init) => fetch(url, init),
});

const warmAgents = memoryKv();
const warmTasks = memoryKv();
warmUpA2A(
  buildApp({
    agents: () => warmAgents,
    tasks: () => warmTasks,
    apiKeys: () => '',
    agentsUrl: () => 'http://warm.up',
    workflowUrl: () => 'http://warm.up',
    pushNotifications: () => true,
    defaultAgent: () => undefined,
    fetch: async () => new Response('{}'),
  }),
  '/a2a',
  '/.well-known/agent-card.json',
);

fire(app);
