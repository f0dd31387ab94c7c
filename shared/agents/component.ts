/**
 * Everything an agent kind component does besides naming its kind: open its stores lazily (each open is a host
 * call), read its variables, warm up, and serve.
 *
 * @module
 */
import { askPeer } from '../a2a/client.ts';
import { warmUpA2A } from '../a2a/warm-up.ts';
import { fire } from '../http/fire.ts';
import { KeyValue } from '../spin/key-value.ts';
import { variable } from '../spin/variables.ts';
import { agentApp, type KindDefinition } from './app.ts';
import { AgentRegistry, memoryKv } from './registry.ts';
import { CreateAgentSchema } from '../protocol/agents.ts';
import { warmUpAgentApp } from './warm-up.ts';
import { lazy } from '../lazy.ts';

/** How long `ask_agent` waits for a remote agent's answer. */
const PEER_TIMEOUT_MS = 120_000;

/** A base URL variable without its trailing slash; undefined when the component does not have the variable. */
function baseUrl(name: string): string | undefined {
  const v = variable(name)?.trim();
  return v ? v.replace(/\/+$/, '') : undefined;
}

/** Serves the agents of one kind as this component's `wasi:http/incoming-handler`. */
export function serveKind(kind: KindDefinition): void {
  const app = agentApp(kind, {
    stores: { agents: lazy(() => KeyValue.open('agents')), memory: lazy(() => KeyValue.open('memory')) },
    routerUrl: () => (variable('router_url') ?? 'http://llm-router.spin.internal').replace(/\/+$/, ''),
    apiKeys: () => variable('api_keys'),
    tasks: lazy(() => KeyValue.open('tasks')),
    // Push is advertised only when the component was given webhook hosts (spin.toml: a2a_push_hosts).
    pushNotifications: () => (variable('a2a_push_hosts') ?? '').trim() !== '',
    // A tool's service is available when the component has its variable (spin.toml grants the matching host).
    services: {
      ragUrl: lazy(() => baseUrl('rag_url')),
      sandboxUrl: lazy(() => baseUrl('sandbox_url')),
      agentsUrl: lazy(() => baseUrl('agents_url')),
      // Remote peers need outbound grants for their hosts (spin.toml: a2a_peer_hosts). The caller's API key is
      // this platform's and is never sent to a peer.
      peersAllowed: lazy(() => (variable('a2a_peer_hosts') ?? '').trim() !== ''),
      askPeer: async (peer, message) => (await askPeer(peer.cardUrl, message, { timeoutMs: PEER_TIMEOUT_MS })).text,
    },
  });
  warmUpAgentApp(kind, app);
  const agents = memoryKv();
  const memory = memoryKv();
  const stores = { agents: () => agents, memory: () => memory };
  new AgentRegistry(stores).create(CreateAgentSchema.parse({ name: 'warm', kind: kind.kind, skills: [{ id: 'warm', name: 'Warm' }] }));
  const warm = agentApp(kind, { stores, routerUrl: () => 'http://warm.up', apiKeys: () => '' });
  warmUpA2A(warm, `/agents/${kind.kind}/warm/a2a`, `/agents/${kind.kind}/warm/.well-known/agent-card.json`);
  fire(app);
}
