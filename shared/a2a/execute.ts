/**
 * Running an agent for an A2A task: turning the client's message into text for the agent, creating or continuing
 * the task in KV `tasks`, driving it through `working` to a terminal state while emitting the status and artifact
 * events a stream (or a subscriber polling the store) sees, and delivering push notifications.
 *
 * NOTE: a Spin component instance lives for one request. All work happens inside the request that started it:
 * a blocking call answers when the task is done, a streaming call streams until then, and a non-blocking call
 * (`returnImmediately` / `blocking: false`) sends the `working` task and finishes the run in the same instance
 * after the response body has ended. If the instance is killed first (host restart), the task stays `working`.
 *
 * @module
 */
import { CONVERSATION_ID } from '../protocol/agents.ts';
import { A2A_ERRORS, INTERRUPTED_STATES, isTerminal, type Artifact, type Message, type StoredTask } from '../protocol/a2a.ts';
import { JsonRpcError } from '../protocol/jsonrpc.ts';
import { OUTPUT_MODES } from './card.ts';
import { deliverPush } from './push.ts';
import { uuid, type Caller, type TaskStore } from './tasks.ts';

/** Runs the agent on one message; `onToken` receives the reply as it streams. Returns the whole reply. */
export type AgentRun = (text: string, conversationId: string, onToken?: (text: string) => void) => Promise<string>;

/** What a stream (or push) reports; rendered per wire version by `server.ts`. */
export type TaskEvent =
  | { type: 'task'; task: StoredTask }
  | { type: 'status'; task: StoredTask }
  | { type: 'artifact'; task: StoredTask; artifact: Artifact; append: boolean; lastChunk: boolean };

/** The longest text the agent accepts from one message (the chat route's limit). */
export const MAX_TEXT_CHARS = 32 * 1024;
/** How often a running task's partial reply is written to the store for subscribers in other requests. */
export const PARTIAL_FLUSH_MS = 400;

/**
 * The message as text for the agent: text parts as they are, data parts as JSON, files as a note naming them (the
 * agents read text only). -32005 when nothing in the message is text or data.
 */
export function messageText(m: Message): string {
  const out: string[] = [];
  let readable = 0;
  for (const p of m.parts) {
    if (p.text !== undefined) {
      out.push(p.text);
      readable++;
    } else if (p.data !== undefined) {
      out.push('```json\n' + JSON.stringify(p.data, null, 2) + '\n```');
      readable++;
    } else {
      const what = [p.filename, p.mediaType].filter(Boolean).join(', ') || 'unnamed';
      out.push(p.url !== undefined ? `[attached file (${what}) at ${p.url}]` : `[attached file (${what}), not readable by this agent]`);
    }
  }
  if (readable === 0)
    throw new JsonRpcError(
      A2A_ERRORS.contentTypeNotSupported,
      'this agent reads text and JSON data parts (text/plain, application/json); the message has only files',
    );
  const text = out.join('\n\n');
  if (text.length > MAX_TEXT_CHARS) throw new JsonRpcError(-32602, `the message text exceeds ${MAX_TEXT_CHARS} characters`);
  return text;
}

/** -32005 unless the client accepts a mode the agent produces (text/plain); an empty list accepts anything. */
export function checkOutputModes(accepted: readonly string[] | undefined): void {
  if (!accepted || accepted.length === 0) return;
  const ok = accepted.some((m) => {
    const mode = m.split(';')[0]!.trim().toLowerCase();
    return mode === '*/*' || mode === 'text/*' || OUTPUT_MODES.includes(mode);
  });
  if (!ok)
    throw new JsonRpcError(
      A2A_ERRORS.contentTypeNotSupported,
      `this agent answers in ${OUTPUT_MODES.join(', ')}; acceptedOutputModes allows only ${accepted.join(', ')}`,
    );
}

/** The memory conversation of a context: the context id itself when it is a valid conversation id, else a hash of it. */
export function conversationIdFor(contextId: string): string {
  if (CONVERSATION_ID.test(contextId)) return contextId;
  // FNV-1a, 2×32 bits: stable, synchronous, and only needs to spread client-chosen context ids.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < contextId.length; i++) {
    const c = contextId.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return `a2a-${h1.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0')}`;
}

/**
 * The task a message starts or continues. A new message gets a new task (in the message's context, or a new one);
 * a message naming a task continues it only while the task waits for input (`input-required`/`auth-required`):
 * -32001 for an unknown (or invisible) task, -32004 for a terminal or busy one, -32602 when the context differs.
 */
export function openTask(
  store: TaskStore,
  agent: string,
  caller: Caller,
  message: Message,
  metadata?: Record<string, unknown>,
): StoredTask {
  const now = new Date().toISOString();
  if (message.taskId) {
    const task = store.get(message.taskId);
    if (!task || task.agent !== agent || !(caller.keyId === null || caller.admin || task.owner === caller.keyId))
      throw new JsonRpcError(A2A_ERRORS.taskNotFound, `task ${message.taskId} was not found`);
    if (isTerminal(task.state))
      throw new JsonRpcError(A2A_ERRORS.unsupportedOperation, `task ${task.id} is ${task.state} and accepts no further messages`);
    if (!INTERRUPTED_STATES.includes(task.state))
      throw new JsonRpcError(A2A_ERRORS.unsupportedOperation, `task ${task.id} is still ${task.state}; wait for it or cancel it`);
    if (message.contextId && message.contextId !== task.contextId)
      throw new JsonRpcError(-32602, `message.contextId ${message.contextId} does not match task ${task.id}'s context ${task.contextId}`);
    const next: StoredTask = {
      ...task,
      state: 'submitted',
      timestamp: now,
      message: undefined,
      history: [...task.history, { ...message, taskId: task.id, contextId: task.contextId }],
    };
    store.put(next);
    return next;
  }
  const id = uuid();
  const contextId = message.contextId || uuid();
  const task: StoredTask = {
    id,
    contextId,
    state: 'submitted',
    timestamp: now,
    history: [{ ...message, taskId: id, contextId }],
    artifacts: [],
    metadata,
    agent,
    owner: caller.keyId,
    createdAt: now,
  };
  store.put(task);
  return task;
}

function agentMessage(task: StoredTask, text: string): Message {
  return { messageId: uuid(), role: 'agent', parts: [{ text }], contextId: task.contextId, taskId: task.id };
}

/**
 * Runs the agent for a `submitted` task to the end: `working`, then `completed` with the reply as an artifact (and
 * as the status message and the last history entry), or `failed`. With `onEvent` (a stream), tokens go out as
 * artifact chunks and the partial reply is written every {@link PARTIAL_FLUSH_MS} for subscribers elsewhere. A
 * cancel from another request is noticed at every partial flush and at the end; from then on nothing more is
 * emitted or stored but the `canceled` status. Never throws; returns the task as finally stored.
 */
export async function runTask(store: TaskStore, task: StoredTask, run: AgentRun, onEvent?: (e: TaskEvent) => void): Promise<StoredTask> {
  // Without a listener the agent is asked for its whole reply at once (no token streaming, no partial writes).
  const emit = onEvent ?? (() => {});
  let current = store.transition(task.id, 'working') ?? task;
  emit({ type: 'status', task: current });
  await deliverPush(store, current);
  if (isTerminal(current.state)) return current;

  const artifactId = uuid();
  const artifactName = 'reply';
  let text = '';
  let held: string | undefined;
  let chunks = 0;
  let canceled = false;
  let lastFlush = Date.now();
  const chunk = (piece: string, lastChunk: boolean) => {
    emit({
      type: 'artifact',
      task: current,
      artifact: { artifactId, name: artifactName, parts: [{ text: piece }] },
      append: chunks > 0,
      lastChunk,
    });
    chunks++;
  };
  const onToken = (t: string) => {
    if (canceled) return;
    text += t;
    // One token is held back so the last chunk can carry lastChunk: true.
    if (held !== undefined) chunk(held, false);
    held = t;
    if (Date.now() - lastFlush >= PARTIAL_FLUSH_MS) {
      lastFlush = Date.now();
      const stored = store.get(task.id);
      if (stored && isTerminal(stored.state)) {
        canceled = true;
        current = stored;
        return;
      }
      current = { ...(stored ?? current), artifacts: [...task.artifacts, { artifactId, name: artifactName, parts: [{ text }] }] };
      store.put(current);
    }
  };

  const conversation = conversationIdFor(task.contextId);
  const input = task.history.at(-1);
  let reply: string;
  try {
    reply = await run(input ? messageText(input) : '', conversation, onEvent ? onToken : undefined);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const failed = store.transition(task.id, 'failed', { message: agentMessage(task, `The agent failed: ${message}`) }) ?? current;
    emit({ type: 'status', task: failed });
    await deliverPush(store, failed);
    return failed;
  }

  const latest = store.get(task.id);
  if (canceled || (latest && isTerminal(latest.state))) {
    const final = latest ?? current;
    emit({ type: 'status', task: final });
    return final;
  }
  // The reply is authoritative (tool rounds may stream text that is not part of it).
  if (held !== undefined && text === reply) chunk(held, true);
  else if (chunks === 0 || text !== reply) {
    if (chunks > 0) chunks = 0; // replace what streamed with the final reply
    chunk(reply, true);
  }
  const replyMessage = agentMessage(task, reply);
  const done =
    store.transition(task.id, 'completed', {
      message: replyMessage,
      artifacts: [...task.artifacts, { artifactId, name: artifactName, parts: [{ text: reply }] }],
      history: [...task.history, replyMessage],
    }) ?? current;
  emit({ type: 'status', task: done });
  await deliverPush(store, done);
  return done;
}
