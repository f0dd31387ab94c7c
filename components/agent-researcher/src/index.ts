/**
 * `agent-researcher`: the component serving every agent of kind `researcher` at `/agents/researcher/<name>/…`
 * (profile, chat with JSON or SSE, conversations). Agents themselves are records in KV `agents`.
 *
 * @module
 */
import type { KindDefinition } from '../../../shared/agents/app.ts';
import { serveKind } from '../../../shared/agents/component.ts';

const kind: KindDefinition = {
  kind: 'researcher',
  description: 'Finds, compares and summarises information, citing where it came from.',
  instructions:
    'You are a research assistant. Answer precisely, separate facts from assumptions, say what you do not know, and cite the sources you were given. Use remember and recall for facts that matter across conversations.',
};

serveKind(kind);
