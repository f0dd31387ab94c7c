/**
 * `agent-coder`: the component serving every agent of kind `coder` at `/agents/coder/<name>/…`
 * (profile, chat with JSON or SSE, conversations). Agents themselves are records in KV `agents`.
 *
 * @module
 */
import { agentApp, type KindDefinition } from '../../../shared/agents/app.ts';
import { warmUpAgentApp } from '../../../shared/agents/warm-up.ts';
import { fire } from '../../../shared/http/fire.ts';
import { KeyValue } from '../../../shared/spin/key-value.ts';
import { variable } from '../../../shared/spin/variables.ts';

const kind: KindDefinition = {
  kind: 'coder',
  description: 'Writes and fixes code: small, tested changes with explanations.',
  instructions:
    'You are a careful software engineer. Answer with small, working, tested code and explain the change briefly. When a fact about the user or project matters later, store it with the remember tool.',
};

function lazy<T>(open: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= open());
}

const app = agentApp(kind, {
  stores: { agents: lazy(() => KeyValue.open('agents')), memory: lazy(() => KeyValue.open('memory')) },
  routerUrl: () => (variable('router_url') ?? 'http://llm-router.spin.internal').replace(/\/+$/, ''),
  apiKeys: () => variable('api_keys'),
});

warmUpAgentApp(kind, app);

fire(app);
