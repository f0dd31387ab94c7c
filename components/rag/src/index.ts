/**
 * `rag`: the knowledge API under `/api/v1/knowledge`: collections, documents (text, Markdown notes, JSON),
 * vector / keyword / hybrid search over Postgres + pgvector, and the agents' reasoning bank.
 *
 * Embeddings come from the LLM router (`router_url`, model alias `embed` unless a collection names another); the
 * database is `database_url`, reached through Spin's outbound Postgres. The schema is created on first use.
 * Scopes: `read` to list, get and search; `admin` to create and delete collections and documents; `invoke` to store
 * reasoning trajectories (what an agent does while it works).
 *
 * @module
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { requireScope, type AuthEnv } from '../../../shared/http/auth.ts';
import { readJsonBody, validate } from '../../../shared/http/body.ts';
import { errorResponse, HttpError, notFound } from '../../../shared/http/errors.ts';
import { fire, warmUp } from '../../../shared/http/fire.ts';
import {
  CollectionNameSchema,
  CreateCollectionSchema,
  DocumentIdSchema,
  IngestDocumentSchema,
  KNOWLEDGE_LIMITS,
  ListDocumentsQuerySchema,
  SearchReasoningSchema,
  SearchSchema,
  StoreReasoningSchema,
} from '../../../shared/protocol/knowledge.ts';
import { chunkMarkdown } from '../../../shared/rag/chunk.ts';
import { embed } from '../../../shared/rag/embed.ts';
import { filterSql, SqlParams } from '../../../shared/rag/filter.ts';
import { parseNote } from '../../../shared/rag/markdown.ts';
import { databaseError, ensureSchema, openDatabase, type Sql } from '../../../shared/rag/postgres.ts';
import { SCHEMA_VERSION } from '../../../shared/rag/schema.ts';
import * as store from '../../../shared/rag/store.ts';
import { variable } from '../../../shared/spin/variables.ts';

const apiKeys = () => variable('api_keys');
const read = requireScope('read', apiKeys);
const invoke = requireScope('invoke', apiKeys);
const admin = requireScope('admin', apiKeys);

/** The request's database connection, opened and migrated on first use (each request is a fresh instance). */
let sql: Sql | undefined;
function db(): Sql {
  if (!sql) {
    const conn = openDatabase(variable('database_url'));
    ensureSchema(conn);
    sql = conn;
  }
  return sql;
}

/** Embeds through the router with the caller's key; usage is also counted under the router's agent scope `agent:rag`. */
function embedder(c: Context): store.Embedder {
  const routerUrl = variable('router_url');
  if (!routerUrl) throw new HttpError(503, 'embeddings_unavailable', 'router_url is not set: the component cannot embed');
  const authorization = c.req.header('authorization');
  return (inputs, model, dimensions) => embed(inputs, { routerUrl, model, dimensions, authorization, headers: { 'x-agent-id': 'rag' } });
}

function query(c: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URL(c.req.url).searchParams) if (v !== '') out[k] = v;
  return out;
}

const collectionName = (c: Context) => validate(CollectionNameSchema, c.req.param('collection'), 'collection name');
const documentId = (c: Context) => validate(DocumentIdSchema, c.req.param('id'), 'document id');
const collection = (c: Context, withStats = false) => store.getCollection(db(), collectionName(c), withStats);

function methodNotAllowed(allow: string) {
  return () => {
    const res = new HttpError(405, 'method_not_allowed', `allowed here: ${allow}`).getResponse();
    res.headers.set('allow', allow);
    return res;
  };
}

/** Errors: HTTP errors as they are, database errors as 503/500 with the reason, anything else a logged 500. */
function onError(err: Error): Response {
  const mapped = databaseError(err);
  if (mapped instanceof HttpError) return mapped.getResponse();
  console.error(`rag: unhandled error: ${err.stack ?? err.message}`);
  return errorResponse(500, 'internal', 'internal error');
}

const BASE = '/api/v1/knowledge';
const app = new Hono<AuthEnv>({ strict: false });

app.get(`${BASE}/health`, read, (c) => {
  db();
  return c.json({ status: 'ok', schemaVersion: SCHEMA_VERSION });
});

app.post(`${BASE}/collections`, admin, async (c) => {
  const input = validate(CreateCollectionSchema, await readJsonBody(c.req.raw, KNOWLEDGE_LIMITS.smallBodyBytes), 'collection');
  const created = await store.createCollection(db(), input, embedder(c));
  c.header('location', `${BASE}/collections/${created.name}`);
  return c.json(store.collectionView(created), 201);
});
app.get(`${BASE}/collections`, read, (c) => c.json({ items: store.listCollections(db()).map(store.collectionView) }));
app.all(`${BASE}/collections`, methodNotAllowed('GET, POST'));

app.get(`${BASE}/collections/:collection`, read, (c) => c.json(store.collectionView(collection(c, true))));
app.delete(`${BASE}/collections/:collection`, admin, (c) => {
  store.deleteCollection(db(), collectionName(c));
  return c.body(null, 204);
});
app.all(`${BASE}/collections/:collection`, methodNotAllowed('GET, DELETE'));

app.post(`${BASE}/collections/:collection/documents`, admin, async (c) => {
  const name = collectionName(c);
  const body = await readJsonBody(c.req.raw, KNOWLEDGE_LIMITS.documentBodyBytes);
  const input = validate(IngestDocumentSchema, body, 'document');
  const col = store.getCollection(db(), name);
  const result = await store.ingestDocument(db(), col, input, embedder(c));
  if (!result.unchanged) c.header('location', `${BASE}/collections/${name}/documents/${encodeURIComponent(result.id)}`);
  return c.json(result, result.created ? 201 : 200);
});
app.get(`${BASE}/collections/:collection/documents`, read, (c) => {
  const q = validate(ListDocumentsQuerySchema, query(c), 'query');
  return c.json(store.listDocuments(db(), collection(c), q));
});
app.all(`${BASE}/collections/:collection/documents`, methodNotAllowed('GET, POST'));

app.get(`${BASE}/collections/:collection/documents/:id`, read, (c) => {
  const withChunks = query(c).include === 'chunks';
  return c.json(store.getDocument(db(), collection(c), documentId(c), withChunks));
});
app.delete(`${BASE}/collections/:collection/documents/:id`, admin, (c) => {
  store.deleteDocument(db(), collection(c), documentId(c));
  return c.body(null, 204);
});
app.all(`${BASE}/collections/:collection/documents/:id`, methodNotAllowed('GET, DELETE'));

app.post(`${BASE}/collections/:collection/search`, read, async (c) => {
  const req = validate(SearchSchema, await readJsonBody(c.req.raw, KNOWLEDGE_LIMITS.smallBodyBytes), 'search');
  const col = collection(c);
  const out = await store.search(db(), col, req, embedder(c));
  return c.json({ collection: col.name, query: req.query ?? null, ...out });
});
app.all(`${BASE}/collections/:collection/search`, methodNotAllowed('POST'));

app.post(`${BASE}/reasoning`, invoke, async (c) => {
  const input = validate(StoreReasoningSchema, await readJsonBody(c.req.raw, KNOWLEDGE_LIMITS.smallBodyBytes), 'trajectory');
  const saved = await store.storeTrajectory(db(), input, embedder(c));
  c.header('location', `${BASE}/reasoning/${saved.id}`);
  return c.json(saved, 201);
});
app.all(`${BASE}/reasoning`, methodNotAllowed('POST'));
app.post(`${BASE}/reasoning/search`, read, async (c) => {
  const req = validate(SearchReasoningSchema, await readJsonBody(c.req.raw, KNOWLEDGE_LIMITS.smallBodyBytes), 'reasoning search');
  return c.json(await store.searchTrajectories(db(), req, embedder(c)));
});
app.all(`${BASE}/reasoning/search`, methodNotAllowed('POST'));
const TrajectoryIdSchema = z.string().regex(/^[0-9a-f-]{36}$/, { error: 'a trajectory id is a UUID' });
app.get(`${BASE}/reasoning/:id`, read, (c) => c.json(store.getTrajectory(db(), validate(TrajectoryIdSchema, c.req.param('id'), 'id'))));
app.delete(`${BASE}/reasoning/:id`, admin, (c) => {
  store.deleteTrajectory(db(), validate(TrajectoryIdSchema, c.req.param('id'), 'id'));
  return c.body(null, 204);
});
app.all(`${BASE}/reasoning/:id`, methodNotAllowed('GET, DELETE'));

app.notFound(notFound);
app.onError(onError);

warmUp(() => {
  // Pure code paths only (no database, variables or fetch at initialisation): schemas, chunking, note parsing, filters.
  const note =
    '---\ntitle: Warm\ntags: [a, b]\n---\n# Warm\n\nSome text with #tag and [[Link|alias]].\n\n- one\n- two\n\n```ts\nconst x = 1;\n```\n';
  parseNote(note);
  chunkMarkdown(note.repeat(20), { size: 300, overlap: 50 });
  IngestDocumentSchema.safeParse({ content: note, contentType: 'text/markdown', metadata: { a: 1 } });
  const s = SearchSchema.safeParse({ query: 'warm', mode: 'hybrid', topK: 5, filter: { tags: 'a', n: { gte: 1 }, k: { in: ['x'] } } });
  if (s.success) filterSql(s.data.filter, new SqlParams());
  CreateCollectionSchema.safeParse({ name: 'warm', chunkSize: 500 });
  void app.fetch(new Request('http://warm.up/no-such-route'));
});

fire(app);
