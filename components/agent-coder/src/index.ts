/**
 * `agent-coder`: the component serving every agent of kind `coder` at `/agents/coder/<name>/…`
 * (profile, chat with JSON or SSE, conversations). Agents themselves are records in KV `agents`.
 *
 * @module
 */
import type { KindDefinition } from '../../../shared/agents/app.ts';
import { serveKind } from '../../../shared/agents/component.ts';

const kind: KindDefinition = {
  kind: 'coder',
  description: 'Writes and fixes code: small, tested changes with explanations.',
  instructions:
    'You are a careful software engineer. Answer with small, working, tested code and explain the change briefly. When a fact about the user or project matters later, store it with the remember tool.',
};

serveKind(kind);
