/**
 * The A2A JSON-RPC endpoint (v1.0 binding, plus the v0.3 method names): HTTP checks, JSON-RPC parsing, version
 * negotiation, capability gating and the methods, over tasks in KV `tasks`. The same handler serves an agent's own
 * endpoint (`/agents/<kind>/<name>/a2a`, which runs the agent) and the platform's `/a2a` (which forwards sends to
 * the chosen agent and serves every task).
 *
 * HTTP-level failures (before a JSON-RPC request exists) keep a JSON-RPC error body with `id: null` and get a
 * telling status: 405 (not POST), 415 (`Content-Type` is not JSON), 413 (body over {@link MAX_BODY_BYTES}), 406
 * (`Accept` excludes what the method answers with). JSON-RPC errors proper are HTTP 200. Authentication happens
 * before (`requireScope('read')` on the route); methods that change things need `invoke` (403 otherwise).
 *
 * @module
 */
import type { Scope } from '../http/auth.ts';
import { HttpError, errorResponse } from '../http/errors.ts';
import { readBodyText } from '../http/body.ts';
import {
  A2A_ERRORS,
  artifactToV03,
  artifactToV1,
  ERROR_REASONS,
  INTERRUPTED_STATES,
  isTerminal,
  messageFromV03,
  messageFromV1,
  messageToV03,
  messageToV1,
  methodVersion,
  parseV1State,
  STREAMING_METHODS,
  strip,
  taskToV03,
  taskToV1,
  v1StateName,
  V03DeletePushConfigParamsSchema,
  V03GetPushConfigParamsSchema,
  V03SendParamsSchema,
  V03SetPushConfigParamsSchema,
  V03TaskIdParamsSchema,
  V03TaskQueryParamsSchema,
  V1ExtendedCardParamsSchema,
  V1GetTaskParamsSchema,
  V1ListPushConfigsParamsSchema,
  V1ListTasksParamsSchema,
  V1PushConfigRefSchema,
  V1PushConfigSchema,
  V1SendMessageParamsSchema,
  V1TaskIdParamsSchema,
  type Message,
  type ProtocolVersion,
  type StoredPushConfig,
  type StoredTask,
} from '../protocol/a2a.ts';
import {
  describeIssues,
  failure,
  JSONRPC_ERRORS,
  JsonRpcEnvelopeSchema,
  JsonRpcError,
  salvageId,
  success,
  type JsonRpcId,
} from '../protocol/jsonrpc.ts';
import { requestedVersion, supportedVersion } from './card.ts';
import { checkOutputModes, messageText, openTask, runTask, type AgentRun, type TaskEvent } from './execute.ts';
import { deliverPush } from './push.ts';
import { uuid, visibleTo, type Caller, type TaskStore } from './tasks.ts';
import type { LocalSend } from './workflow.ts';
import type { z } from 'zod';

/** Largest accepted request body: a message may carry inline files (base64), so more than the chat route's. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How often a subscription re-reads a running task. */
export const SUBSCRIBE_POLL_MS = 250;
/** A subscription ends after this long even if the task is still running (the client can subscribe again). */
export const SUBSCRIBE_MAX_MS = 10 * 60 * 1000;
const DEFAULT_PAGE_SIZE = 50;

/** The authenticated caller as `requireScope` established it. */
export interface RequestCaller {
  keyId: string | null;
  scopes: readonly Scope[];
}

/** A send the platform endpoint forwards to the agent it picked (see `shared/a2a/dispatch.ts`). */
export interface ForwardedSend {
  req: Request;
  body: string;
  method: string;
  message: Message;
  metadata: Record<string, unknown> | undefined;
}

export interface A2AEndpoint {
  store: TaskStore;
  /** `<kind>/<name>`: the endpoint of one agent (sees only its tasks); undefined for the platform (sees all). */
  agent?: string | undefined;
  streaming: boolean;
  pushNotifications: boolean;
  /** Authentication is on, so the extended card exists. */
  auth: boolean;
  /** What `GetExtendedAgentCard` answers, in the caller's wire version. */
  extendedCard: (version: ProtocolVersion) => Promise<Record<string, unknown>>;
  /**
   * Runs the agent (agent endpoints), or forwards the whole send (the platform). The platform's `local` may claim a
   * send first (workflow runs, see `workflow.ts`): the task is then opened and run here like an agent's.
   */
  send:
    | { run: AgentRun }
    | { forward: (f: ForwardedSend) => Promise<Response>; local?: ((f: ForwardedSend) => Promise<LocalSend | undefined>) | undefined };
  /** Called after a task was canceled (the platform cancels a workflow task's run). */
  onCancel?: ((task: StoredTask, req: Request) => Promise<void>) | undefined;
  /** Keeps the instance alive for work after the response (`serve.ts`); without it non-blocking sends block. */
  waitUntil?: ((p: Promise<unknown>) => void) | undefined;
}

const INVOKE_METHODS = new Set([
  'SendMessage',
  'SendStreamingMessage',
  'CancelTask',
  'CreateTaskPushNotificationConfig',
  'DeleteTaskPushNotificationConfig',
  'message/send',
  'message/stream',
  'tasks/cancel',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/delete',
]);

const encoder = new TextEncoder();
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

function jsonResponse(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

/** v1.0 errors carry `google.rpc.ErrorInfo` in `data` (§9.5); v0.3 ones keep whatever data they have. */
function errorObject(err: JsonRpcError, version: ProtocolVersion | undefined) {
  const base = err.toObject();
  if (version !== '1.0' || base.data !== undefined) return base;
  const reason = ERROR_REASONS[err.code];
  return reason ? { ...base, data: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'a2a-protocol.org' }] } : base;
}

function rpcError(id: JsonRpcId | null, err: JsonRpcError, version: ProtocolVersion | undefined, status = 200): Response {
  return jsonResponse(failure(id, errorObject(err, version)), status);
}

function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  const parsed = schema.safeParse(params ?? {});
  if (parsed.success) return parsed.data;
  throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, `invalid params: ${describeIssues(parsed.error)}`, parsed.error.issues);
}

/** Whether an `Accept` header allows `type` (absent or empty allows everything; `q=0` excludes). */
export function accepts(header: string | null, types: readonly string[]): boolean {
  if (header === null || header.trim() === '') return true;
  return header.split(',').some((range) => {
    const [mediaRange = '', ...params] = range.split(';');
    if (params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p))) return false;
    const m = mediaRange.trim().toLowerCase();
    return m === '*/*' || types.some((t) => m === t || m === `${t.split('/')[0]}/*`);
  });
}

function notFound(id: string): JsonRpcError {
  return new JsonRpcError(A2A_ERRORS.taskNotFound, `task ${id} was not found`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Rendering events

function statusOf(task: StoredTask, version: ProtocolVersion): Record<string, unknown> {
  const message = task.message && (version === '1.0' ? messageToV1(task.message) : messageToV03(task.message));
  return strip({ state: version === '1.0' ? v1StateName(task.state) : task.state, message, timestamp: task.timestamp });
}

/** One stream event in the wire version: a v1.0 `StreamResponse`, or a v0.3 object with `kind`. */
export function renderEvent(e: TaskEvent, version: ProtocolVersion, historyLength?: number): unknown {
  const { task } = e;
  if (e.type === 'task') return version === '1.0' ? { task: taskToV1(task, { historyLength }) } : taskToV03(task, { historyLength });
  if (e.type === 'status') {
    const event = { taskId: task.id, contextId: task.contextId, status: statusOf(task, version) };
    return version === '1.0'
      ? { statusUpdate: event }
      : { kind: 'status-update', ...event, final: isTerminal(task.state) || INTERRUPTED_STATES.includes(task.state) };
  }
  const event = {
    taskId: task.id,
    contextId: task.contextId,
    artifact: version === '1.0' ? artifactToV1(e.artifact) : artifactToV03(e.artifact),
    append: e.append,
    lastChunk: e.lastChunk,
  };
  return version === '1.0' ? { artifactUpdate: event } : { kind: 'artifact-update', ...event };
}

/** An SSE response fed by `produce`; each event is a JSON-RPC response with the request's id. */
function sseResponse(id: JsonRpcId, version: ProtocolVersion, produce: (send: (result: unknown) => void) => Promise<void>): Response {
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (result: unknown) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(success(id, result))}\n\n`));
      try {
        await produce(send);
      } catch (err) {
        const e = err instanceof JsonRpcError ? err : new JsonRpcError(JSONRPC_ERRORS.internalError, 'internal error');
        if (!(err instanceof JsonRpcError))
          console.error(`a2a: stream failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(failure(id, errorObject(e, version)))}\n\n`));
      }
      controller.close();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

// ---------------------------------------------------------------------------------------------------------------------
// The handler

/** Handles one POST to an A2A JSON-RPC endpoint. Never throws. */
export async function handleA2A(endpoint: A2AEndpoint, req: Request, who: RequestCaller): Promise<Response> {
  if (req.method !== 'POST') {
    const res = rpcError(
      null,
      new JsonRpcError(JSONRPC_ERRORS.invalidRequest, `${req.method} is not allowed: POST JSON-RPC requests here`),
      undefined,
      405,
    );
    res.headers.set('allow', 'POST');
    return res;
  }
  const contentType = req.headers.get('content-type') ?? '';
  if (!/^\s*application\/(json|a2a\+json)\s*(;|$)/i.test(contentType))
    return rpcError(
      null,
      new JsonRpcError(
        JSONRPC_ERRORS.invalidRequest,
        `Content-Type must be application/json, got ${contentType ? JSON.stringify(contentType.slice(0, 64)) : 'none'}`,
      ),
      undefined,
      415,
    );
  let text: string;
  try {
    text = await readBodyText(req, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof HttpError && err.status === 413)
      return rpcError(null, new JsonRpcError(JSONRPC_ERRORS.invalidRequest, err.message), undefined, 413);
    return rpcError(null, new JsonRpcError(JSONRPC_ERRORS.parseError, err instanceof Error ? err.message : 'unreadable body'), undefined);
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    return rpcError(
      null,
      new JsonRpcError(JSONRPC_ERRORS.parseError, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`),
      undefined,
    );
  }
  if (Array.isArray(json))
    return rpcError(null, new JsonRpcError(JSONRPC_ERRORS.invalidRequest, 'batch requests are not supported by A2A'), undefined);
  const envelope = JsonRpcEnvelopeSchema.safeParse(json);
  if (!envelope.success)
    return rpcError(
      salvageId(json),
      new JsonRpcError(JSONRPC_ERRORS.invalidRequest, `invalid JSON-RPC request: ${describeIssues(envelope.error)}`),
      undefined,
    );
  const { id, method, params } = envelope.data;
  if (id === undefined)
    return rpcError(
      null,
      new JsonRpcError(JSONRPC_ERRORS.invalidRequest, 'A2A requests need an id (notifications are not part of A2A)'),
      undefined,
    );

  const methodV = methodVersion(method);
  const requested = requestedVersion(req);
  if (supportedVersion(requested) === undefined)
    return rpcError(
      id,
      new JsonRpcError(A2A_ERRORS.versionNotSupported, `A2A-Version ${requested} is not supported; supported: 1.0, 0.3`),
      methodV ?? '1.0',
    );
  if (methodV === undefined)
    return rpcError(id, new JsonRpcError(JSONRPC_ERRORS.methodNotFound, `method ${JSON.stringify(method.slice(0, 64))} not found`), '1.0');

  const streaming = STREAMING_METHODS.includes(method);
  const produces = streaming ? ['text/event-stream'] : ['application/json', 'application/a2a+json'];
  if (!accepts(req.headers.get('accept'), produces))
    return rpcError(
      id,
      new JsonRpcError(JSONRPC_ERRORS.invalidRequest, `${method} answers with ${produces[0]}, which the Accept header excludes`),
      methodV,
      406,
    );

  const needed: Scope = INVOKE_METHODS.has(method) ? 'invoke' : 'read';
  if (!who.scopes.includes(needed)) return errorResponse(403, 'forbidden', `${method} needs an API key with the ${needed} scope`);
  const caller: Caller = { keyId: who.keyId, admin: who.scopes.includes('admin') };
  if (params !== undefined && Array.isArray(params))
    return rpcError(id, new JsonRpcError(JSONRPC_ERRORS.invalidParams, 'params must be an object'), methodV);

  try {
    return await dispatch(endpoint, { req, body: text, id, method, version: methodV, params: params ?? {}, caller, streaming });
  } catch (err) {
    if (err instanceof JsonRpcError) return rpcError(id, err, methodV);
    console.error(`a2a: ${method} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return rpcError(id, new JsonRpcError(JSONRPC_ERRORS.internalError, 'internal error'), methodV);
  }
}

interface Call {
  req: Request;
  body: string;
  id: JsonRpcId;
  method: string;
  version: ProtocolVersion;
  params: Record<string, unknown>;
  caller: Caller;
  streaming: boolean;
}

function visibleTask(endpoint: A2AEndpoint, call: Call, id: string): StoredTask {
  const task = endpoint.store.get(id);
  if (!task || (endpoint.agent !== undefined && task.agent !== endpoint.agent) || !visibleTo(task, call.caller)) throw notFound(id);
  return task;
}

function requirePush(endpoint: A2AEndpoint): void {
  if (!endpoint.pushNotifications)
    throw new JsonRpcError(
      A2A_ERRORS.pushNotificationNotSupported,
      'push notifications are not supported by this agent (see capabilities.pushNotifications)',
    );
}

async function dispatch(endpoint: A2AEndpoint, call: Call): Promise<Response> {
  const { id, version, params } = call;
  const ok = (result: unknown) => jsonResponse(success(id, result));
  switch (call.method) {
    case 'SendMessage':
    case 'SendStreamingMessage':
    case 'message/send':
    case 'message/stream':
      return send(endpoint, call);

    case 'GetTask':
    case 'tasks/get': {
      const p = parseParams(version === '1.0' ? V1GetTaskParamsSchema : V03TaskQueryParamsSchema, params);
      const task = visibleTask(endpoint, call, p.id);
      return ok(
        version === '1.0' ? taskToV1(task, { historyLength: p.historyLength }) : taskToV03(task, { historyLength: p.historyLength }),
      );
    }

    case 'ListTasks':
      return ok(listTasks(endpoint, call, parseParams(V1ListTasksParamsSchema, params)));

    case 'CancelTask':
    case 'tasks/cancel': {
      const p = parseParams(version === '1.0' ? V1TaskIdParamsSchema : V03TaskIdParamsSchema, params);
      const task = visibleTask(endpoint, call, p.id);
      let result = task;
      // Cancelling a canceled task again is idempotent (§3.3.1); any other final state cannot be canceled.
      if (task.state !== 'canceled') {
        if (isTerminal(task.state))
          throw new JsonRpcError(A2A_ERRORS.taskNotCancelable, `task ${task.id} is ${task.state} and cannot be canceled`);
        result =
          endpoint.store.transition(task.id, 'canceled', {
            message: {
              messageId: uuid(),
              role: 'agent',
              parts: [{ text: 'Canceled at the client’s request.' }],
              taskId: task.id,
              contextId: task.contextId,
            },
          }) ?? task;
        await deliverPush(endpoint.store, result);
        if (result.state === 'canceled') await endpoint.onCancel?.(result, call.req);
      }
      return ok(version === '1.0' ? taskToV1(result) : taskToV03(result));
    }

    case 'SubscribeToTask':
    case 'tasks/resubscribe': {
      if (!endpoint.streaming) throw new JsonRpcError(A2A_ERRORS.unsupportedOperation, 'streaming is not supported by this agent');
      const p = parseParams(version === '1.0' ? V1TaskIdParamsSchema : V03TaskIdParamsSchema, params);
      const task = visibleTask(endpoint, call, p.id);
      if (isTerminal(task.state) && version === '1.0')
        throw new JsonRpcError(
          A2A_ERRORS.unsupportedOperation,
          `task ${task.id} is ${task.state}; there is nothing to subscribe to (use GetTask)`,
        );
      return sseResponse(id, version, (emit) => subscribe(endpoint.store, task, (e) => emit(renderEvent(e, version))));
    }

    case 'CreateTaskPushNotificationConfig': {
      requirePush(endpoint);
      const p = parseParams(V1PushConfigSchema, params);
      visibleTask(endpoint, call, p.taskId);
      const config: StoredPushConfig = strip({
        id: p.id || uuid(),
        taskId: p.taskId,
        url: p.url,
        token: p.token,
        authentication: p.authentication && strip({ scheme: p.authentication.scheme, credentials: p.authentication.credentials }),
        version: '1.0' as const,
      });
      endpoint.store.putPush(config);
      return ok(pushToV1(config));
    }
    case 'tasks/pushNotificationConfig/set': {
      requirePush(endpoint);
      const p = parseParams(V03SetPushConfigParamsSchema, params);
      visibleTask(endpoint, call, p.taskId);
      const c = p.pushNotificationConfig;
      const config: StoredPushConfig = strip({
        id: c.id || uuid(),
        taskId: p.taskId,
        url: c.url,
        token: c.token,
        authentication:
          c.authentication && strip({ scheme: c.authentication.schemes[0] ?? 'Bearer', credentials: c.authentication.credentials }),
        version: '0.3' as const,
      });
      endpoint.store.putPush(config);
      return ok(pushToV03(config));
    }
    case 'GetTaskPushNotificationConfig': {
      requirePush(endpoint);
      const p = parseParams(V1PushConfigRefSchema, params);
      visibleTask(endpoint, call, p.taskId);
      const config = endpoint.store.getPush(p.taskId, p.id);
      if (!config) throw new JsonRpcError(A2A_ERRORS.taskNotFound, `task ${p.taskId} has no push notification config ${p.id}`);
      return ok(pushToV1(config));
    }
    case 'tasks/pushNotificationConfig/get': {
      requirePush(endpoint);
      const p = parseParams(V03GetPushConfigParamsSchema, params);
      visibleTask(endpoint, call, p.id);
      const config = p.pushNotificationConfigId
        ? endpoint.store.getPush(p.id, p.pushNotificationConfigId)
        : endpoint.store.listPush(p.id)[0];
      if (!config) throw new JsonRpcError(A2A_ERRORS.taskNotFound, `task ${p.id} has no such push notification config`);
      return ok(pushToV03(config));
    }
    case 'ListTaskPushNotificationConfigs': {
      requirePush(endpoint);
      const p = parseParams(V1ListPushConfigsParamsSchema, params);
      visibleTask(endpoint, call, p.taskId);
      return ok({ configs: endpoint.store.listPush(p.taskId).map(pushToV1), nextPageToken: '' });
    }
    case 'tasks/pushNotificationConfig/list': {
      requirePush(endpoint);
      const p = parseParams(V03TaskIdParamsSchema, params);
      visibleTask(endpoint, call, p.id);
      return ok(endpoint.store.listPush(p.id).map(pushToV03));
    }
    case 'DeleteTaskPushNotificationConfig': {
      requirePush(endpoint);
      const p = parseParams(V1PushConfigRefSchema, params);
      visibleTask(endpoint, call, p.taskId);
      endpoint.store.deletePush(p.taskId, p.id);
      return ok({});
    }
    case 'tasks/pushNotificationConfig/delete': {
      requirePush(endpoint);
      const p = parseParams(V03DeletePushConfigParamsSchema, params);
      visibleTask(endpoint, call, p.id);
      endpoint.store.deletePush(p.id, p.pushNotificationConfigId);
      return ok(null);
    }

    case 'GetExtendedAgentCard':
    case 'agent/getAuthenticatedExtendedCard': {
      if (version === '1.0') parseParams(V1ExtendedCardParamsSchema, params);
      if (!endpoint.auth)
        throw version === '1.0'
          ? new JsonRpcError(A2A_ERRORS.unsupportedOperation, 'this agent declares no extended card (authentication is off)')
          : new JsonRpcError(
              A2A_ERRORS.extendedAgentCardNotConfigured,
              'this agent has no authenticated extended card (authentication is off)',
            );
      return ok(await endpoint.extendedCard(version));
    }
  }
  throw new JsonRpcError(JSONRPC_ERRORS.methodNotFound, `method ${call.method} not found`);
}

function pushToV1(c: StoredPushConfig): Record<string, unknown> {
  return strip({ id: c.id, taskId: c.taskId, url: c.url, token: c.token, authentication: c.authentication });
}

function pushToV03(c: StoredPushConfig): Record<string, unknown> {
  return {
    taskId: c.taskId,
    pushNotificationConfig: strip({
      id: c.id,
      url: c.url,
      token: c.token,
      authentication: c.authentication && strip({ schemes: [c.authentication.scheme], credentials: c.authentication.credentials }),
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// ListTasks: newest status first, cursor = (timestamp, id) of the last task of the page

function encodeToken(t: StoredTask): string {
  return btoa(`${t.timestamp}\n${t.id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeToken(token: string): { timestamp: string; id: string } {
  try {
    const [timestamp, id, ...rest] = atob(token.replace(/-/g, '+').replace(/_/g, '/')).split('\n');
    if (timestamp && id && rest.length === 0 && !Number.isNaN(Date.parse(timestamp))) return { timestamp, id };
  } catch {
    // fall through
  }
  throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, 'invalid params: pageToken must be a nextPageToken returned by ListTasks');
}

/** Newest first; ties by id, descending, so the order is total and a cursor is exact. */
function newestFirst(a: StoredTask, b: StoredTask): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function listTasks(endpoint: A2AEndpoint, call: Call, p: z.output<typeof V1ListTasksParamsSchema>): Record<string, unknown> {
  let state: StoredTask['state'] | undefined;
  if (p.status !== undefined && p.status !== 'TASK_STATE_UNSPECIFIED' && p.status !== 0) {
    state = parseV1State(p.status);
    if (!state)
      throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, `invalid params: status ${JSON.stringify(p.status)} is not a TaskState`);
  }
  const after = p.statusTimestampAfter === undefined ? undefined : Date.parse(p.statusTimestampAfter);
  const cursor = p.pageToken ? decodeToken(p.pageToken) : undefined;
  const matching = endpoint.store
    .all(
      (t) =>
        (endpoint.agent === undefined || t.agent === endpoint.agent) &&
        visibleTo(t, call.caller) &&
        (p.contextId === undefined || p.contextId === '' || t.contextId === p.contextId) &&
        (state === undefined || t.state === state) &&
        (after === undefined || Date.parse(t.timestamp) > after),
    )
    .sort(newestFirst);
  const start = cursor ? matching.findIndex((t) => newestFirst(t, { ...t, ...cursor }) > 0) : 0;
  const size = p.pageSize ?? DEFAULT_PAGE_SIZE;
  const page = start === -1 ? [] : matching.slice(start, start + size);
  const more = start !== -1 && start + size < matching.length;
  return {
    tasks: page.map((t) => taskToV1(t, { historyLength: p.historyLength, includeArtifacts: p.includeArtifacts === true })),
    nextPageToken: more ? encodeToken(page.at(-1)!) : '',
    pageSize: page.length,
    totalSize: matching.length,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Sending

async function send(endpoint: A2AEndpoint, call: Call): Promise<Response> {
  const { version, id } = call;
  let message: Message;
  let metadata: Record<string, unknown> | undefined;
  let historyLength: number | undefined;
  let blocking: boolean;
  let push: (Omit<StoredPushConfig, 'id' | 'taskId'> & { id?: string | undefined }) | undefined;
  if (version === '1.0') {
    const p = parseParams(V1SendMessageParamsSchema, call.params);
    message = messageFromV1(p.message);
    metadata = p.metadata;
    checkOutputModes(p.configuration?.acceptedOutputModes);
    historyLength = p.configuration?.historyLength;
    blocking = p.configuration?.returnImmediately !== true;
    const c = p.configuration?.taskPushNotificationConfig;
    if (c)
      push = strip({
        id: c.id || undefined,
        url: c.url,
        token: c.token,
        authentication: c.authentication && strip({ scheme: c.authentication.scheme, credentials: c.authentication.credentials }),
        version: '1.0' as const,
      });
  } else {
    const p = parseParams(V03SendParamsSchema, call.params);
    message = messageFromV03(p.message);
    metadata = p.metadata;
    checkOutputModes(p.configuration?.acceptedOutputModes);
    historyLength = p.configuration?.historyLength;
    blocking = p.configuration?.blocking !== false;
    const c = p.configuration?.pushNotificationConfig;
    if (c)
      push = strip({
        id: c.id || undefined,
        url: c.url,
        token: c.token,
        authentication:
          c.authentication && strip({ scheme: c.authentication.schemes[0] ?? 'Bearer', credentials: c.authentication.credentials }),
        version: '0.3' as const,
      });
  }
  if (message.role !== 'user') throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, 'invalid params: message.role must be the user role');
  if (call.streaming && !endpoint.streaming)
    throw new JsonRpcError(A2A_ERRORS.unsupportedOperation, 'streaming is not supported by this agent');
  if (push) requirePush(endpoint);
  // Validates the parts (-32005 for file-only messages) before anything is stored or forwarded.
  messageText(message);

  let agent: string;
  let runner: LocalSend['run'];
  if ('forward' in endpoint.send) {
    const forwarded: ForwardedSend = { req: call.req, body: call.body, method: call.method, message, metadata };
    const local = await endpoint.send.local?.(forwarded);
    if (!local) return endpoint.send.forward(forwarded);
    agent = local.agent;
    runner = local.run;
    if (local.metadata) metadata = local.metadata;
  } else {
    if (endpoint.agent === undefined) throw new Error('an A2A endpoint that runs agents needs its agent');
    const run = endpoint.send.run;
    agent = endpoint.agent;
    runner = (store, task, onEvent) => runTask(store, task, run, onEvent);
  }

  const store = endpoint.store;
  const task = openTask(store, agent, call.caller, message, metadata);
  if (push) store.putPush({ ...push, id: push.id ?? uuid(), taskId: task.id });
  const render = (t: StoredTask) => (version === '1.0' ? { task: taskToV1(t, { historyLength }) } : taskToV03(t, { historyLength }));

  if (call.streaming) {
    return sseResponse(id, version, async (emit) => {
      emit(renderEvent({ type: 'task', task }, version, historyLength));
      await runner(store, task, (e) => emit(renderEvent(e, version, historyLength)));
    });
  }
  if (blocking || !endpoint.waitUntil) return jsonResponse(success(id, render(await runner(store, task))));
  // Non-blocking: answer with the submitted task now; the same instance runs it after the response has ended.
  endpoint.waitUntil(runner(store, task));
  return jsonResponse(success(id, render(task)));
}

// ---------------------------------------------------------------------------------------------------------------------
// Subscribing: the current task, then what changes in the store, until the task is final or waits for input

function artifactText(a: { parts: { text?: string | undefined }[] }): string {
  return a.parts.map((p) => p.text ?? '').join('');
}

async function subscribe(store: TaskStore, first: StoredTask, emit: (e: TaskEvent) => void): Promise<void> {
  emit({ type: 'task', task: first });
  let last = first;
  const deadline = Date.now() + SUBSCRIBE_MAX_MS;
  while (!isTerminal(last.state) && !INTERRUPTED_STATES.includes(last.state) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, SUBSCRIBE_POLL_MS));
    const current = store.get(first.id);
    if (!current) return;
    const final = isTerminal(current.state);
    for (const artifact of current.artifacts) {
      const before = last.artifacts.find((a) => a.artifactId === artifact.artifactId);
      const now = artifactText(artifact);
      const was = before ? artifactText(before) : undefined;
      if (was === now && before) continue;
      if (was !== undefined && now.startsWith(was))
        emit({
          type: 'artifact',
          task: current,
          artifact: { ...artifact, parts: [{ text: now.slice(was.length) }] },
          append: true,
          lastChunk: final,
        });
      else emit({ type: 'artifact', task: current, artifact, append: false, lastChunk: final });
    }
    if (current.state !== last.state) emit({ type: 'status', task: current });
    last = current;
  }
}
