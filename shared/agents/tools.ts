/**
 * The agents' tools: their OpenAI function definitions, which of them an agent is offered, and how each runs.
 *
 * A tool is offered only when both hold: the agent's record lists it, and the agent's component can run it. The
 * component's ability is its configuration: `search_knowledge` needs a `rag_url` variable (and the agent's
 * `knowledge.collections`), `execute_code` a `sandbox_url`, `ask_agent` an `agents_url` (local agents) or a peer
 * client (remote A2A agents); spin.toml pairs each variable with the `allowed_outbound_hosts` entry that lets the
 * call through, so a component without the grant has no variable and never offers the tool. Calls a model makes to
 * anything else are refused by the runtime (see runtime.ts) and never reach this module.
 *
 * Results are text for the model, capped in size; failures are results too (`error: …`), so the model can react
 * instead of the whole chat failing.
 *
 * @module
 */
import type { Agent, Peer, Tool } from '../protocol/agents.ts';
import type { KvLike } from './registry.ts';

/** The services a component can reach, from its variables; an absent one disables the tools that need it. */
export interface ToolServices {
  ragUrl?: () => string | undefined;
  sandboxUrl?: () => string | undefined;
  agentsUrl?: () => string | undefined;
  /** Whether the component may reach remote A2A peers (it was granted their hosts). */
  peersAllowed?: () => boolean;
  /** Sends a message to a remote A2A agent and returns its text answer. */
  askPeer?: (peer: Peer, message: string) => Promise<string>;
}

export interface ToolContext {
  agent: Agent;
  memory: () => KvLike;
  services: ToolServices;
  /** The caller's Authorization header, forwarded to the platform's services. */
  authorization?: string | undefined;
  /** How many `ask_agent` hops led to this chat (0 for a person's message). */
  hops: number;
  log: (line: string) => void;
}

/** Header carrying the `ask_agent` hop count between agents. */
export const HOPS_HEADER = 'x-edge-agents-hops';
/** An agent asked by an agent asked by an agent … stops here. */
export const MAX_HOPS = 3;
/** Largest tool result handed to the model. */
export const MAX_RESULT_CHARS = 6000;
const FACT_KEY = /^[A-Za-z0-9._-]{1,128}$/;
const AGENT_REF = /^([a-z0-9][a-z0-9-]{0,62})\/([a-z0-9][a-z0-9-]{0,62})$/;

export const TOOL_DEFINITIONS: Record<Tool, { description: string; parameters: Record<string, unknown> }> = {
  remember: {
    description: 'Store a fact under a short key, to recall it in later conversations.',
    parameters: {
      type: 'object',
      properties: { key: { type: 'string', description: 'a short name, e.g. favourite_colour' }, value: { type: 'string' } },
      required: ['key', 'value'],
    },
  },
  recall: {
    description: 'Recall a fact stored earlier with remember.',
    parameters: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] },
  },
  search_knowledge: {
    description:
      "Search this agent's knowledge collections (documents and notes) and return the most relevant passages with their sources.",
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'what to look for, in natural language or keywords' },
        collection: { type: 'string', description: "one of the agent's collections; all of them when omitted" },
        topK: { type: 'integer', minimum: 1, maximum: 10 },
      },
      required: ['query'],
    },
  },
  execute_code: {
    description:
      'Run a JavaScript or TypeScript snippet in an isolated sandbox (no network, no storage) and return its console output and result.',
    parameters: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        language: { type: 'string', enum: ['javascript', 'typescript'] },
      },
      required: ['code'],
    },
  },
  ask_agent: {
    description: 'Ask another agent a question and return its answer: a local agent as "kind/name", or one of this agent\'s peers by name.',
    parameters: {
      type: 'object',
      properties: {
        agent: { type: 'string', description: 'kind/name of a local agent, or a peer name' },
        message: { type: 'string' },
      },
      required: ['agent', 'message'],
    },
  },
};

/** Whether this component can run `tool` for `agent`. */
export function canRun(tool: Tool, agent: Agent, services: ToolServices): boolean {
  switch (tool) {
    case 'remember':
    case 'recall':
      return true;
    case 'search_knowledge':
      return Boolean(services.ragUrl?.()) && (agent.knowledge?.collections.length ?? 0) > 0;
    case 'execute_code':
      return Boolean(services.sandboxUrl?.());
    case 'ask_agent':
      return Boolean(services.agentsUrl?.()) || (canAskPeers(services) && (agent.peers?.length ?? 0) > 0);
  }
}

function canAskPeers(services: ToolServices): boolean {
  return Boolean(services.askPeer) && (services.peersAllowed?.() ?? true);
}

/** The tools an agent is offered: those its record lists that its component can run. */
export function offeredTools(agent: Agent, services: ToolServices): Tool[] {
  return agent.tools.filter((t) => canRun(t, agent, services));
}

function cap(text: string): string {
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}\n… (truncated)` : text;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function jsonHeaders(ctx: ToolContext): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', 'x-agent-id': `${ctx.agent.kind}:${ctx.agent.name}` };
  if (ctx.authorization) h.authorization = ctx.authorization;
  return h;
}

/** POSTs JSON and returns the parsed answer, or throws with the service's own error message. */
async function postJson(url: string, body: unknown, headers: Record<string, string>): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${res.status} from ${new URL(url).pathname}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = (json as { error?: { message?: string } }).error;
    throw new Error(`${res.status}: ${e?.message ?? text.slice(0, 200)}`);
  }
  return json;
}

interface SearchHit {
  documentId: string;
  chunkId?: string | number;
  score: number;
  text: string;
  metadata?: Record<string, unknown>;
  source?: string;
}

/** Searches the agent's collections (or one of them) and merges the hits by score. */
export async function searchKnowledge(ctx: ToolContext, query: string, collection?: string, topK = 5): Promise<SearchHit[]> {
  const base = ctx.services.ragUrl?.();
  const collections = ctx.agent.knowledge?.collections ?? [];
  if (!base || collections.length === 0) throw new Error('this agent has no knowledge collections');
  if (collection !== undefined && !collections.includes(collection)) {
    throw new Error(`'${collection}' is not one of this agent's collections (${collections.join(', ')})`);
  }
  const targets = collection !== undefined ? [collection] : collections;
  const results = await Promise.all(
    targets.map(async (c) => {
      const json = (await postJson(
        `${base}/api/v1/knowledge/collections/${encodeURIComponent(c)}/search`,
        { query, mode: 'hybrid', topK },
        jsonHeaders(ctx),
      )) as {
        results?: SearchHit[];
      };
      return (json.results ?? []).map((r) => ({ ...r, source: r.source ?? `${c}/${r.documentId}` }));
    }),
  );
  return results
    .flat()
    .sort((a, b) => b.score - a.score)
    .slice(0, topK);
}

/** Hits as numbered passages with their sources, for a prompt or a tool result. */
export function formatHits(hits: SearchHit[], perHitChars = 800): string {
  if (hits.length === 0) return 'no matching passages';
  return hits
    .map((h, i) => {
      const title = typeof h.metadata?.title === 'string' ? ` "${h.metadata.title}"` : '';
      const text = h.text.length > perHitChars ? `${h.text.slice(0, perHitChars)}…` : h.text;
      return `[${i + 1}] ${h.source}${title} (score ${h.score.toFixed(3)})\n${text}`;
    })
    .join('\n\n');
}

function parseArgs(args: string): Record<string, unknown> | string {
  try {
    const parsed = JSON.parse(args || '{}') as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'error: the arguments must be a JSON object';
    return parsed as Record<string, unknown>;
  } catch {
    return `error: the arguments are not JSON: ${args.slice(0, 200)}`;
  }
}

function str(args: Record<string, unknown>, key: string, max: number): string | undefined {
  const v = args[key];
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

/** Where `remember` keeps a fact (KV `memory`). */
export function factKey(kind: string, name: string, key: string): string {
  return `fact/${kind}/${name}/${key}`;
}

/** Runs one offered tool; never throws (a failure is an `error: …` result for the model). */
export async function runTool(ctx: ToolContext, name: Tool, rawArgs: string): Promise<string> {
  const args = parseArgs(rawArgs);
  if (typeof args === 'string') return args;
  try {
    switch (name) {
      case 'remember':
      case 'recall': {
        const key = typeof args.key === 'string' ? args.key : '';
        if (!FACT_KEY.test(key)) return 'error: key must be 1-128 characters of [A-Za-z0-9._-]';
        const memory = ctx.memory();
        const k = factKey(ctx.agent.kind, ctx.agent.name, key);
        if (name === 'remember') {
          const value = typeof args.value === 'string' ? args.value : JSON.stringify(args.value ?? null);
          if (value.length > 8192) return 'error: value longer than 8192 characters';
          memory.set(k, value);
          return `remembered ${key}`;
        }
        const stored = memory.get(k);
        return stored === undefined ? `nothing remembered for ${key}` : new TextDecoder().decode(stored);
      }
      case 'search_knowledge': {
        const query = str(args, 'query', 4000);
        if (!query) return 'error: query must be a non-empty string of at most 4000 characters';
        const collection = args.collection === undefined ? undefined : str(args, 'collection', 64);
        if (args.collection !== undefined && !collection) return 'error: collection must be a collection name';
        const topK = typeof args.topK === 'number' && Number.isInteger(args.topK) ? Math.min(10, Math.max(1, args.topK)) : 5;
        return cap(formatHits(await searchKnowledge(ctx, query, collection, topK)));
      }
      case 'execute_code': {
        const code = str(args, 'code', 64 * 1024);
        if (!code) return 'error: code must be a non-empty string of at most 64 KiB';
        const language = args.language === 'typescript' ? 'typescript' : 'javascript';
        const out = (await postJson(`${ctx.services.sandboxUrl!()}/execute`, { code, language }, jsonHeaders(ctx))) as {
          stdout?: string;
          result?: unknown;
          error?: unknown;
          durationMs?: number;
        };
        return cap(
          JSON.stringify({ stdout: out.stdout ?? '', result: out.result ?? null, error: out.error ?? null, durationMs: out.durationMs }),
        );
      }
      case 'ask_agent': {
        const target = str(args, 'agent', 200);
        const text = str(args, 'message', 16 * 1024);
        if (!target || !text) return 'error: agent and message must be non-empty strings';
        if (ctx.hops + 1 > MAX_HOPS) return `error: agents may delegate at most ${MAX_HOPS} levels deep`;
        const peer = ctx.agent.peers?.find((p) => p.name === target);
        if (peer) {
          if (!canAskPeers(ctx.services)) return `error: this component cannot reach remote agents`;
          return cap(await ctx.services.askPeer!(peer, text));
        }
        const ref = AGENT_REF.exec(target);
        const base = ctx.services.agentsUrl?.();
        if (!ref) return `error: '${target}' is neither kind/name nor one of this agent's peers`;
        if (!base) return 'error: this component cannot reach local agents';
        if (ref[1] === ctx.agent.kind && ref[2] === ctx.agent.name) return 'error: an agent cannot ask itself';
        const reply = (await postJson(
          `${base}/agents/${ref[1]}/${ref[2]}/chat`,
          { message: text },
          { ...jsonHeaders(ctx), [HOPS_HEADER]: String(ctx.hops + 1) },
        )) as {
          reply?: string;
        };
        return cap(reply.reply ?? '');
      }
    }
  } catch (err) {
    ctx.log(`agent ${ctx.agent.kind}/${ctx.agent.name}: tool ${name} failed: ${message(err)}`);
    return `error: ${message(err)}`;
  }
}
