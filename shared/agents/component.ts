/**
 * Everything an agent kind component does besides naming its kind: open its stores lazily (each open is a host
 * call), read its variables, warm up, and serve.
 *
 * @module
 */
import { fire } from '../http/fire.ts';
import { KeyValue } from '../spin/key-value.ts';
import { variable } from '../spin/variables.ts';
import { agentApp, type KindDefinition } from './app.ts';
import { warmUpAgentApp } from './warm-up.ts';

function lazy<T>(open: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= open());
}

/** Serves the agents of one kind as this component's `wasi:http/incoming-handler`. */
export function serveKind(kind: KindDefinition): void {
  const app = agentApp(kind, {
    stores: { agents: lazy(() => KeyValue.open('agents')), memory: lazy(() => KeyValue.open('memory')) },
    routerUrl: () => (variable('router_url') ?? 'http://llm-router.spin.internal').replace(/\/+$/, ''),
    apiKeys: () => variable('api_keys'),
  });
  warmUpAgentApp(kind, app);
  fire(app);
}
