/**
 * A2A tasks and their push notification configs in the key-value store `tasks`, shared by every component that
 * serves A2A (the agent kinds and `a2a`), so a task created in one request is readable from any other request,
 * instance or component, and after a restart.
 *
 * Key layout:
 *
 * | key                          | value                                           |
 * | ---------------------------- | ----------------------------------------------- |
 * | `task/<taskId>`              | the task ({@link StoredTaskSchema})             |
 * | `push/<taskId>/<configId>`   | a push config ({@link StoredPushConfigSchema})  |
 * | `pushed/<taskId>`            | marker: the task has (or had) push configs      |
 *
 * NOTE: Spin's key-value API has no compare-and-set. A cancel and the run that finishes the task can race; the run
 * re-reads the task before each write and never replaces a terminal state, which narrows the window to the time
 * between that read and the write. Listing reads every key of the store (there is no prefix scan).
 *
 * @module
 */
import type { KvLike } from '../agents/registry.ts';
import {
  isTerminal,
  StoredPushConfigSchema,
  StoredTaskSchema,
  type Message,
  type StoredPushConfig,
  type StoredTask,
  type TaskState,
} from '../protocol/a2a.ts';

export const TASK_PREFIX = 'task/';
export const PUSH_PREFIX = 'push/';
/** Lets a status change skip the key scan for push configs when the task never had any (the common case). */
export const PUSH_MARKER_PREFIX = 'pushed/';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A random RFC 4122 version-4 UUID (from `crypto.getRandomValues`, which every engine has). */
export function uuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Who is asking: tasks are visible to the key that created them, to admin keys, and to everyone when auth is off. */
export interface Caller {
  keyId: string | null;
  admin: boolean;
}

export function visibleTo(task: StoredTask, caller: Caller): boolean {
  return caller.keyId === null || caller.admin || task.owner === null || task.owner === caller.keyId;
}

function readJson(kv: KvLike, key: string): unknown {
  const bytes = kv.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return null;
  }
}

/** Tasks over one store. */
export class TaskStore {
  readonly #kv: () => KvLike;

  constructor(kv: () => KvLike) {
    this.#kv = kv;
  }

  /** The task, or undefined when it does not exist or its record is unreadable (which is logged). */
  get(id: string): StoredTask | undefined {
    const json = readJson(this.#kv(), TASK_PREFIX + id);
    if (json === undefined) return undefined;
    const parsed = StoredTaskSchema.safeParse(json);
    if (!parsed.success) {
      console.error(`a2a: task record ${TASK_PREFIX}${id} is corrupt: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return undefined;
    }
    return parsed.data;
  }

  put(task: StoredTask): void {
    this.#kv().set(TASK_PREFIX + task.id, encoder.encode(JSON.stringify(task)));
  }

  /** Every readable task that passes `filter` (reads the whole store: Spin KV has no prefix scan). */
  all(filter: (t: StoredTask) => boolean): StoredTask[] {
    const kv = this.#kv();
    const out: StoredTask[] = [];
    for (const key of kv.keys()) {
      if (!key.startsWith(TASK_PREFIX)) continue;
      const parsed = StoredTaskSchema.safeParse(readJson(kv, key));
      if (parsed.success && filter(parsed.data)) out.push(parsed.data);
    }
    return out;
  }

  /**
   * Moves a task to a new state unless it is already terminal (the re-read guards against overwriting a cancel
   * that arrived from another request). Returns the task as stored afterwards.
   */
  transition(
    id: string,
    state: TaskState,
    change: { message?: Message; artifacts?: StoredTask['artifacts']; history?: Message[] } = {},
  ): StoredTask | undefined {
    const current = this.get(id);
    if (!current) return undefined;
    if (isTerminal(current.state)) return current;
    const next: StoredTask = {
      ...current,
      state,
      timestamp: new Date().toISOString(),
      message: change.message,
      artifacts: change.artifacts ?? current.artifacts,
      history: change.history ?? current.history,
    };
    this.put(next);
    return next;
  }

  // Push notification configs

  putPush(config: StoredPushConfig): void {
    this.#kv().set(PUSH_MARKER_PREFIX + config.taskId, '1');
    this.#kv().set(`${PUSH_PREFIX}${config.taskId}/${config.id}`, encoder.encode(JSON.stringify(config)));
  }

  getPush(taskId: string, id: string): StoredPushConfig | undefined {
    const parsed = StoredPushConfigSchema.safeParse(readJson(this.#kv(), `${PUSH_PREFIX}${taskId}/${id}`));
    return parsed.success ? parsed.data : undefined;
  }

  /** The task's push configs, by id. */
  listPush(taskId: string): StoredPushConfig[] {
    const kv = this.#kv();
    if (!kv.exists(PUSH_MARKER_PREFIX + taskId)) return [];
    const prefix = `${PUSH_PREFIX}${taskId}/`;
    const out: StoredPushConfig[] = [];
    for (const key of kv.keys()) {
      if (!key.startsWith(prefix)) continue;
      const parsed = StoredPushConfigSchema.safeParse(readJson(kv, key));
      if (parsed.success) out.push(parsed.data);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  deletePush(taskId: string, id: string): void {
    this.#kv().delete(`${PUSH_PREFIX}${taskId}/${id}`);
  }
}
