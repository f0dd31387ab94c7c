/**
 * Collections, documents, search and the reasoning bank over Postgres + pgvector: the SQL of the `rag` component.
 *
 * Every value reaches SQL as a bound parameter. The only things ever written into statement text are integers
 * read back from the database (a collection's id and dimension, for the partial HNSW index the planner must match)
 * and fixed fragments.
 *
 * @module
 */
import { HttpError } from '../http/errors.ts';
import {
  DEFAULT_CHUNK_OVERLAP,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_EMBEDDING_MODEL,
  KNOWLEDGE_LIMITS,
  type ContentType,
  type CreateCollection,
  type IngestDocument,
  type SearchMode,
  type SearchReasoning,
  type SearchRequest,
  type SearchResult,
  type StoreReasoning,
} from '../protocol/knowledge.ts';
import { chunkDocument, contextualText, type Chunk } from './chunk.ts';
import { vectorLiteral, type Embedded } from './embed.ts';
import { filterSql, SqlParams } from './filter.ts';
import { documentHash } from './hash.ts';
import { parseNote } from './markdown.ts';
import { queryFailure, type Row, type Sql } from './postgres.ts';

/** Embeds texts with a model (the component passes the router client). */
export type Embedder = (inputs: string[], model: string, dimensions?: number) => Promise<Embedded>;

export interface Collection {
  id: number;
  name: string;
  description: string;
  /** What was asked of the router (an alias such as `embed`). */
  embeddingModel: string;
  /** The model that answered when the collection was created; every later embedding must come from it. */
  resolvedModel: string;
  dimensions: number;
  chunkSize: number;
  chunkOverlap: number;
  language: string;
  createdAt: string;
  documents?: number;
  chunks?: number;
}

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const COLLECTION_COLUMNS = `id, name, description, embedding_model, resolved_model, dimensions, chunk_size, chunk_overlap, language,
  ${ISO('created_at')} AS created_at`;

function toCollection(r: Row): Collection {
  const c: Collection = {
    id: Number(r.id),
    name: String(r.name),
    description: String(r.description ?? ''),
    embeddingModel: String(r.embedding_model),
    resolvedModel: String(r.resolved_model),
    dimensions: Number(r.dimensions),
    chunkSize: Number(r.chunk_size),
    chunkOverlap: Number(r.chunk_overlap),
    language: String(r.language),
    createdAt: String(r.created_at),
  };
  if (r.documents !== undefined) c.documents = Number(r.documents);
  if (r.chunks !== undefined) c.chunks = Number(r.chunks);
  return c;
}

/** The public view of a collection (the internal id stays internal). */
export function collectionView(c: Collection): Omit<Collection, 'id'> {
  const { id: _id, ...rest } = c;
  return rest;
}

function json<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Collections

export function findCollection(sql: Sql, name: string, withStats = false): Collection | undefined {
  const stats = withStats
    ? `, (SELECT count(*) FROM rag_documents d WHERE d.collection_id = c.id) AS documents,
         (SELECT coalesce(sum(chunk_count), 0) FROM rag_documents d WHERE d.collection_id = c.id) AS chunks`
    : '';
  const row = sql.query(`SELECT ${COLLECTION_COLUMNS}${stats} FROM rag_collections c WHERE name = $1::text`, [name])[0];
  return row ? toCollection(row) : undefined;
}

export function getCollection(sql: Sql, name: string, withStats = false): Collection {
  const c = findCollection(sql, name, withStats);
  if (!c) throw new HttpError(404, 'not_found', `no collection '${name}'`);
  return c;
}

export function listCollections(sql: Sql): Collection[] {
  return sql
    .query(
      `SELECT ${COLLECTION_COLUMNS},
         (SELECT count(*) FROM rag_documents d WHERE d.collection_id = c.id) AS documents,
         (SELECT coalesce(sum(chunk_count), 0) FROM rag_documents d WHERE d.collection_id = c.id) AS chunks
       FROM rag_collections c ORDER BY name`,
    )
    .map(toCollection);
}

/**
 * Creates a collection: one probe embedding fixes its model and dimension, then the collection and its HNSW index
 * are created in one statement. 409 when the name is taken.
 */
export async function createCollection(sql: Sql, input: CreateCollection, embedder: Embedder): Promise<Collection> {
  if (findCollection(sql, input.name)) throw new HttpError(409, 'collection_exists', `collection '${input.name}' already exists`);
  const model = input.embeddingModel ?? DEFAULT_EMBEDDING_MODEL;
  const probe = await embedder(['dimension probe'], model, input.dimensions);
  const dims = probe.vectors[0]!.length;
  if (input.dimensions !== undefined && dims !== input.dimensions) {
    throw new HttpError(
      422,
      'dimension_mismatch',
      `'${model}' (${probe.model}) embeds with ${dims} dimensions, not the ${input.dimensions} asked for`,
    );
  }
  if (dims > KNOWLEDGE_LIMITS.dimensions) {
    throw new HttpError(
      422,
      'dimension_mismatch',
      `'${model}' embeds with ${dims} dimensions; pgvector's HNSW index covers at most ${KNOWLEDGE_LIMITS.dimensions}`,
    );
  }
  const id = sql.query(
    `SELECT rag_create_collection($1::text, $2::text, $3::text, $4::text, $5::int8::int, $6::int8::int, $7::int8::int, $8::text) AS id`,
    [
      input.name,
      input.description ?? '',
      model,
      probe.model,
      BigInt(dims),
      BigInt(input.chunkSize ?? DEFAULT_CHUNK_SIZE),
      BigInt(input.chunkOverlap ?? DEFAULT_CHUNK_OVERLAP),
      input.language ?? 'english',
    ],
  )[0]?.id;
  if (id === null || id === undefined) throw new HttpError(409, 'collection_exists', `collection '${input.name}' already exists`);
  return getCollection(sql, input.name, true);
}

/** Deletes a collection with its documents, chunks and index; 404 when there is none. */
export function deleteCollection(sql: Sql, name: string): void {
  const id = sql.query('SELECT rag_drop_collection($1::text) AS id', [name])[0]?.id;
  if (id === null || id === undefined) throw new HttpError(404, 'not_found', `no collection '${name}'`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Documents

export interface DocumentSummary {
  id: string;
  title: string | null;
  contentType: string;
  contentHash: string;
  chunks: number;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

const DOCUMENT_COLUMNS = `id, title, content_type, content_hash, chunk_count, metadata::text AS metadata,
  ${ISO('created_at')} AS created_at, ${ISO('updated_at')} AS updated_at`;

function toSummary(r: Row): DocumentSummary {
  return {
    id: String(r.id),
    title: r.title === null ? null : String(r.title),
    contentType: String(r.content_type),
    contentHash: String(r.content_hash),
    chunks: Number(r.chunk_count),
    metadata: json(r.metadata, {}),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

function toBase64Url(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(cursor: string): string {
  try {
    const bin = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    throw new HttpError(400, 'invalid_request', 'invalid cursor: pass back the nextCursor of the previous page');
  }
}

/** One page of a collection's documents in id order (byte order), with their content hashes. */
export function listDocuments(
  sql: Sql,
  c: Collection,
  q: { limit?: number | undefined; cursor?: string | undefined; prefix?: string | undefined },
): { items: DocumentSummary[]; nextCursor: string | null } {
  const limit = q.limit ?? 100;
  const p = new SqlParams();
  const where = [`collection_id = ${p.add(BigInt(c.id))}`];
  if (q.cursor) where.push(`id COLLATE "C" > ${p.add(fromBase64Url(q.cursor))} COLLATE "C"`);
  if (q.prefix) where.push(`starts_with(id, ${p.add(q.prefix)})`);
  const rows = sql.query(
    `SELECT ${DOCUMENT_COLUMNS} FROM rag_documents WHERE ${where.join(' AND ')} ORDER BY id COLLATE "C" LIMIT ${p.add(BigInt(limit + 1))}`,
    p.values,
  );
  const items = rows.slice(0, limit).map(toSummary);
  return { items, nextCursor: rows.length > limit ? toBase64Url(items[items.length - 1]!.id) : null };
}

export interface DocumentView extends DocumentSummary {
  content: string;
  chunkList?: { index: number; text: string; headings: string[] }[];
}

export function getDocument(sql: Sql, c: Collection, id: string, withChunks = false): DocumentView {
  const row = sql.query(
    `SELECT ${DOCUMENT_COLUMNS}, content, generation FROM rag_documents WHERE collection_id = $1::int8 AND id = $2::text`,
    [BigInt(c.id), id],
  )[0];
  if (!row) throw new HttpError(404, 'not_found', `no document '${id}' in collection '${c.name}'`);
  const doc: DocumentView = { ...toSummary(row), content: String(row.content) };
  if (withChunks) {
    doc.chunkList = sql
      .query(
        `SELECT ord, text, headings::text AS headings FROM rag_chunks
         WHERE collection_id = $1::int8 AND document_id = $2::text AND generation = $3::int8 ORDER BY ord`,
        [BigInt(c.id), id, BigInt(Number(row.generation))],
      )
      .map((r) => ({ index: Number(r.ord), text: String(r.text), headings: json(r.headings, []) }));
  }
  return doc;
}

/**
 * The `rag_lexemes` upsert for collection `$1` of a statement that writes chunks: adds the lexemes of the chunks in
 * the CTEs named with +1 and subtracts those named with -1 (each CTE returns `tsv`), plus the chunk count under the
 * empty lexeme. One upsert in lexeme order, so writers to one collection lock the rows they share in the same order
 * and cannot deadlock. Counts that drop to 0 stay as rows; readers treat them as absent.
 */
function lexemeCounts(ctes: [name: string, sign: 1 | -1][]): string {
  const rows = ctes.flatMap(([name, sign]) => [
    `SELECT '' AS lexeme, ${sign} AS n FROM ${name}`,
    `SELECT t.lexeme, ${sign} FROM ${name}, unnest(${name}.tsv) AS t`,
  ]);
  return `INSERT INTO rag_lexemes AS s (collection_id, lexeme, df)
       SELECT $1::int8, l.lexeme, sum(l.n)::int FROM (${rows.join(' UNION ALL ')}) AS l
       GROUP BY l.lexeme HAVING sum(l.n) <> 0 ORDER BY l.lexeme
       ON CONFLICT (collection_id, lexeme) DO UPDATE SET df = s.df + EXCLUDED.df`;
}

/** Deletes a document and its chunks (explicitly rather than by cascade, so their lexemes are counted out). */
export function deleteDocument(sql: Sql, c: Collection, id: string): void {
  const row = sql.query(
    `WITH doc AS (
       DELETE FROM rag_documents WHERE collection_id = $1::int8 AND id = $2::text RETURNING 1
     ), gone AS (
       DELETE FROM rag_chunks WHERE collection_id = $1::int8 AND document_id = $2::text RETURNING tsv
     ), stats AS (
       ${lexemeCounts([['gone', -1]])}
     )
     SELECT count(*) AS n FROM doc`,
    [BigInt(c.id), id],
  )[0];
  if (Number(row?.n ?? 0) === 0) throw new HttpError(404, 'not_found', `no document '${id}' in collection '${c.name}'`);
}

export interface IngestResult {
  id: string;
  chunks: number;
  contentHash: string;
  /** True when the same content was already stored: nothing was embedded or written. */
  unchanged: boolean;
  /** True when the document did not exist before. */
  created: boolean;
  title: string | null;
  embeddingModel: string;
}

/** What a document stores besides what was sent: frontmatter, tags and wikilinks of Markdown notes. */
function derive(
  input: IngestDocument,
  contentType: ContentType,
): { body: string; title: string | null; metadata: Record<string, unknown> } {
  const metadata: Record<string, unknown> = { ...(input.metadata ?? {}) };
  if (contentType !== 'markdown') return { body: input.content, title: input.title ?? null, metadata };
  const note = parseNote(input.content);
  const merged: Record<string, unknown> = { ...note.frontmatter, ...metadata };
  const given = Array.isArray(metadata.tags) ? metadata.tags.filter((t): t is string => typeof t === 'string') : [];
  const tags = [...new Set([...given, ...note.tags])];
  if (tags.length > 0) merged.tags = tags;
  if (note.links.length > 0) merged.links = note.links;
  const h1 = /^ {0,3}# +(.+?)\s*#*\s*$/m.exec(note.body)?.[1];
  const title = input.title ?? (typeof note.frontmatter.title === 'string' ? note.frontmatter.title : undefined) ?? h1 ?? null;
  return { body: note.body, title, metadata: merged };
}

/** Chunks, embeds and stores a document as one statement; a re-ingest of identical input is a no-op. */
export async function ingestDocument(sql: Sql, c: Collection, input: IngestDocument, embedder: Embedder): Promise<IngestResult> {
  if (input.embeddingModel !== undefined && input.embeddingModel !== c.embeddingModel && input.embeddingModel !== c.resolvedModel) {
    throw modelMismatch(c, input.embeddingModel);
  }
  if (utf8Length(input.content) > KNOWLEDGE_LIMITS.contentBytes) {
    throw new HttpError(413, 'document_too_large', `content exceeds ${KNOWLEDGE_LIMITS.contentBytes} bytes; split the document`);
  }
  const contentType = input.contentType ?? 'markdown';
  const hash = await documentHash({ title: input.title ?? null, content: input.content, contentType, metadata: input.metadata ?? {} });
  const id = input.id ?? `doc-${hash.slice('sha256:'.length, 'sha256:'.length + 16)}`;
  const existing = sql.query(
    'SELECT content_hash, chunk_count, title FROM rag_documents WHERE collection_id = $1::int8 AND id = $2::text',
    [BigInt(c.id), id],
  )[0];
  if (existing && existing.content_hash === hash) {
    return {
      id,
      chunks: Number(existing.chunk_count),
      contentHash: hash,
      unchanged: true,
      created: false,
      title: existing.title === null ? null : String(existing.title),
      embeddingModel: c.resolvedModel,
    };
  }
  const { body, title, metadata } = derive(input, contentType);
  if (JSON.stringify(metadata).length > KNOWLEDGE_LIMITS.metadataBytes * 2) {
    throw new HttpError(413, 'document_too_large', 'the metadata derived from the note (frontmatter, tags, links) is too large');
  }
  let chunks: Chunk[];
  try {
    chunks = chunkDocument(body, contentType, { size: c.chunkSize, overlap: c.chunkOverlap });
  } catch (err) {
    throw new HttpError(400, 'invalid_request', `content is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (chunks.length > KNOWLEDGE_LIMITS.chunksPerDocument) {
    throw new HttpError(
      413,
      'document_too_large',
      `the document makes ${chunks.length} chunks, more than ${KNOWLEDGE_LIMITS.chunksPerDocument}; split it`,
    );
  }
  const texts = chunks.map((ch) => contextualText(title, ch));
  const embedded = texts.length > 0 ? await embedder(texts, c.embeddingModel, c.dimensions) : { model: c.resolvedModel, vectors: [] };
  checkEmbeddings(c, embedded);
  const payload = JSON.stringify(
    chunks.map((ch, i) => ({ t: ch.text, h: ch.headings, x: texts[i], e: vectorLiteral(embedded.vectors[i]!) })),
  );
  const dims = c.dimensions;
  const rows = sql.query(
    `WITH doc AS (
       INSERT INTO rag_documents AS d (collection_id, id, title, content, content_type, metadata, content_hash, chunk_count)
       VALUES ($1::int8, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text, $8::int8)
       ON CONFLICT (collection_id, id) DO UPDATE SET title = EXCLUDED.title, content = EXCLUDED.content,
         content_type = EXCLUDED.content_type, metadata = EXCLUDED.metadata, content_hash = EXCLUDED.content_hash,
         chunk_count = EXCLUDED.chunk_count, generation = d.generation + 1, updated_at = now()
       WHERE d.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       RETURNING d.generation, (d.xmax = 0) AS inserted
     ), stale AS (
       DELETE FROM rag_chunks c USING doc
       WHERE c.collection_id = $1::int8 AND c.document_id = $2::text AND c.generation < doc.generation
       RETURNING c.tsv
     ), fresh AS (
       INSERT INTO rag_chunks (collection_id, document_id, generation, ord, text, headings, embedding, tsv)
       SELECT $1::int8, $2::text, doc.generation, (e.ord - 1)::int, e.v ->> 't', e.v -> 'h',
              (e.v ->> 'e')::vector(${dims}), to_tsvector($9::text::regconfig, e.v ->> 'x')
       FROM doc, jsonb_array_elements($10::text::jsonb) WITH ORDINALITY AS e(v, ord)
       RETURNING tsv
     ), stats AS (
       ${lexemeCounts([
         ['fresh', 1],
         ['stale', -1],
       ])}
     )
     SELECT doc.inserted, (SELECT count(*) FROM fresh) AS chunks, (SELECT count(*) FROM stale) AS removed FROM doc`,
    [BigInt(c.id), id, title, input.content, contentType, JSON.stringify(metadata), hash, BigInt(chunks.length), c.language, payload],
  );
  const row = rows[0];
  // No row: an identical document was written by a concurrent request between our read and this statement.
  return {
    id,
    chunks: chunks.length,
    contentHash: hash,
    unchanged: !row,
    created: row ? row.inserted === true : false,
    title,
    embeddingModel: embedded.model,
  };
}

function modelMismatch(c: Collection, asked: string): HttpError {
  return new HttpError(
    409,
    'embedding_model_mismatch',
    `collection '${c.name}' is embedded with '${c.embeddingModel}' (${c.resolvedModel}, ${c.dimensions} dimensions), not '${asked}'; ` +
      'a collection keeps one model: create another collection for another model',
  );
}

/** Refuses embeddings from another model (409) or of another size (422) than the collection's. */
function checkEmbeddings(c: Collection, e: Embedded): void {
  if (e.vectors.length > 0 && e.model !== c.resolvedModel) {
    throw new HttpError(
      409,
      'embedding_model_mismatch',
      `the router now answers '${c.embeddingModel}' with ${e.model}, but collection '${c.name}' holds embeddings of ${c.resolvedModel}; ` +
        'mixing them would make search meaningless. Make the router serve the original model, or re-create the collection',
    );
  }
  const bad = e.vectors.find((v) => v.length !== c.dimensions);
  if (bad) throw dimensionMismatch(c, bad.length);
}

function dimensionMismatch(c: Collection, got: number): HttpError {
  return new HttpError(422, 'dimension_mismatch', `collection '${c.name}' has ${c.dimensions}-dimensional embeddings; got ${got}`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Search

interface Hit {
  documentId: string;
  ord: number;
  text: string;
  headings: string[];
  title: string | null;
  metadata: Record<string, unknown>;
  score: number;
}

const HIT_COLUMNS = `c.document_id, c.ord, c.text, c.headings::text AS headings, d.title, d.metadata::text AS metadata`;
const JOIN_DOCS = `JOIN rag_documents d ON d.collection_id = c.collection_id AND d.id = c.document_id AND d.generation = c.generation`;

function toHit(r: Row): Hit {
  return {
    documentId: String(r.document_id),
    ord: Number(r.ord),
    text: String(r.text),
    headings: json(r.headings, []),
    title: r.title === null ? null : String(r.title),
    metadata: json(r.metadata, {}),
    score: Number(r.score),
  };
}

/**
 * The filter and the current-generation check for chunk `c`, as a scalar subquery on its document: NULL (false) when
 * the document is gone or on another generation. A scalar subquery, unlike a join or EXISTS, is not flattened into
 * a join the planner may reorder, so it stays a filter on the chunk scan: the HNSW scan keeps returning neighbours
 * until enough pass (iterative scan), and the plan does not depend on table statistics, which an embedded
 * database without autovacuum never gathers (with none, the planner joined from the documents and sorted the
 * whole collection).
 */
function documentCheck(where: string): string {
  return `(SELECT ${where} FROM rag_documents d
           WHERE d.collection_id = c.collection_id AND d.id = c.document_id AND d.generation = c.generation)`;
}

/**
 * Nearest chunks by cosine similarity through the collection's HNSW index. `hnsw.ef_search` (the candidate list,
 * which caps the result count) and iterative scans (which keep filtered searches from coming back short) are set
 * for this statement only, by an InitPlan the index scan depends on, because a pooled connection has no session to
 * `SET` them on. The nearest chunks are found on `rag_chunks` alone; their text and document come after the LIMIT.
 */
export function vectorSearch(sql: Sql, c: Collection, vector: number[], limit: number, filter: SearchRequest['filter']): Hit[] {
  if (vector.length !== c.dimensions) throw dimensionMismatch(c, vector.length);
  const p = new SqlParams();
  const v = p.add(vectorLiteral(vector));
  const ef = p.add(String(Math.max(40, limit * 2)));
  const where = filterSql(filter, p);
  const n = c.dimensions;
  const rows = sql.query(
    `WITH knobs AS MATERIALIZED (
       SELECT set_config('hnsw.ef_search', ${ef}, true) AS ef, set_config('hnsw.iterative_scan', 'relaxed_order', true) AS it
     ), q AS MATERIALIZED (SELECT ${v}::vector(${n}) AS v FROM knobs
     ), nearest AS MATERIALIZED (
       SELECT c.id, c.embedding::vector(${n}) <=> (SELECT v FROM q) AS distance
       FROM rag_chunks c
       WHERE c.collection_id = ${c.id} AND ${documentCheck(where)}
       ORDER BY c.embedding::vector(${n}) <=> (SELECT v FROM q)
       LIMIT ${p.add(BigInt(limit))}
     )
     SELECT ${HIT_COLUMNS}, 1 - nearest.distance AS score
     FROM nearest JOIN rag_chunks c ON c.id = nearest.id ${JOIN_DOCS}`,
    p.values,
  );
  return rows.map(toHit).sort((a, b) => b.score - a.score);
}

/**
 * ts_rank of one lexeme in a tsvector without weights (all D, 0.1) is below 0.1: its positions add 0.1/j², and the
 * sum is divided by π²/6. So a term adds at most 1.1 × idf to a keyword score (a little more, for float rounding).
 */
const TERM_BOUND = 1.1 + 1e-6;
/** Candidate chunks scored in the first round of a keyword search (the postings of its rarest terms). */
const FIRST_ROUND_ROWS = 2000;

interface Term {
  /** The lexeme as a tsquery that matches it and nothing else. */
  tq: string;
  df: number;
  idf: number;
}

/** A lexeme as tsquery input: quoted, so it is one lexeme taken as it is (no parsing, no stemming). */
const tsqueryOf = (lexeme: string) => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * Keyword search: the query's lexemes (the collection's text-search configuration: stemming, stop words) matched
 * with OR, each weighted by its inverse document frequency in the collection (BM25's idf, from `rag_lexemes`), so a
 * rare identifier outweighs common words; `ts_rank` adds a small term-frequency term. Lexemes in more than half of
 * the chunks only score, they do not select candidates, which keeps "how"/"use" from pulling in the whole
 * collection.
 *
 * Scoring every chunk that has one of the words would read a large part of the collection for common words, so the
 * best chunks are found as MaxScore does, with the same results: first the chunks of the rarest terms (up to
 * {@link FIRST_ROUND_ROWS} postings) are scored. A chunk with none of the rarest `k` terms scores at most the sum of
 * the other terms' bounds; once that is below the `limit`-th score found, only chunks with one of those `k` terms
 * can still make the results. If they were all in the first round, its results stand; otherwise a second round
 * scores the chunks of those `k` terms.
 */
export function keywordSearch(sql: Sql, c: Collection, query: string, limit: number, filter: SearchRequest['filter']): Hit[] {
  const stats = sql.query(
    `SELECT t.lexeme, s.df, (SELECT n.df FROM rag_lexemes n WHERE n.collection_id = $1::int8 AND n.lexeme = '') AS total
     FROM (SELECT DISTINCT lexeme FROM unnest(to_tsvector($2::text::regconfig, $3::text))) AS t
     JOIN rag_lexemes s ON s.collection_id = $1::int8 AND s.lexeme = t.lexeme AND s.df > 0`,
    [BigInt(c.id), c.language, query],
  );
  if (stats.length === 0) return [];
  const total = Math.max(Number(stats[0]!.total ?? 0), 1);
  const terms: Term[] = stats
    .map((r) => {
      const df = Number(r.df);
      return { tq: tsqueryOf(String(r.lexeme)), df, idf: Math.log(1 + (total - df + 0.5) / (df + 0.5)) };
    })
    .sort((a, b) => a.df - b.df || (a.tq < b.tq ? -1 : 1));
  const selective = terms.filter((t) => t.df <= total / 2);
  const selecting = selective.length > 0 ? selective : terms;
  // rest[k]: the most a chunk scores with none of the rarest k selecting terms.
  const rest = [terms.filter((t) => !selecting.includes(t)).reduce((sum, t) => sum + TERM_BOUND * t.idf, 0)];
  for (let i = selecting.length - 1; i >= 0; i--) rest.unshift(rest[0]! + TERM_BOUND * selecting[i]!.idf);

  let first = 1;
  for (let rows = selecting[0]!.df; first < selecting.length && rows + selecting[first]!.df <= FIRST_ROUND_ROWS; first++) {
    rows += selecting[first]!.df;
  }
  const hits = scoreChunks(sql, c, terms, selecting.slice(0, first), limit, filter);
  if (first === selecting.length) return hits;
  const threshold = hits.length >= limit ? hits[limit - 1]!.score : 0;
  let needed = 1;
  while (needed < selecting.length && rest[needed]! >= threshold) needed++;
  return needed <= first ? hits : scoreChunks(sql, c, terms, selecting.slice(0, needed), limit, filter);
}

/** The `limit` best chunks, by score, among those with one of the `selecting` terms (and passing the filter). */
function scoreChunks(sql: Sql, c: Collection, terms: Term[], selecting: Term[], limit: number, filter: SearchRequest['filter']): Hit[] {
  const p = new SqlParams();
  const weights = p.add(JSON.stringify(terms.map((t) => ({ q: t.tq, idf: t.idf }))), 'jsonb');
  const select = p.add(selecting.map((t) => t.tq).join(' | '));
  const where = filterSql(filter, p);
  const rows = sql.query(
    `WITH w AS MATERIALIZED (
       SELECT x.q::tsquery AS tq, x.idf FROM jsonb_to_recordset(${weights}) AS x(q text, idf float8)
     ), best AS MATERIALIZED (
       SELECT c.id, c.document_id, c.ord,
         (SELECT sum(w.idf * (1 + ts_rank(c.tsv, w.tq))) FROM w WHERE c.tsv @@ w.tq) AS score
       FROM rag_chunks c
       WHERE c.collection_id = ${c.id} AND c.tsv @@ ${select}::tsquery AND ${documentCheck(where)}
       ORDER BY score DESC, c.document_id, c.ord
       LIMIT ${p.add(BigInt(limit))}
     )
     SELECT ${HIT_COLUMNS}, best.score
     FROM best JOIN rag_chunks c ON c.id = best.id ${JOIN_DOCS}
     ORDER BY best.score DESC, best.document_id, best.ord`,
    p.values,
  );
  return rows.map(toHit);
}

/**
 * Fuses ranked lists by score: each list's scores are min-max normalised (its best hit 1, its worst 0, all 1 when they
 * are equal), a hit missing from a list counts 0 there, and the fused score is the mean, so 1 = first in every list.
 * Unlike reciprocal-rank fusion this keeps how far a list's leader is ahead: keyword search often has one clear,
 * idf-weighted winner where the offline embeddings' cosines are near-ties, and rank fusion let those near-ties
 * outvote it (see test/fixtures/rag-eval/README.md).
 */
export function fuse(lists: Hit[][]): Hit[] {
  const byKey = new Map<string, { hit: Hit; sum: number }>();
  for (const list of lists) {
    const scores = list.map((h) => h.score).filter(Number.isFinite); // a zero vector's cosine is NaN
    const min = Math.min(...scores);
    const range = Math.max(...scores) - min;
    for (const hit of list) {
      const key = `${hit.documentId}\u0000${hit.ord}`;
      const entry = byKey.get(key) ?? { hit, sum: 0 };
      entry.sum += !Number.isFinite(hit.score) ? 0 : range > 0 ? (hit.score - min) / range : 1;
      byKey.set(key, entry);
    }
  }
  return [...byKey.values()].map((e) => ({ ...e.hit, score: e.sum / lists.length })).sort(byScore);
}

/** Reciprocal-rank fusion's constant: the literature's usual value, not tuned on the project's eval set. */
export const RRF_K = 60;

/** Fuses ranked lists by reciprocal rank (`fusion: "rrf"`); scaled so that first place in every list is 1. */
export function fuseRanks(lists: Hit[][], k = RRF_K): Hit[] {
  const byKey = new Map<string, { hit: Hit; rrf: number }>();
  for (const list of lists) {
    list.forEach((hit, i) => {
      const key = `${hit.documentId}\u0000${hit.ord}`;
      const entry = byKey.get(key) ?? { hit, rrf: 0 };
      entry.rrf += 1 / (k + i + 1);
      byKey.set(key, entry);
    });
  }
  const best = lists.length / (k + 1);
  return [...byKey.values()].map((e) => ({ ...e.hit, score: e.rrf / best })).sort(byScore);
}

/** Best first; ties by document, then chunk, so equal scores come back in a stable order. */
function byScore(a: Hit, b: Hit): number {
  return b.score - a.score || (a.documentId < b.documentId ? -1 : a.documentId > b.documentId ? 1 : a.ord - b.ord);
}

function sourceOf(c: Collection, h: Hit): string {
  const m = h.metadata;
  if (typeof m.source === 'string' && m.source !== '') return m.source;
  if (typeof m.path === 'string' && m.path !== '') return m.path;
  return `${c.name}/${h.documentId}`;
}

export interface SearchOutcome {
  mode: SearchMode;
  results: SearchResult[];
  embeddingModel?: string;
}

/** Searches a collection in the requested mode (hybrid by default). */
export async function search(sql: Sql, c: Collection, req: SearchRequest, embedder: Embedder): Promise<SearchOutcome> {
  if (req.embeddingModel !== undefined && req.embeddingModel !== c.embeddingModel && req.embeddingModel !== c.resolvedModel) {
    throw modelMismatch(c, req.embeddingModel);
  }
  const mode: SearchMode = req.mode ?? (req.query ? 'hybrid' : 'vector');
  const topK = req.topK ?? 5;
  const query = req.query?.trim() ?? '';
  if (req.fusion !== undefined && mode !== 'hybrid') {
    throw new HttpError(400, 'invalid_request', `fusion applies to hybrid search only, not to ${mode} search`);
  }
  if (mode !== 'vector' && query === '') {
    throw new HttpError(400, 'invalid_request', `${mode} search needs a query text`);
  }
  if (req.embedding && req.embedding.length !== c.dimensions) throw dimensionMismatch(c, req.embedding.length);
  const pool = mode === 'hybrid' ? Math.max(topK * 4, 40) : topK;
  let vector: number[] | undefined = req.embedding;
  let model: string | undefined;
  if (mode !== 'keyword' && !vector) {
    const e = await embedder([query], c.embeddingModel, c.dimensions);
    checkEmbeddings(c, e);
    vector = e.vectors[0]!;
    model = e.model;
  }
  let hits: Hit[];
  try {
    if (mode === 'vector') hits = vectorSearch(sql, c, vector!, pool, req.filter);
    else if (mode === 'keyword') hits = keywordSearch(sql, c, query, pool, req.filter);
    else {
      const lists = [vectorSearch(sql, c, vector!, pool, req.filter), keywordSearch(sql, c, query, pool, req.filter)];
      hits = req.fusion === 'rrf' ? fuseRanks(lists) : fuse(lists);
    }
  } catch (err) {
    if (/different vector dimensions|expected \d+ dimensions/.test(queryFailure(err) ?? ''))
      throw dimensionMismatch(c, vector?.length ?? 0);
    throw err;
  }
  const results = hits
    .filter((h) => req.minScore === undefined || h.score >= req.minScore)
    .slice(0, topK)
    .map((h): SearchResult => ({
      documentId: h.documentId,
      chunkId: `${h.documentId}#${h.ord}`,
      index: h.ord,
      score: Math.round(h.score * 1e6) / 1e6,
      text: h.text,
      title: h.title,
      headings: h.headings,
      metadata: h.metadata,
      source: sourceOf(c, h),
    }));
  return { mode, results, ...(model ? { embeddingModel: model } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------------
// Reasoning bank

export interface Trajectory {
  id: string;
  agent: string;
  task: string;
  approach: string;
  outcome: string;
  score: number;
  metadata: Record<string, unknown>;
  model: string;
  createdAt: string;
}

const TRAJECTORY_COLUMNS = `id, agent, task, approach, outcome, score, metadata::text AS metadata, model, ${ISO('created_at')} AS created_at`;

function toTrajectory(r: Row): Trajectory {
  return {
    id: String(r.id),
    agent: String(r.agent),
    task: String(r.task),
    approach: String(r.approach),
    outcome: String(r.outcome),
    score: Number(r.score),
    metadata: json(r.metadata, {}),
    model: String(r.model),
    createdAt: String(r.created_at),
  };
}

function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Stores a trajectory; its task is embedded, so later tasks find it by similarity. */
export async function storeTrajectory(sql: Sql, input: StoreReasoning, embedder: Embedder): Promise<Trajectory> {
  const e = await embedder([input.task], DEFAULT_EMBEDDING_MODEL);
  const v = e.vectors[0]!;
  const id = newId();
  const row = sql.query(
    `INSERT INTO rag_reasoning (id, agent, task, approach, outcome, score, metadata, model, dimensions, embedding)
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::float8, $7::text::jsonb, $8::text, $9::int8::int, $10::text::vector)
     RETURNING ${TRAJECTORY_COLUMNS}`,
    [
      id,
      input.agent,
      input.task,
      input.approach,
      input.outcome ?? (input.score >= 0.5 ? 'success' : 'failure'),
      input.score,
      JSON.stringify(input.metadata ?? {}),
      e.model,
      BigInt(v.length),
      vectorLiteral(v),
    ],
  )[0]!;
  return toTrajectory(row);
}

/**
 * Trajectories whose task is most similar to the query, among those embedded by the model the router uses now
 * (vectors of another model are not comparable, so they are skipped rather than mis-ranked).
 */
export async function searchTrajectories(
  sql: Sql,
  req: SearchReasoning,
  embedder: Embedder,
): Promise<{ results: (Trajectory & { similarity: number })[]; embeddingModel: string }> {
  const e = await embedder([req.query], DEFAULT_EMBEDDING_MODEL);
  const v = e.vectors[0]!;
  const p = new SqlParams();
  const q = p.add(vectorLiteral(v));
  const where = [`model = ${p.add(e.model)}`, `dimensions = ${p.add(BigInt(v.length))}::int`];
  if (req.agent) where.push(`agent = ${p.add(req.agent)}`);
  if (req.outcome) where.push(`outcome = ${p.add(req.outcome)}`);
  if (req.minScore !== undefined) where.push(`score >= ${p.add(req.minScore)}`);
  const rows = sql.query(
    `SELECT ${TRAJECTORY_COLUMNS}, 1 - (embedding <=> ${q}::vector) AS similarity FROM rag_reasoning
     WHERE ${where.join(' AND ')} ORDER BY embedding <=> ${q}::vector, created_at DESC LIMIT ${p.add(BigInt(req.topK ?? 5))}`,
    p.values,
  );
  const results = rows
    .map((r) => ({ ...toTrajectory(r), similarity: Math.round(Number(r.similarity) * 1e6) / 1e6 }))
    .filter((t) => req.minSimilarity === undefined || t.similarity >= req.minSimilarity);
  return { results, embeddingModel: e.model };
}

export function getTrajectory(sql: Sql, id: string): Trajectory {
  const row = sql.query(`SELECT ${TRAJECTORY_COLUMNS} FROM rag_reasoning WHERE id = $1::text`, [id])[0];
  if (!row) throw new HttpError(404, 'not_found', `no trajectory '${id}'`);
  return toTrajectory(row);
}

export function deleteTrajectory(sql: Sql, id: string): void {
  if (sql.execute('DELETE FROM rag_reasoning WHERE id = $1::text', [id]) === 0)
    throw new HttpError(404, 'not_found', `no trajectory '${id}'`);
}
