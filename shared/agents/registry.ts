/**
 * The agent registry: agent records in the key-value store `agents`, and the agents' conversation memory in
 * `memory`, which the registry lists and deletes but never interprets.
 *
 * Key layout:
 *
 * | store    | key                                         | value                                              |
 * | -------- | ------------------------------------------- | -------------------------------------------------- |
 * | `agents` | `agent/<kind>/<name>`                       | the agent record as JSON ({@link AgentSchema})     |
 * | `memory` | `conv/<kind>/<name>/<conversationId>/<...>` | owned by the agent runtime (messages, summaries …) |
 *
 * `kind` and `name` are slugs (no `/`), so `agent/<kind>/` and `conv/<kind>/<name>/` are exact prefixes: one
 * agent's keys never match another's. The chat runtime must keep every key of a conversation under
 * `conv/<kind>/<name>/<conversationId>/` (conversation ids match {@link CONVERSATION_ID}), which is what lets the
 * registry list conversations and delete an agent's memory with it.
 *
 * NOTE: Spin's key-value API has neither prefix scans nor compare-and-set. Listing reads every key of the store,
 * which is fine for registries of thousands of agents; and two concurrent creates of the same agent can both pass
 * the existence check (the later write wins). Records are validated whenever they are read, so a record written
 * by an older version or edited by hand is reported as corrupt instead of crashing the reader.
 *
 * @module
 */
import { HttpError } from '../http/errors.ts';
import { invalidRequest } from '../http/body.ts';
import {
  AgentSchema,
  agentUrl,
  CONVERSATION_ID,
  immutableFieldIssues,
  SLUG,
  type Agent,
  type AgentListQuery,
  type AgentPage,
  type Conversation,
  type CorruptRecord,
  type CreateAgent,
  type PatchAgent,
} from '../protocol/agents.ts';

/** The part of a Spin key-value store the registry uses; `KeyValue` from `shared/spin/key-value.ts` fits. */
export interface KvLike {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array | string): void;
  delete(key: string): void;
  exists(key: string): boolean;
  keys(): string[];
}

/** The stores, opened on first use (each open is a host call, and most requests need only `agents`). */
export interface RegistryStores {
  agents(): KvLike;
  memory(): KvLike;
}

export const AGENT_PREFIX = 'agent/';
export const MEMORY_PREFIX = 'conv/';

export function agentKey(kind: string, name: string): string {
  return `${AGENT_PREFIX}${kind}/${name}`;
}

/** `conv/<kind>/<name>/`: every memory key of the agent starts with it. */
export function memoryPrefix(kind: string, name: string): string {
  return `${MEMORY_PREFIX}${kind}/${name}/`;
}

/** `conv/<kind>/<name>/<conversationId>/`: every memory key of one conversation starts with it. */
export function conversationPrefix(kind: string, name: string, conversationId: string): string {
  return `${memoryPrefix(kind, name)}${conversationId}/`;
}

/** `{kind, name}` of an `agent/<kind>/<name>` key, or undefined for any other key. */
export function parseAgentKey(key: string): { kind: string; name: string } | undefined {
  if (!key.startsWith(AGENT_PREFIX)) return undefined;
  const parts = key.slice(AGENT_PREFIX.length).split('/');
  if (parts.length !== 2) return undefined;
  const [kind = '', name = ''] = parts;
  return SLUG.test(kind) && SLUG.test(name) ? { kind, name } : undefined;
}

/** Registry order: by kind, then by name. Not the keys' byte order, in which `a-b/x` sorts before `a/x`. */
export function compareAgents(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The cursor after `agent`: its key, base64url-encoded (opaque to clients). */
export function encodeCursor(agent: { kind: string; name: string }): string {
  return base64url(agentKey(agent.kind, agent.name));
}

/** The position a cursor names; a 400 `invalid_request` for anything {@link encodeCursor} cannot have produced. */
export function decodeCursor(cursor: string): { kind: string; name: string } {
  const bad = () =>
    invalidRequest([{ path: ['cursor'], message: 'cursor must be a nextCursor value returned by a previous page' }], 'query');
  if (!/^[A-Za-z0-9_-]+$/.test(cursor) || cursor.length % 4 === 1) throw bad();
  let key: string;
  try {
    key = atob(cursor.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (cursor.length % 4)) % 4));
  } catch {
    throw bad();
  }
  const position = parseAgentKey(key);
  if (!position) throw bad();
  return position;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type ReadResult = { ok: true; agent: Agent } | { ok: false; message: string };

/** Reads and validates one stored record; undefined when the key does not exist. */
function readRecord(kv: KvLike, key: string): ReadResult | undefined {
  const bytes = kv.get(key);
  if (bytes === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, message: 'not valid JSON' };
  }
  const parsed = AgentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      message: `does not match the agent schema: ${issue?.path.join('.') || '(record)'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const where = parseAgentKey(key);
  if (!where || where.kind !== parsed.data.kind || where.name !== parsed.data.name)
    return { ok: false, message: `is stored under ${key} but names ${parsed.data.kind}/${parsed.data.name}` };
  return { ok: true, agent: parsed.data };
}

function corrupt(key: string, message: string): HttpError {
  console.error(`registry: record ${key} is corrupt: ${message}`);
  return new HttpError(500, 'corrupt_record', `the stored record ${key} is corrupt (${message}); delete and recreate the agent`);
}

/** Whether an agent has a skill with this id, or a skill tagged with it (tags compare case-insensitively). */
export function hasSkill(agent: Agent, skill: string): boolean {
  const tag = skill.toLowerCase();
  return agent.skills.some((s) => s.id === skill || s.tags.some((t) => t.toLowerCase() === tag));
}

/** Agent records and their memory over Spin key-value stores. */
export class AgentRegistry {
  readonly #stores: RegistryStores;
  readonly #now: () => Date;

  constructor(stores: RegistryStores, now: () => Date = () => new Date()) {
    this.#stores = stores;
    this.#now = now;
  }

  /** Stores a new agent; 409 `conflict` when one with the same kind and name exists. */
  create(input: CreateAgent): Agent {
    const kv = this.#stores.agents();
    const key = agentKey(input.kind, input.name);
    if (kv.exists(key)) throw new HttpError(409, 'conflict', `agent ${input.kind}/${input.name} already exists`);
    const now = this.#now().toISOString();
    const agent = AgentSchema.parse({
      name: input.name,
      kind: input.kind,
      url: agentUrl(input.kind, input.name),
      description: input.description,
      model: input.model,
      instructions: input.instructions,
      skills: input.skills,
      tools: input.tools,
      budget: input.budget,
      peers: input.peers,
      knowledge: input.knowledge,
      createdAt: now,
      updatedAt: now,
    });
    kv.set(key, encoder.encode(JSON.stringify(agent)));
    return agent;
  }

  /** The agent, or undefined; a 500 `corrupt_record` when its record cannot be read. */
  get(kind: string, name: string): Agent | undefined {
    const key = agentKey(kind, name);
    const read = readRecord(this.#stores.agents(), key);
    if (read === undefined) return undefined;
    if (!read.ok) throw corrupt(key, read.message);
    return read.agent;
  }

  /**
   * One page of agents in registry order ({@link compareAgents}), after `query.cursor`, filtered by kind (key
   * prefix) and skill (record contents). Corrupt records are skipped and reported in `corrupt`.
   */
  list(query: AgentListQuery): AgentPage {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const kv = this.#stores.agents();
    const prefix = query.kind === undefined ? AGENT_PREFIX : `${AGENT_PREFIX}${query.kind}/`;
    const candidates: { key: string; kind: string; name: string }[] = [];
    const corruptRecords: (CorruptRecord & { kind: string; name: string })[] = [];
    const strayKeys: CorruptRecord[] = [];
    for (const key of kv.keys()) {
      if (!key.startsWith(prefix)) continue;
      const where = parseAgentKey(key);
      if (!where) {
        // Reported on the first page only, since a stray key has no place in the order.
        if (after === undefined) strayKeys.push({ key, message: 'is not an agent/<kind>/<name> key' });
        continue;
      }
      if (after === undefined || compareAgents(where, after) > 0) candidates.push({ key, ...where });
    }
    candidates.sort(compareAgents);

    const items: Agent[] = [];
    let more = false;
    for (const c of candidates) {
      const read = readRecord(kv, c.key);
      if (read === undefined) continue; // deleted while we were listing
      if (!read.ok) {
        corruptRecords.push({ key: c.key, message: read.message, kind: c.kind, name: c.name });
        continue;
      }
      if (query.skill !== undefined && !hasSkill(read.agent, query.skill)) continue;
      // One match beyond the page tells whether there is a next page, so the last page's cursor is null.
      if (items.length === query.limit) {
        more = true;
        break;
      }
      items.push(read.agent);
    }
    const last = items.at(-1);
    const nextCursor = more && last ? encodeCursor(last) : null;
    // Corrupt records past this page's last item are reported by the page that covers them.
    const reported = [
      ...strayKeys,
      ...corruptRecords.filter((r) => !more || !last || compareAgents(r, last) < 0).map(({ key, message }) => ({ key, message })),
    ];
    for (const r of reported) console.error(`registry: record ${r.key} ${r.message}`);
    return reported.length > 0 ? { items, nextCursor, corrupt: reported } : { items, nextCursor };
  }

  /**
   * Merges a patch into the agent and bumps `updatedAt`; undefined when the agent does not exist. `name` and
   * `kind` cannot change (400 `invalid_request`); `budget`, `peers` and `knowledge` set to null remove those fields.
   */
  patch(kind: string, name: string, patch: PatchAgent): Agent | undefined {
    const immutable = immutableFieldIssues(patch, { kind, name });
    if (immutable.length > 0) throw invalidRequest(immutable, 'patch');
    const current = this.get(kind, name);
    if (!current) return undefined;
    const { budget, peers, knowledge, name: _name, kind: _kind, ...fields } = patch;
    const merged: Record<string, unknown> = { ...current, ...stripUndefined(fields) };
    if (budget === null) delete merged.budget;
    else if (budget !== undefined) merged.budget = budget;
    if (peers === null) delete merged.peers;
    else if (peers !== undefined) merged.peers = peers;
    if (knowledge === null) delete merged.knowledge;
    else if (knowledge !== undefined) merged.knowledge = knowledge;
    // Never before createdAt, even if the clock stepped back.
    const now = this.#now().toISOString();
    merged.updatedAt = now > current.createdAt ? now : current.createdAt;
    const agent = AgentSchema.parse(merged);
    this.#stores.agents().set(agentKey(kind, name), encoder.encode(JSON.stringify(agent)));
    return agent;
  }

  /**
   * Deletes the agent and all of its memory; undefined when there is no such agent. A corrupt record can be
   * deleted (that is how it is repaired).
   *
   * NOTE: memory goes first: if the request dies half-way, the agent still exists and the delete can be retried,
   * instead of leaving memory behind that no agent owns.
   */
  delete(kind: string, name: string): { memoryKeys: number } | undefined {
    const agents = this.#stores.agents();
    const key = agentKey(kind, name);
    if (!agents.exists(key)) return undefined;
    const memory = this.#stores.memory();
    // Conversations and the facts the `remember` tool stored (`fact/<kind>/<name>/…`, see agents/runtime.ts).
    const memoryKeys = deleteByPrefix(memory, memoryPrefix(kind, name)) + deleteByPrefix(memory, `fact/${kind}/${name}/`);
    agents.delete(key);
    return { memoryKeys };
  }

  /** The agent's conversations (sorted by id), or undefined when there is no such agent. */
  conversations(kind: string, name: string): Conversation[] | undefined {
    if (!this.#stores.agents().exists(agentKey(kind, name))) return undefined;
    const prefix = memoryPrefix(kind, name);
    const counts = new Map<string, number>();
    for (const key of this.#stores.memory().keys()) {
      if (!key.startsWith(prefix)) continue;
      const id = key.slice(prefix.length).split('/', 1)[0] ?? '';
      // Keys that do not follow the layout are not conversations; they are still deleted with the agent.
      if (!CONVERSATION_ID.test(id)) continue;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, keys]) => ({ id, keys }));
  }

  /**
   * Deletes one conversation's memory: the keys under `conv/<kind>/<name>/<id>/` (and a bare `…/<id>` key, should
   * a runtime write one). Returns the number of keys deleted; undefined when the agent does not exist.
   */
  deleteConversation(kind: string, name: string, conversationId: string): number | undefined {
    if (!this.#stores.agents().exists(agentKey(kind, name))) return undefined;
    const memory = this.#stores.memory();
    const bare = `${memoryPrefix(kind, name)}${conversationId}`;
    let deleted = deleteByPrefix(memory, `${bare}/`);
    if (memory.exists(bare)) {
      memory.delete(bare);
      deleted++;
    }
    return deleted;
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function deleteByPrefix(kv: KvLike, prefix: string): number {
  let n = 0;
  for (const key of kv.keys()) {
    if (!key.startsWith(prefix)) continue;
    kv.delete(key);
    n++;
  }
  return n;
}

/**
 * A store in a `Map`, for warm-up at component initialisation (where host calls are not allowed) and for tests.
 */
export function memoryKv(entries: Iterable<[string, string]> = []): KvLike {
  const map = new Map<string, Uint8Array>();
  for (const [k, v] of entries) map.set(k, encoder.encode(v));
  return {
    get: (key) => map.get(key),
    set: (key, value) => void map.set(key, typeof value === 'string' ? encoder.encode(value) : value),
    delete: (key) => void map.delete(key),
    exists: (key) => map.has(key),
    keys: () => [...map.keys()],
  };
}
