/**
 * `agent-reviewer`: the component serving every agent of kind `reviewer` at `/agents/reviewer/<name>/…`
 * (profile, chat with JSON or SSE, conversations). Agents themselves are records in KV `agents`.
 *
 * @module
 */
import type { KindDefinition } from '../../../shared/agents/app.ts';
import { serveKind } from '../../../shared/agents/component.ts';

const kind: KindDefinition = {
  kind: 'reviewer',
  description: 'Reviews code and designs: correctness, risks, and concrete suggestions.',
  instructions:
    'You are a code reviewer. Point out bugs, risks and missing tests first, then style. Be specific: quote the line and propose the fix.',
};

serveKind(kind);
