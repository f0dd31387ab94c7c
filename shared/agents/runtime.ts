/**
 * The agent runtime: one chat turn of one agent. It loads the conversation from KV `memory`, builds the prompt from
 * the agent's instructions and history, calls the LLM router (streaming when the caller streams), runs the
 * OpenAI-style tool-calling loop, and stores the turn.
 *
 * Memory layout (KV `memory`), one key per turn so concurrent messages to one conversation never overwrite each
 * other (Spin's key-value store is last-writer-wins):
 * - `conv/<kind>/<name>/<conversationId>/t/<arrival>/0` → the user turn
 * - `conv/<kind>/<name>/<conversationId>/t/<arrival>/1` → the assistant turn (with its tool calls and results)
 * - `fact/<kind>/<name>/<key>` → what the `remember` tool stored
 * `<arrival>` is the receive time in ms, zero-padded, plus a random suffix: keys sort in order of arrival.
 *
 * @module
 */
import { HttpError } from '../http/errors.ts';
import { approxTokenCount } from '../llm/offline.ts';
import { parseSSE } from '../protocol/openai.ts';
import type { Agent, Tool } from '../protocol/agents.ts';
import type { KvLike } from './registry.ts';
import { formatHits, offeredTools as offeredToolsFor, runTool, searchKnowledge, TOOL_DEFINITIONS, type ToolServices } from './tools.ts';

/** At most this many model calls that return tool calls, per message. */
export const MAX_TOOL_ROUNDS = 5;
/**
 * History sent to the model: the most recent turns that fit this many (approximate) tokens; older turns are
 * replaced by an extractive summary, so a long conversation stays within a small model's context window.
 */
export const HISTORY_TOKEN_BUDGET = 3000;
/** The summary of older turns gets at most this many tokens. */
export const SUMMARY_TOKEN_BUDGET = 600;

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  toolCalls?: ToolCallRecord[];
  at: string;
}

export interface ToolCallRecord {
  id: string;
  name: string;
  arguments: string;
  result: string;
  refused?: true;
}

export interface ChatReply {
  conversationId: string;
  reply: string;
  toolCalls: ToolCallRecord[];
  usage: { promptTokens: number; completionTokens: number };
  model: string;
  /** The passages retrieved into the prompt from the agent's knowledge, when there were any. */
  knowledge?: { source: string; score: number }[];
}

/** Server-sent events of a streamed chat. */
export type ChatEvent =
  | { event: 'token'; data: { text: string } }
  | { event: 'tool_call'; data: { id: string; name: string; arguments: string } }
  | { event: 'tool_result'; data: { id: string; name: string; result: string; refused?: true } }
  | { event: 'done'; data: ChatReply };

export interface RuntimeDeps {
  memory: () => KvLike;
  /** Base URL of the LLM router (`router_url`). */
  routerUrl: () => string;
  /** The caller's Authorization header, forwarded to the router (its keys are the platform's keys). */
  authorization?: string | undefined;
  /** The services this component reaches (knowledge, sandbox, other agents); absent ones disable their tools. */
  services?: ToolServices;
  /** `ask_agent` hops that led to this message (0 when a person sent it). */
  hops?: number;
  log: (line: string) => void;
}

type Message = { role: 'system' | 'user' | 'assistant' | 'tool'; content: string | null; tool_calls?: unknown[]; tool_call_id?: string };

export function conversationTurnsPrefix(kind: string, name: string, conversationId: string): string {
  return `conv/${kind}/${name}/${conversationId}/t/`;
}

export { factKey } from './tools.ts';

function arrival(): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16).padStart(8, '0');
  return `${String(Date.now()).padStart(13, '0')}-${rand}`;
}

/** The turns of a conversation in order of arrival (an unreadable turn is skipped). */
export function readTurns(memory: KvLike, kind: string, name: string, conversationId: string): Turn[] {
  const prefix = conversationTurnsPrefix(kind, name, conversationId);
  const turns: Turn[] = [];
  for (const key of memory
    .keys()
    .filter((k) => k.startsWith(prefix))
    .sort()) {
    const raw = memory.get(key);
    if (!raw) continue;
    try {
      turns.push(JSON.parse(new TextDecoder().decode(raw)) as Turn);
    } catch {
      // a corrupt turn must not make the whole conversation unreadable
    }
  }
  return turns;
}

function firstSentence(text: string, maxChars = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.!?](\s|$)/);
  const sentence = end === -1 ? flat : flat.slice(0, end + 1);
  return sentence.length > maxChars ? `${sentence.slice(0, maxChars - 1)}…` : sentence;
}

/**
 * Splits a conversation into the recent turns that fit {@link HISTORY_TOKEN_BUDGET} and, when older turns do not
 * fit, an extractive summary of them (the first sentence of each, newest kept when the summary is over budget).
 */
export function boundedHistory(turns: Turn[], budget = HISTORY_TOKEN_BUDGET): { summary: string | undefined; recent: Turn[] } {
  let used = 0;
  let start = turns.length;
  while (start > 0) {
    const cost = approxTokenCount(turns[start - 1]!.content) + 4;
    if (used + cost > budget) break;
    used += cost;
    start--;
  }
  if (start === 0) return { summary: undefined, recent: turns };
  const lines: string[] = [];
  let summaryTokens = 0;
  for (let i = start - 1; i >= 0; i--) {
    const t = turns[i]!;
    const line = `${t.role}: ${firstSentence(t.content)}`;
    const cost = approxTokenCount(line);
    if (summaryTokens + cost > SUMMARY_TOKEN_BUDGET) break;
    summaryTokens += cost;
    lines.unshift(line);
  }
  const omitted = start - lines.length;
  const header = `Summary of ${start} earlier turn${start === 1 ? '' : 's'} of this conversation${omitted > 0 ? ` (the ${omitted} oldest omitted)` : ''}:`;
  return { summary: [header, ...lines].join('\n'), recent: turns.slice(start) };
}

/** The tools an agent is offered: those in its record that its component can run. */
export function offeredTools(agent: Agent, services: ToolServices = {}): Tool[] {
  return offeredToolsFor(agent, services);
}

interface ModelTurn {
  content: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  usage: { prompt: number; completion: number };
  model: string;
}

async function callRouter(
  deps: RuntimeDeps,
  agent: Agent,
  messages: Message[],
  tools: Tool[],
  emit?: (e: ChatEvent) => void,
): Promise<ModelTurn> {
  const body: Record<string, unknown> = { model: agent.model, messages };
  if (tools.length > 0) body.tools = tools.map((t) => ({ type: 'function', function: { name: t, ...TOOL_DEFINITIONS[t] } }));
  if (emit) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-agent-id': `${agent.kind}:${agent.name}` };
  if (deps.authorization) headers.authorization = deps.authorization;
  let res: Response;
  try {
    res = await fetch(`${deps.routerUrl()}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (err) {
    throw new HttpError(
      502,
      'router_unreachable',
      `the LLM router at ${deps.routerUrl()} cannot be reached: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not JSON: keep the text
    }
    const status = res.status === 429 ? 429 : res.status === 401 || res.status === 403 ? res.status : 502;
    throw new HttpError(status, 'router_error', `the LLM router answered ${res.status}: ${message}`);
  }
  if (!emit) {
    const json = (await res.json()) as {
      model?: string;
      choices?: { message?: { content?: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[] } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    const message = json.choices?.[0]?.message;
    return {
      content: message?.content ?? '',
      toolCalls: (message?.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
      usage: { prompt: json.usage?.prompt_tokens ?? 0, completion: json.usage?.completion_tokens ?? 0 },
      model: json.model ?? agent.model,
    };
  }
  // Streamed: relay content deltas as tokens, assemble tool-call fragments by index.
  const turn: ModelTurn = { content: '', toolCalls: [], usage: { prompt: 0, completion: 0 }, model: agent.model };
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  for await (const event of parseSSE(res.body!)) {
    if (event.data === '[DONE]') break;
    const chunk = JSON.parse(event.data) as {
      model?: string;
      error?: { message?: string };
      choices?: {
        delta?: {
          content?: string | null;
          tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
        };
      }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
    };
    if (chunk.error) throw new HttpError(502, 'router_stream_failed', chunk.error.message ?? 'the model stream failed');
    if (chunk.model) turn.model = chunk.model;
    if (chunk.usage) turn.usage = { prompt: chunk.usage.prompt_tokens ?? 0, completion: chunk.usage.completion_tokens ?? 0 };
    const delta = chunk.choices?.[0]?.delta;
    if (delta?.content) {
      turn.content += delta.content;
      emit({ event: 'token', data: { text: delta.content } });
    }
    for (const t of delta?.tool_calls ?? []) {
      const call = calls.get(t.index) ?? { id: '', name: '', arguments: '' };
      if (t.id) call.id = t.id;
      if (t.function?.name) call.name += t.function.name;
      if (t.function?.arguments) call.arguments += t.function.arguments;
      calls.set(t.index, call);
    }
  }
  turn.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  return turn;
}

/**
 * Runs one message through an agent and stores the turn. `emit` receives events when the caller streams.
 * Throws {@link HttpError} for router failures.
 */
export async function chat(
  deps: RuntimeDeps,
  agent: Agent,
  defaults: { instructions: string },
  input: { message: string; conversationId?: string | undefined },
  emit?: (e: ChatEvent) => void,
): Promise<ChatReply> {
  const memory = deps.memory();
  const conversationId = input.conversationId ?? crypto.randomUUID();
  const prefix = conversationTurnsPrefix(agent.kind, agent.name, conversationId);
  const key = `${prefix}${arrival()}`;
  const history = boundedHistory(readTurns(memory, agent.kind, agent.name, conversationId));
  memory.set(`${key}/0`, JSON.stringify({ role: 'user', content: input.message, at: new Date().toISOString() } satisfies Turn));

  const services = deps.services ?? {};
  const tools = offeredTools(agent, services);
  const toolContext = { agent, memory: deps.memory, services, authorization: deps.authorization, hops: deps.hops ?? 0, log: deps.log };
  const messages: Message[] = [{ role: 'system', content: agent.instructions || defaults.instructions }];
  // Retrieval: the best passages of the agent's collections for this message go into the prompt. A knowledge
  // service that fails costs the answer its context, not the answer.
  let knowledge: ChatReply['knowledge'];
  if (agent.knowledge?.autoRetrieve && services.ragUrl?.()) {
    try {
      const hits = await searchKnowledge(toolContext, input.message, undefined, agent.knowledge.topK);
      if (hits.length > 0) {
        knowledge = hits.map((h) => ({ source: h.source ?? h.documentId, score: h.score }));
        messages.push({
          role: 'system',
          content: `Passages from the knowledge base that may help (cite them by source):\n\n${formatHits(hits)}`,
        });
      }
    } catch (err) {
      deps.log(`agent ${agent.kind}/${agent.name}: knowledge retrieval failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (history.summary) messages.push({ role: 'system', content: history.summary });
  for (const t of history.recent) messages.push({ role: t.role, content: t.content });
  messages.push({ role: 'user', content: input.message });

  const toolCalls: ToolCallRecord[] = [];
  const usage = { promptTokens: 0, completionTokens: 0 };
  let reply = '';
  let model = agent.model;
  for (let round = 0; ; round++) {
    const turn = await callRouter(deps, agent, messages, round < MAX_TOOL_ROUNDS ? tools : [], emit);
    usage.promptTokens += turn.usage.prompt;
    usage.completionTokens += turn.usage.completion;
    model = turn.model;
    if (turn.toolCalls.length === 0 || round >= MAX_TOOL_ROUNDS) {
      // Past the last round no tools are offered; calls a model makes anyway are refused like any other.
      for (const call of turn.toolCalls) {
        deps.log(`agent ${agent.kind}/${agent.name}: refused a call to tool '${call.name}' after ${MAX_TOOL_ROUNDS} tool rounds`);
        const record: ToolCallRecord = {
          ...call,
          result: `refused: no more than ${MAX_TOOL_ROUNDS} tool rounds per message`,
          refused: true,
        };
        toolCalls.push(record);
        emit?.({ event: 'tool_result', data: { id: record.id, name: record.name, result: record.result, refused: true } });
      }
      reply = turn.content;
      break;
    }
    messages.push({
      role: 'assistant',
      content: turn.content || null,
      tool_calls: turn.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    });
    for (const call of turn.toolCalls) {
      emit?.({ event: 'tool_call', data: call });
      let record: ToolCallRecord;
      if (!tools.includes(call.name as Tool)) {
        // A model (or a tool result steering it) asked for a tool this agent was not given: refuse, never run it.
        deps.log(`agent ${agent.kind}/${agent.name}: refused a call to tool '${call.name}' (offered: ${tools.join(', ') || 'none'})`);
        record = { ...call, result: `refused: the tool '${call.name}' is not available to this agent`, refused: true };
      } else {
        record = { ...call, result: await runTool(toolContext, call.name as Tool, call.arguments) };
      }
      toolCalls.push(record);
      emit?.({
        event: 'tool_result',
        data: { id: record.id, name: record.name, result: record.result, ...(record.refused ? { refused: true as const } : {}) },
      });
      messages.push({ role: 'tool', tool_call_id: call.id, content: record.result });
    }
  }

  const result: ChatReply = { conversationId, reply, toolCalls, usage, model, ...(knowledge ? { knowledge } : {}) };
  memory.set(`${key}/1`, JSON.stringify({ role: 'assistant', content: reply, toolCalls, at: new Date().toISOString() } satisfies Turn));
  emit?.({ event: 'done', data: result });
  return result;
}
