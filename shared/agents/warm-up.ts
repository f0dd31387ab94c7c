/**
 * Warm-up for agent kind components (see `warmUp` in shared/http/fire.ts): the routes that need no host call run
 * once against in-memory stores, so routing, validation, the registry and error rendering are in the snapshot.
 *
 * @module
 */
import type { Hono } from 'hono';
import type { AuthEnv } from '../http/auth.ts';
import { CreateAgentSchema } from '../protocol/agents.ts';
import { warmUp } from '../http/fire.ts';
import { agentApp, type KindDefinition } from './app.ts';
import { AgentRegistry, memoryKv } from './registry.ts';

export function warmUpAgentApp(kind: KindDefinition, app: Hono<AuthEnv>): void {
  warmUp(() => {
    const agents = memoryKv();
    const memory = memoryKv();
    const stores = { agents: () => agents, memory: () => memory };
    new AgentRegistry(stores).create(CreateAgentSchema.parse({ name: 'warm', kind: kind.kind, tools: ['remember', 'recall'] }));
    const warm = agentApp(kind, { stores, routerUrl: () => 'http://warm.up', apiKeys: () => '' });
    const base = `http://warm.up/agents/${kind.kind}`;
    void (async () => {
      await warm.fetch(new Request(`${base}/warm`));
      await warm.fetch(new Request(`${base}/missing`));
      await warm.fetch(new Request(`${base}/warm/conversations/none`));
      await warm.fetch(new Request(`${base}/warm/chat`, { method: 'POST', body: '{"message":' }));
      await warm.fetch(new Request(`${base}/warm/chat`, { method: 'POST', body: JSON.stringify({ message: '', conversationId: '../x' }) }));
      await warm.fetch(new Request(`http://warm.up/agents/other-kind/warm`));
    })();
    void app.fetch(new Request('http://warm.up/no-such-route'));
  });
}
