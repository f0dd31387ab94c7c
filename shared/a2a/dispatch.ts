/**
 * Which agent the platform endpoint (`/a2a`) hands a message to. The first rule that applies wins:
 *
 * 1. **The task's agent**: a message that names a task (`message.taskId`) goes to the agent running that task.
 * 2. **An explicit skill**: `skill` in the message's or the request's `metadata`, as the platform card lists it
 *    (`<kind>/<name>/<skillId>`), as an agent (`<kind>/<name>`), or as a bare skill id or tag (the first agent in
 *    registry order that has it). A skill no agent has is an error (-32602), never a silent fallback.
 * 3. **The conversation's agent**: a message in a context (`contextId`) that already has tasks goes to the agent of
 *    the most recent one, so a conversation stays with one agent.
 * 4. **The best match**: the words of the message against each agent's skills: a tag counts 3, a word of a skill's
 *    id or name 2. The highest total wins; ties go to registry order (kind, then name).
 * 5. **The default**: the `a2a_default_agent` variable (`<kind>/<name>`) when it names an existing agent, else the
 *    first agent in registry order.
 *
 * @module
 */
import type { Agent } from '../protocol/agents.ts';
import { A2A_ERRORS, type Message } from '../protocol/a2a.ts';
import { JsonRpcError, JSONRPC_ERRORS } from '../protocol/jsonrpc.ts';
import { messageText } from './execute.ts';

export type ChoiceReason = 'task' | 'skill' | 'context' | 'match' | 'default';

export interface Choice {
  agent: Agent;
  reason: ChoiceReason;
}

export interface DispatchContext {
  /** Every agent, in registry order. */
  agents: readonly Agent[];
  /** `<kind>/<name>` of the task the message names, when it names one that exists. */
  taskAgent?: string | undefined;
  /** `<kind>/<name>` of the agent of the context's most recent task, if any. */
  contextAgent?: string | undefined;
  /** The `a2a_default_agent` variable. */
  defaultAgent?: string | undefined;
}

const ref = (a: Agent) => `${a.kind}/${a.name}`;

function words(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9+#]+/)
      .filter((w) => w.length >= 2),
  );
}

/** The explicit skill a request asks for: `metadata.skill` of the message, else of the request. */
export function requestedSkill(message: Message, metadata: Record<string, unknown> | undefined): string | undefined {
  const value = message.metadata?.skill ?? metadata?.skill;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, 'invalid params: metadata.skill must be a non-empty string');
  return value;
}

/** How well an agent's skills match a message's words (see the module comment). */
export function matchScore(agent: Agent, text: Set<string>): number {
  let score = 0;
  for (const s of agent.skills) {
    for (const tag of s.tags) {
      const t = tag.toLowerCase();
      const tagWords = [...words(t)];
      if (text.has(t) || (tagWords.length > 1 && tagWords.every((w) => text.has(w)))) score += 3;
    }
    for (const w of new Set([...words(s.id.replace(/-/g, ' ')), ...words(s.name)])) if (w.length >= 3 && text.has(w)) score += 2;
  }
  return score;
}

/** Picks the agent for a message; throws JSON-RPC errors the caller returns as they are. */
export function chooseAgent(ctx: DispatchContext, message: Message, metadata: Record<string, unknown> | undefined): Choice {
  const byRef = (r: string | undefined) => (r === undefined ? undefined : ctx.agents.find((a) => ref(a) === r));
  if (message.taskId) {
    const agent = byRef(ctx.taskAgent);
    if (!agent) throw new JsonRpcError(A2A_ERRORS.taskNotFound, `task ${message.taskId} was not found`);
    return { agent, reason: 'task' };
  }
  if (ctx.agents.length === 0) throw new JsonRpcError(A2A_ERRORS.unsupportedOperation, 'no agents are registered on this platform yet');
  const skill = requestedSkill(message, metadata);
  if (skill !== undefined) {
    const parts = skill.split('/');
    let agent: Agent | undefined;
    if (parts.length === 3)
      agent = ctx.agents.find((a) => a.kind === parts[0] && a.name === parts[1] && a.skills.some((s) => s.id === parts[2]));
    if (parts.length === 3 && !agent && parts[2] === 'chat') agent = byRef(`${parts[0]}/${parts[1]}`);
    if (parts.length === 2) agent = byRef(skill);
    if (parts.length === 1) {
      const tag = skill.toLowerCase();
      agent = ctx.agents.find((a) => a.skills.some((s) => s.id === skill || s.tags.some((t) => t.toLowerCase() === tag)));
    }
    if (!agent)
      throw new JsonRpcError(
        JSONRPC_ERRORS.invalidParams,
        `invalid params: no agent has the skill ${JSON.stringify(skill.slice(0, 200))}; see the agent card's skills`,
      );
    return { agent, reason: 'skill' };
  }
  const contextAgent = byRef(ctx.contextAgent);
  if (contextAgent) return { agent: contextAgent, reason: 'context' };
  const text = words(messageText(message));
  let best: Agent | undefined;
  let bestScore = 0;
  for (const a of ctx.agents) {
    const score = matchScore(a, text);
    if (score > bestScore) {
      best = a;
      bestScore = score;
    }
  }
  if (best) return { agent: best, reason: 'match' };
  return { agent: byRef(ctx.defaultAgent) ?? ctx.agents[0]!, reason: 'default' };
}
