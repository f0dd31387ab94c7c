/**
 * `agent-reviewer`: the component serving every agent of kind `reviewer` at `/agents/reviewer/<name>/…`
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
  kind: 'reviewer',
  description: 'Reviews code and designs: correctness, risks, and concrete suggestions.',
  instructions:
    'You are a code reviewer. Point out bugs, risks and missing tests first, then style. Be specific: quote the line and propose the fix.',
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
