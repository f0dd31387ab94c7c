/**
 * The A2A protocol (Agent2Agent) as zod schemas: the JSON-RPC params of v1.0 (`SendMessage`, `GetTask`, …, ProtoJSON
 * shapes: `ROLE_USER`, `TASK_STATE_COMPLETED`, parts with one of `text`/`raw`/`url`/`data`) and of v0.3
 * (`message/send`, `tasks/get`, …: `kind` discriminators, lower-case states), the error codes of both, and the
 * version-neutral task model that `shared/a2a/` stores in KV `tasks` and renders into either wire format.
 *
 * The two versions never share a method name, so a server dispatches on the name alone ({@link V1_METHODS},
 * {@link V03_METHODS}). Message schemas are loose (unknown fields are ignored, as ProtoJSON readers in
 * lenient mode and the v0.3 JSON Schema do) but every known field is checked; params objects of the task methods
 * are loose too, since clients add fields such as `tenant` or `metadata`.
 *
 * Sources: A2A v1.0.1 `docs/specification.md` §3–§5, §9 and `specification/a2a.proto`; v0.3.0 `types/src/types.ts`.
 *
 * @module
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------------
// Versions and methods

/** Protocol versions this server speaks (`A2A-Version` is Major.Minor; a missing header means 0.3, §3.6). */
export const SUPPORTED_VERSIONS = ['0.3', '1.0'] as const;
export type ProtocolVersion = (typeof SUPPORTED_VERSIONS)[number];

export const V1_METHODS = [
  'SendMessage',
  'SendStreamingMessage',
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SubscribeToTask',
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
  'GetExtendedAgentCard',
] as const;

export const V03_METHODS = [
  'message/send',
  'message/stream',
  'tasks/get',
  'tasks/cancel',
  'tasks/resubscribe',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'tasks/pushNotificationConfig/delete',
  'agent/getAuthenticatedExtendedCard',
] as const;

export type V1Method = (typeof V1_METHODS)[number];
export type V03Method = (typeof V03_METHODS)[number];

/** The wire format a method belongs to. */
export function methodVersion(method: string): ProtocolVersion | undefined {
  if ((V1_METHODS as readonly string[]).includes(method)) return '1.0';
  if ((V03_METHODS as readonly string[]).includes(method)) return '0.3';
  return undefined;
}

/** Methods that answer with an SSE stream. */
export const STREAMING_METHODS: readonly string[] = ['SendStreamingMessage', 'SubscribeToTask', 'message/stream', 'tasks/resubscribe'];

// ---------------------------------------------------------------------------------------------------------------------
// Errors (v1.0 §5.4, §9.5; v0.3 §8)

/** A2A's JSON-RPC error codes (the standard ones are in `jsonrpc.ts`). */
export const A2A_ERRORS = {
  taskNotFound: -32001,
  taskNotCancelable: -32002,
  pushNotificationNotSupported: -32003,
  unsupportedOperation: -32004,
  contentTypeNotSupported: -32005,
  invalidAgentResponse: -32006,
  extendedAgentCardNotConfigured: -32007,
  extensionSupportRequired: -32008,
  versionNotSupported: -32009,
} as const;

/** `google.rpc.ErrorInfo.reason` for each code, used in v1.0 `error.data` (§9.5). */
export const ERROR_REASONS: Record<number, string> = {
  [-32700]: 'JSON_PARSE_ERROR',
  [-32600]: 'INVALID_REQUEST',
  [-32601]: 'METHOD_NOT_FOUND',
  [-32602]: 'INVALID_PARAMS',
  [-32603]: 'INTERNAL_ERROR',
  [-32001]: 'TASK_NOT_FOUND',
  [-32002]: 'TASK_NOT_CANCELABLE',
  [-32003]: 'PUSH_NOTIFICATION_NOT_SUPPORTED',
  [-32004]: 'UNSUPPORTED_OPERATION',
  [-32005]: 'CONTENT_TYPE_NOT_SUPPORTED',
  [-32006]: 'INVALID_AGENT_RESPONSE',
  [-32007]: 'EXTENDED_AGENT_CARD_NOT_CONFIGURED',
  [-32008]: 'EXTENSION_SUPPORT_REQUIRED',
  [-32009]: 'VERSION_NOT_SUPPORTED',
};

// ---------------------------------------------------------------------------------------------------------------------
// The stored, version-neutral model

export const TASK_STATES = [
  'submitted',
  'working',
  'input-required',
  'auth-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** States after which a task never changes again. */
export const TERMINAL_STATES: readonly TaskState[] = ['completed', 'failed', 'canceled', 'rejected'];
/** States in which a task waits for the client: a blocking call returns, a stream closes. */
export const INTERRUPTED_STATES: readonly TaskState[] = ['input-required', 'auth-required'];

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** One part of a message or artifact: exactly one of `text`, `raw` (base64), `url`, `data`. */
export const PartSchema = z.object({
  text: z.string().optional(),
  raw: z.string().optional(),
  url: z.string().optional(),
  data: z.unknown().optional(),
  mediaType: z.string().optional(),
  filename: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type Part = z.output<typeof PartSchema>;

export const MessageSchema = z.object({
  messageId: z.string(),
  role: z.enum(['user', 'agent']),
  parts: z.array(PartSchema),
  contextId: z.string().optional(),
  taskId: z.string().optional(),
  referenceTaskIds: z.array(z.string()).optional(),
  extensions: z.array(z.string()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type Message = z.output<typeof MessageSchema>;

export const ArtifactSchema = z.object({
  artifactId: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  parts: z.array(PartSchema),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type Artifact = z.output<typeof ArtifactSchema>;

/** A task as KV `tasks` holds it (`task/<id>`). */
export const StoredTaskSchema = z.object({
  id: z.string(),
  contextId: z.string(),
  state: z.enum(TASK_STATES),
  /** The status message (the agent's reply or the failure), if any. */
  message: MessageSchema.optional(),
  /** When the status last changed (ISO-8601, UTC). */
  timestamp: z.string(),
  history: z.array(MessageSchema),
  artifacts: z.array(ArtifactSchema),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** `<kind>/<name>` of the agent running the task. */
  agent: z.string(),
  /** First 16 hex digits of the creating API key's sha256; null when authentication was off. */
  owner: z.string().nullable(),
  createdAt: z.string(),
});
export type StoredTask = z.output<typeof StoredTaskSchema>;

/** A push notification config as stored (`push/<taskId>/<id>`), with the wire version it was created with. */
export const StoredPushConfigSchema = z.object({
  id: z.string(),
  taskId: z.string(),
  url: z.string(),
  token: z.string().optional(),
  authentication: z.object({ scheme: z.string(), credentials: z.string().optional() }).optional(),
  version: z.enum(SUPPORTED_VERSIONS),
});
export type StoredPushConfig = z.output<typeof StoredPushConfigSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Building blocks of the wire schemas

const LIMITS = { id: 256, parts: 64, url: 2048, pageSize: 100 } as const;

const Metadata = z.record(z.string(), z.unknown());
const IdString = (what: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .min(1, { error: `${what} must not be empty` })
    .max(LIMITS.id, { error: `${what} must be at most ${LIMITS.id} characters` });
const HistoryLength = z
  .number({ error: 'historyLength must be a number' })
  .int({ error: 'historyLength must be an integer' })
  .min(0, { error: 'historyLength must not be negative' });

const HttpUrl = z
  .string()
  .max(LIMITS.url)
  .refine(
    (s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
      } catch {
        return false;
      }
    },
    { error: 'url must be an absolute http:// or https:// URL' },
  );

// ---------------------------------------------------------------------------------------------------------------------
// v1.0 wire schemas (ProtoJSON: camelCase fields, enum names as strings; enum numbers are accepted too)

const V1Role = z.union([z.literal('ROLE_USER'), z.literal('ROLE_AGENT'), z.literal(1), z.literal(2)], {
  error: 'role must be ROLE_USER or ROLE_AGENT',
});

const V1_STATE_NAMES: Record<TaskState, string> = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
  'input-required': 'TASK_STATE_INPUT_REQUIRED',
  rejected: 'TASK_STATE_REJECTED',
  'auth-required': 'TASK_STATE_AUTH_REQUIRED',
};
const V1_STATE_NUMBERS: Record<number, TaskState> = {
  1: 'submitted',
  2: 'working',
  3: 'completed',
  4: 'failed',
  5: 'canceled',
  6: 'input-required',
  7: 'rejected',
  8: 'auth-required',
};

/** `TASK_STATE_COMPLETED` for `completed`. */
export function v1StateName(state: TaskState): string {
  return V1_STATE_NAMES[state];
}

/** A v1.0 state (name or number) as a stored state; undefined for UNSPECIFIED or unknown values. */
export function parseV1State(value: unknown): TaskState | undefined {
  if (typeof value === 'number') return V1_STATE_NUMBERS[value];
  for (const s of TASK_STATES) if (V1_STATE_NAMES[s] === value) return s;
  return undefined;
}

export const V1PartSchema = z
  .looseObject({
    text: z.string().optional(),
    raw: z.string().optional(),
    url: z.string().optional(),
    data: z.unknown().optional(),
    mediaType: z.string().optional(),
    filename: z.string().optional(),
    metadata: Metadata.optional(),
  })
  .refine((p) => [p.text, p.raw, p.url, p.data].filter((v) => v !== undefined).length === 1, {
    error: 'a part has exactly one of text, raw, url or data',
  });

export const V1MessageSchema = z.looseObject({
  messageId: IdString('messageId'),
  role: V1Role,
  parts: z.array(V1PartSchema).min(1, { error: 'a message needs at least one part' }).max(LIMITS.parts),
  contextId: z.string().max(LIMITS.id).optional(),
  taskId: z.string().max(LIMITS.id).optional(),
  referenceTaskIds: z.array(z.string().max(LIMITS.id)).max(64).optional(),
  extensions: z.array(z.string()).max(32).optional(),
  metadata: Metadata.optional(),
});

const V1AuthenticationSchema = z.looseObject({ scheme: z.string().min(1).max(64), credentials: z.string().max(4096).optional() });

export const V1PushConfigSchema = z.looseObject({
  tenant: z.string().optional(),
  id: z.string().max(LIMITS.id).optional(),
  taskId: IdString('taskId'),
  url: HttpUrl,
  token: z.string().max(4096).optional(),
  authentication: V1AuthenticationSchema.optional(),
});

export const V1SendMessageParamsSchema = z.looseObject({
  tenant: z.string().optional(),
  message: V1MessageSchema,
  configuration: z
    .looseObject({
      acceptedOutputModes: z.array(z.string()).optional(),
      taskPushNotificationConfig: V1PushConfigSchema.partial({ taskId: true }).optional(),
      historyLength: HistoryLength.optional(),
      returnImmediately: z.boolean().optional(),
    })
    .optional(),
  metadata: Metadata.optional(),
});

export const V1GetTaskParamsSchema = z.looseObject({
  tenant: z.string().optional(),
  id: IdString('id'),
  historyLength: HistoryLength.optional(),
});

export const V1ListTasksParamsSchema = z.looseObject({
  tenant: z.string().optional(),
  contextId: z.string().max(LIMITS.id).optional(),
  status: z.union([z.string(), z.number()]).optional(),
  pageSize: z
    .number({ error: 'pageSize must be a number' })
    .int()
    .min(1, { error: `pageSize must be between 1 and ${LIMITS.pageSize}` })
    .max(LIMITS.pageSize, { error: `pageSize must be between 1 and ${LIMITS.pageSize}` })
    .optional(),
  pageToken: z.string().max(1024).optional(),
  historyLength: HistoryLength.optional(),
  statusTimestampAfter: z.iso.datetime({ offset: true, error: 'statusTimestampAfter must be an ISO-8601 timestamp' }).optional(),
  includeArtifacts: z.boolean().optional(),
});

export const V1TaskIdParamsSchema = z.looseObject({ tenant: z.string().optional(), id: IdString('id'), metadata: Metadata.optional() });

export const V1PushConfigRefSchema = z.looseObject({ tenant: z.string().optional(), taskId: IdString('taskId'), id: IdString('id') });

export const V1ListPushConfigsParamsSchema = z.looseObject({
  tenant: z.string().optional(),
  taskId: IdString('taskId'),
  pageSize: z.number().int().min(0).max(LIMITS.pageSize).optional(),
  pageToken: z.string().max(1024).optional(),
});

export const V1ExtendedCardParamsSchema = z.looseObject({ tenant: z.string().optional() });

// ---------------------------------------------------------------------------------------------------------------------
// v0.3 wire schemas

const V03FileSchema = z.looseObject({
  bytes: z.string().optional(),
  uri: z.string().optional(),
  name: z.string().optional(),
  mimeType: z.string().optional(),
});

export const V03PartSchema = z.discriminatedUnion(
  'kind',
  [
    z.looseObject({ kind: z.literal('text'), text: z.string(), metadata: Metadata.optional() }),
    z.looseObject({
      kind: z.literal('file'),
      file: V03FileSchema.refine((f) => (f.bytes === undefined) !== (f.uri === undefined), {
        error: 'a file has exactly one of bytes or uri',
      }),
      metadata: Metadata.optional(),
    }),
    z.looseObject({ kind: z.literal('data'), data: z.record(z.string(), z.unknown()), metadata: Metadata.optional() }),
  ],
  { error: 'part kind must be text, file or data' },
);

export const V03MessageSchema = z.looseObject({
  kind: z.literal('message', { error: 'message kind must be "message"' }),
  messageId: IdString('messageId'),
  role: z.enum(['user', 'agent'], { error: 'role must be user or agent' }),
  parts: z.array(V03PartSchema).min(1, { error: 'a message needs at least one part' }).max(LIMITS.parts),
  contextId: z.string().max(LIMITS.id).optional(),
  taskId: z.string().max(LIMITS.id).optional(),
  referenceTaskIds: z.array(z.string().max(LIMITS.id)).max(64).optional(),
  extensions: z.array(z.string()).max(32).optional(),
  metadata: Metadata.optional(),
});

const V03AuthenticationSchema = z.looseObject({ schemes: z.array(z.string()).max(16), credentials: z.string().max(4096).optional() });

export const V03PushConfigSchema = z.looseObject({
  id: z.string().max(LIMITS.id).optional(),
  url: HttpUrl,
  token: z.string().max(4096).optional(),
  authentication: V03AuthenticationSchema.optional(),
});

export const V03SendParamsSchema = z.looseObject({
  message: V03MessageSchema,
  configuration: z
    .looseObject({
      acceptedOutputModes: z.array(z.string()).optional(),
      historyLength: HistoryLength.optional(),
      pushNotificationConfig: V03PushConfigSchema.optional(),
      blocking: z.boolean().optional(),
    })
    .optional(),
  metadata: Metadata.optional(),
});

export const V03TaskQueryParamsSchema = z.looseObject({
  id: IdString('id'),
  historyLength: HistoryLength.optional(),
  metadata: Metadata.optional(),
});
export const V03TaskIdParamsSchema = z.looseObject({ id: IdString('id'), metadata: Metadata.optional() });
export const V03SetPushConfigParamsSchema = z.looseObject({ taskId: IdString('taskId'), pushNotificationConfig: V03PushConfigSchema });
export const V03GetPushConfigParamsSchema = z.looseObject({
  id: IdString('id'),
  pushNotificationConfigId: z.string().max(LIMITS.id).optional(),
  metadata: Metadata.optional(),
});
export const V03DeletePushConfigParamsSchema = z.looseObject({
  id: IdString('id'),
  pushNotificationConfigId: IdString('pushNotificationConfigId'),
  metadata: Metadata.optional(),
});

// ---------------------------------------------------------------------------------------------------------------------
// Conversions between the wire formats and the stored model

/** A v1.0 message as the stored model. */
export function messageFromV1(m: z.output<typeof V1MessageSchema>): Message {
  return strip({
    messageId: m.messageId,
    role: m.role === 'ROLE_AGENT' || m.role === 2 ? 'agent' : 'user',
    parts: m.parts.map((p) =>
      strip({ text: p.text, raw: p.raw, url: p.url, data: p.data, mediaType: p.mediaType, filename: p.filename, metadata: p.metadata }),
    ),
    contextId: m.contextId || undefined,
    taskId: m.taskId || undefined,
    referenceTaskIds: m.referenceTaskIds?.length ? m.referenceTaskIds : undefined,
    extensions: m.extensions?.length ? m.extensions : undefined,
    metadata: m.metadata,
  });
}

/** A v0.3 message as the stored model. */
export function messageFromV03(m: z.output<typeof V03MessageSchema>): Message {
  return strip({
    messageId: m.messageId,
    role: m.role,
    parts: m.parts.map((p): Part => {
      if (p.kind === 'text') return strip({ text: p.text, metadata: p.metadata });
      if (p.kind === 'data') return strip({ data: p.data, metadata: p.metadata });
      return strip({ raw: p.file.bytes, url: p.file.uri, mediaType: p.file.mimeType, filename: p.file.name, metadata: p.metadata });
    }),
    contextId: m.contextId || undefined,
    taskId: m.taskId || undefined,
    referenceTaskIds: m.referenceTaskIds?.length ? m.referenceTaskIds : undefined,
    extensions: m.extensions?.length ? m.extensions : undefined,
    metadata: m.metadata,
  });
}

export function partToV1(p: Part): Record<string, unknown> {
  return strip({ ...p });
}

export function partToV03(p: Part): Record<string, unknown> {
  if (p.text !== undefined) return strip({ kind: 'text', text: p.text, metadata: p.metadata });
  if (p.raw !== undefined || p.url !== undefined)
    return strip({
      kind: 'file',
      file: strip({ bytes: p.raw, uri: p.url, name: p.filename, mimeType: p.mediaType }),
      metadata: p.metadata,
    });
  const data = typeof p.data === 'object' && p.data !== null && !Array.isArray(p.data) ? p.data : { value: p.data };
  return strip({ kind: 'data', data, metadata: p.metadata });
}

export function messageToV1(m: Message): Record<string, unknown> {
  return strip({ ...m, role: m.role === 'agent' ? 'ROLE_AGENT' : 'ROLE_USER', parts: m.parts.map(partToV1) });
}

export function messageToV03(m: Message): Record<string, unknown> {
  return strip({ kind: 'message', ...m, parts: m.parts.map(partToV03) });
}

export function artifactToV1(a: Artifact): Record<string, unknown> {
  return strip({ ...a, parts: a.parts.map(partToV1) });
}

export function artifactToV03(a: Artifact): Record<string, unknown> {
  return strip({ ...a, parts: a.parts.map(partToV03) });
}

/** What of a task to render: `historyLength` per §3.2.4, artifacts unless ListTasks left them out. */
export interface RenderOptions {
  historyLength?: number | undefined;
  includeArtifacts?: boolean;
}

function history(task: StoredTask, n: number | undefined): Message[] | undefined {
  if (n === 0) return undefined;
  return n === undefined ? task.history : task.history.slice(-n);
}

export function taskToV1(task: StoredTask, options: RenderOptions = {}): Record<string, unknown> {
  const h = history(task, options.historyLength);
  return strip({
    id: task.id,
    contextId: task.contextId,
    status: strip({ state: v1StateName(task.state), message: task.message && messageToV1(task.message), timestamp: task.timestamp }),
    artifacts: options.includeArtifacts === false ? undefined : task.artifacts.map(artifactToV1),
    history: h?.map(messageToV1),
    metadata: task.metadata,
  });
}

export function taskToV03(task: StoredTask, options: RenderOptions = {}): Record<string, unknown> {
  const h = history(task, options.historyLength);
  return strip({
    kind: 'task',
    id: task.id,
    contextId: task.contextId,
    status: strip({ state: task.state, message: task.message && messageToV03(task.message), timestamp: task.timestamp }),
    artifacts: options.includeArtifacts === false ? undefined : task.artifacts.map(artifactToV03),
    history: h?.map(messageToV03),
    metadata: task.metadata,
  });
}

/** Copies an object without its `undefined` members, so they never reach the wire as `null` or empty keys. */
export function strip<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}
