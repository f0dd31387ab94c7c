/**
 * The workflow component's HTTP app, under `/api/v1/workflows`:
 *
 * - `POST|GET /definitions`, `GET|DELETE /definitions/<id>`
 * - `POST|GET /runs`, `GET /runs/<id>`
 * - `POST /runs/<id>/run|resume|approve` drive the run in the request: SSE events by default, or the final run as
 *   JSON with `?stream=false` or `Accept: application/json`; `approve?wait=false` only records the decision
 * - `POST /runs/<id>/reject|cancel`
 *
 * Scopes: `read` to get and list, `invoke` to create and drive runs, `admin` to create and delete definitions.
 *
 * @module
 */
import { Hono, type Context } from 'hono';
import { requireScope, type ApiKeysSource, type AuthEnv } from '../http/auth.ts';
import { queryParams, readBodyText, readJsonBody, validate } from '../http/body.ts';
import { HttpError, notFound, onError } from '../http/errors.ts';
import { slug } from '../protocol/agents.ts';
import {
  CreateDefinitionSchema,
  CreateRunSchema,
  DecisionSchema,
  DefinitionSchema,
  RUN_ID,
  RunListQuerySchema,
  type RunRecord,
  type WorkflowEvent,
} from '../protocol/workflows.ts';
import { agentClient } from './agents.ts';
import { claim, drive, type EngineDeps } from './engine.ts';
import type { LeaseOptions } from './lease.ts';
import { cancelRun, createRun, decide, listRuns, runView } from './runs.ts';
import type { WorkflowStore } from './store.ts';
import { checkDefinition } from './validate.ts';

export const MAX_DEFINITION_BYTES = 256 * 1024;
/** A 64 Ki-character input may be up to 192 KiB of UTF-8. */
export const MAX_RUN_BODY_BYTES = 256 * 1024;
const MAX_SMALL_BODY_BYTES = 16 * 1024;
/** SSE comment interval, so proxies keep a stream open while a step is slow. */
const KEEP_ALIVE_MS = 15_000;

export interface WorkflowAppDeps {
  store: WorkflowStore;
  apiKeys: ApiKeysSource;
  /** `agents_url` without a trailing slash. */
  agentsUrl: () => string;
  /** The agent kinds this platform serves; null accepts any. */
  kinds: () => readonly string[] | null;
  lease: () => LeaseOptions;
  now: () => number;
}

const IdSchema = slug('definition id');
const encoder = new TextEncoder();

function runIdOf(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!RUN_ID.test(id)) throw new HttpError(404, 'not_found', `no workflow run ${JSON.stringify(id.slice(0, 64))}`);
  return id;
}

/** An optional JSON body: empty is `{}`. */
async function optionalBody(c: Context): Promise<unknown> {
  const text = await readBodyText(c.req.raw, MAX_SMALL_BODY_BYTES);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function methodNotAllowed(allow: string) {
  return (c: Context) => {
    const res = new HttpError(405, 'method_not_allowed', `${c.req.method} is not allowed here; allowed: ${allow}`).getResponse();
    res.headers.set('allow', allow);
    return res;
  };
}

function wantsJson(c: Context): boolean {
  if (new URL(c.req.url).searchParams.get('stream') === 'false') return true;
  const accept = c.req.header('accept') ?? '';
  return accept.includes('application/json') && !accept.includes('text/event-stream');
}

export function workflowApp(deps: WorkflowAppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>({ strict: false });
  const read = requireScope('read', deps.apiKeys);
  const invoke = requireScope('invoke', deps.apiKeys);
  const admin = requireScope('admin', deps.apiKeys);
  const { store } = deps;
  const P = '/api/v1/workflows';

  const engine = (c: Context): EngineDeps => ({
    store,
    lease: deps.lease(),
    ask: agentClient({ baseUrl: deps.agentsUrl(), authorization: c.req.header('authorization') }),
    log: (line) => console.error(line),
  });

  /** Claims the run (errors become plain 4xx responses) and drives it: SSE, or JSON once it stops. */
  async function execute(c: Context, id: string, mode: 'run' | 'resume', before?: RunRecord): Promise<Response> {
    const e = engine(c);
    const owner = crypto.randomUUID();
    let claimed: RunRecord;
    try {
      claimed = await claim(e, id, owner, mode);
    } catch (err) {
      // After an approval another request may be driving the run already: the decision stands, say so.
      if (before && err instanceof HttpError && err.status === 409)
        return c.json(runView(store, store.getRun(id) ?? before, deps.now()), 202);
      if (err instanceof HttpError && err.code === 'run_in_progress') {
        const res = err.getResponse();
        const ms = (err.details as { retryAfterMs: number }).retryAfterMs;
        res.headers.set('retry-after', String(Math.max(1, Math.ceil(ms / 1000))));
        return res;
      }
      throw err;
    }
    if (wantsJson(c)) {
      const final = await drive(e, claimed, owner, () => undefined);
      return c.json(runView(store, final, deps.now()));
    }
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (chunk: string) => {
          try {
            controller.enqueue(encoder.encode(chunk));
          } catch {
            // closed by the client
          }
        };
        keepAlive = setInterval(() => send(': keep-alive\n\n'), KEEP_ALIVE_MS);
        await drive(e, claimed, owner, (ev: WorkflowEvent) => send(`event: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`));
        clearInterval(keepAlive);
        try {
          controller.close();
        } catch {
          // already closed
        }
      },
      cancel() {
        clearInterval(keepAlive);
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-workflow-run': id } });
  }

  // Definitions -------------------------------------------------------------------------------------------------

  app.post(`${P}/definitions`, admin, async (c) => {
    const input = validate(CreateDefinitionSchema, await readJsonBody(c.req.raw, MAX_DEFINITION_BYTES), 'definition');
    const id = input.id ?? `wf-${crypto.randomUUID().slice(0, 8)}`;
    const def = DefinitionSchema.parse({ ...input, id, builtin: false, createdAt: new Date(deps.now()).toISOString() });
    const problems = checkDefinition(def, deps.kinds());
    if (problems.length > 0) {
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
      throw new HttpError(422, 'invalid_definition', `invalid definition: ${problems[0]!.message}${more}`, { details: problems });
    }
    if (store.getDefinition(id))
      throw new HttpError(409, 'conflict', `a definition ${id} exists already${def.id === 'sparc' ? ' (built in)' : ''}`);
    store.putDefinition(def);
    c.header('location', `${P}/definitions/${id}`);
    return c.json(def, 201);
  });
  app.get(`${P}/definitions`, read, (c) => c.json({ items: store.listDefinitions() }));
  app.all(`${P}/definitions`, methodNotAllowed('GET, POST'));

  app.get(`${P}/definitions/:id`, read, (c) => {
    const id = validate(IdSchema, c.req.param('id'), 'path');
    const def = store.getDefinition(id);
    if (!def) throw new HttpError(404, 'not_found', `no workflow definition ${id}`);
    return c.json(def);
  });
  app.delete(`${P}/definitions/:id`, admin, (c) => {
    const id = validate(IdSchema, c.req.param('id'), 'path');
    if (store.getDefinition(id)?.builtin) throw new HttpError(409, 'builtin', `${id} is built in and cannot be deleted`);
    if (!store.deleteDefinition(id)) throw new HttpError(404, 'not_found', `no workflow definition ${id}`);
    return c.body(null, 204);
  });
  app.all(`${P}/definitions/:id`, methodNotAllowed('GET, DELETE'));

  // Runs --------------------------------------------------------------------------------------------------------

  app.post(`${P}/runs`, invoke, async (c) => {
    const input = validate(CreateRunSchema, await readJsonBody(c.req.raw, MAX_RUN_BODY_BYTES), 'run');
    const defId = (input.template ?? input.definitionId)!;
    const def = store.getDefinition(defId);
    if (!def) throw new HttpError(404, 'not_found', `no workflow definition ${defId} (built in: sparc; see GET ${P}/definitions)`);
    const { run, created } = await createRun(store, def, input.input, input.idempotencyKey, c.get('auth').keyId, deps.now());
    c.header('location', `${P}/runs/${run.id}`);
    return c.json(runView(store, run, deps.now()), created ? 201 : 200);
  });
  app.get(`${P}/runs`, read, (c) => c.json(listRuns(store, validate(RunListQuerySchema, queryParams(c.req.url), 'query'), deps.now())));
  app.all(`${P}/runs`, methodNotAllowed('GET, POST'));

  app.get(`${P}/runs/:id`, read, (c) => {
    const id = runIdOf(c);
    const run = store.getRun(id);
    if (!run) throw new HttpError(404, 'not_found', `no workflow run ${id}`);
    return c.json(runView(store, run, deps.now()));
  });
  app.all(`${P}/runs/:id`, methodNotAllowed('GET'));

  app.post(`${P}/runs/:id/run`, invoke, async (c) => {
    await optionalBody(c);
    return execute(c, runIdOf(c), 'run');
  });
  app.post(`${P}/runs/:id/resume`, invoke, async (c) => {
    await optionalBody(c);
    return execute(c, runIdOf(c), 'resume');
  });
  app.post(`${P}/runs/:id/approve`, invoke, async (c) => {
    const id = runIdOf(c);
    const { comment } = validate(DecisionSchema, await optionalBody(c), 'decision');
    const run = decide(store, id, true, comment, c.get('auth').keyId, deps.now());
    if (new URL(c.req.url).searchParams.get('wait') === 'false') return c.json(runView(store, run, deps.now()));
    return execute(c, id, 'run', run);
  });
  app.post(`${P}/runs/:id/reject`, invoke, async (c) => {
    const id = runIdOf(c);
    const { comment } = validate(DecisionSchema, await optionalBody(c), 'decision');
    return c.json(runView(store, decide(store, id, false, comment, c.get('auth').keyId, deps.now()), deps.now()));
  });
  app.post(`${P}/runs/:id/cancel`, invoke, async (c) => {
    const id = runIdOf(c);
    await optionalBody(c);
    return c.json(runView(store, cancelRun(store, id, deps.now()), deps.now()));
  });
  for (const action of ['run', 'resume', 'approve', 'reject', 'cancel']) app.all(`${P}/runs/:id/${action}`, methodNotAllowed('POST'));

  app.notFound(notFound);
  app.onError(onError);
  return app;
}
