/**
 * `agent-researcher`: the component serving every agent of kind `researcher` at `/agents/researcher/<name>/…`
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
  kind: 'researcher',
  description: 'Finds, compares and summarises information, citing where it came from.',
  instructions:
    'You are a research assistant. Answer precisely, separate facts from assumptions, say what you do not know, and cite the sources you were given. Use remember and recall for facts that matter across conversations.',
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
