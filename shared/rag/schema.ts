/**
 * The knowledge schema and its migration, run by the component on first use (see `ensureSchema`).
 *
 * Layout: `rag_collections` (one embedding model and dimension each) → `rag_documents` → `rag_chunks`, deletes
 * cascading down. `rag_chunks.embedding` is an unsized `vector` because collections differ in dimension; each
 * collection gets its own partial HNSW index over `embedding::vector(<dims>)` (created with the collection), which is
 * what searches with that cast and `collection_id = <id>` use. Full text is a `tsvector` column with a GIN index,
 * computed with the collection's text-search configuration. A document's chunks carry its `generation`: a re-ingest
 * writes the next generation and deletes older ones in the same statement, and searches join on the current one, so
 * a reader never sees a mix. `rag_lexemes` holds each collection's document frequencies (chunks per lexeme, and
 * under the empty lexeme, which no text-search configuration produces, the chunk count), kept by the statements
 * that write chunks, so keyword search reads its idf weights instead of counting matches on every query.
 *
 * Versions: 1 the tables above; 2 adds `rag_lexemes`, filled from the existing chunks when it is created.
 *
 * @module
 */

export const SCHEMA_VERSION = 2;

/**
 * pgvector HNSW build parameters. Smaller than pgvector's defaults (m 16, ef_construction 64): on the embedded
 * PGlite (WebAssembly, one thread) an insert costs ~4 ms with these against ~9 ms with m 16 (measured, 384 dims).
 */
const HNSW_WITH = 'WITH (m = 8, ef_construction = 32)';

/** One statement (a DO block): atomic, and serialized by an advisory lock held until it commits. */
export const MIGRATION = `DO $migration$
BEGIN
  PERFORM pg_advisory_xact_lock(727001);
  -- Nested, because an expression naming a missing table fails to plan even behind a false AND.
  IF to_regclass('rag_schema') IS NOT NULL THEN
    IF (SELECT coalesce(max(version), 0) FROM rag_schema) >= ${SCHEMA_VERSION} THEN
      RETURN;
    END IF;
  END IF;
  CREATE EXTENSION IF NOT EXISTS vector;
  CREATE TABLE IF NOT EXISTS rag_schema (version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());

  CREATE TABLE IF NOT EXISTS rag_collections (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    embedding_model text NOT NULL,
    resolved_model text NOT NULL,
    dimensions int NOT NULL CHECK (dimensions BETWEEN 1 AND 2000),
    chunk_size int NOT NULL,
    chunk_overlap int NOT NULL,
    language text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE IF NOT EXISTS rag_documents (
    collection_id bigint NOT NULL REFERENCES rag_collections (id) ON DELETE CASCADE,
    id text NOT NULL,
    title text,
    content text NOT NULL,
    content_type text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    content_hash text NOT NULL,
    generation bigint NOT NULL DEFAULT 1,
    chunk_count int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, id)
  );
  CREATE INDEX IF NOT EXISTS rag_documents_metadata ON rag_documents USING gin (metadata jsonb_path_ops);

  CREATE TABLE IF NOT EXISTS rag_chunks (
    id bigserial PRIMARY KEY,
    collection_id bigint NOT NULL,
    document_id text NOT NULL,
    generation bigint NOT NULL,
    ord int NOT NULL,
    text text NOT NULL,
    headings jsonb NOT NULL DEFAULT '[]',
    embedding vector NOT NULL,
    tsv tsvector NOT NULL,
    FOREIGN KEY (collection_id, document_id) REFERENCES rag_documents (collection_id, id) ON DELETE CASCADE
  );
  CREATE INDEX IF NOT EXISTS rag_chunks_document ON rag_chunks (collection_id, document_id, generation, ord);
  CREATE INDEX IF NOT EXISTS rag_chunks_tsv ON rag_chunks USING gin (tsv);

  IF to_regclass('rag_lexemes') IS NULL THEN
    CREATE TABLE rag_lexemes (
      collection_id bigint NOT NULL REFERENCES rag_collections (id) ON DELETE CASCADE,
      lexeme text NOT NULL,
      df int NOT NULL,
      PRIMARY KEY (collection_id, lexeme)
    );
    INSERT INTO rag_lexemes (collection_id, lexeme, df)
    SELECT collection_id, t.lexeme, count(*) FROM rag_chunks, unnest(tsv) AS t GROUP BY collection_id, t.lexeme
    UNION ALL
    SELECT collection_id, '', count(*) FROM rag_chunks GROUP BY collection_id;
  END IF;

  CREATE TABLE IF NOT EXISTS rag_reasoning (
    id text PRIMARY KEY,
    agent text NOT NULL,
    task text NOT NULL,
    approach text NOT NULL,
    outcome text NOT NULL,
    score float8 NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    model text NOT NULL,
    dimensions int NOT NULL,
    embedding vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS rag_reasoning_agent ON rag_reasoning (agent, created_at);

  -- Creating a collection and its vector index is one call, so a collection never exists without its index.
  CREATE OR REPLACE FUNCTION rag_create_collection(p_name text, p_description text, p_model text, p_resolved text,
      p_dimensions int, p_chunk_size int, p_chunk_overlap int, p_language text) RETURNS bigint
  LANGUAGE plpgsql AS $fn$
  DECLARE cid bigint;
  BEGIN
    PERFORM p_language::regconfig;
    INSERT INTO rag_collections (name, description, embedding_model, resolved_model, dimensions, chunk_size, chunk_overlap, language)
    VALUES (p_name, p_description, p_model, p_resolved, p_dimensions, p_chunk_size, p_chunk_overlap, p_language)
    ON CONFLICT (name) DO NOTHING
    RETURNING id INTO cid;
    IF cid IS NULL THEN
      RETURN NULL;
    END IF;
    EXECUTE format('CREATE INDEX %I ON rag_chunks USING hnsw ((embedding::vector(%s)) vector_cosine_ops) ${HNSW_WITH} WHERE collection_id = %s',
      'rag_chunks_hnsw_' || cid, p_dimensions, cid);
    RETURN cid;
  END
  $fn$;

  CREATE OR REPLACE FUNCTION rag_drop_collection(p_name text) RETURNS bigint
  LANGUAGE plpgsql AS $fn$
  DECLARE cid bigint;
  BEGIN
    DELETE FROM rag_collections WHERE name = p_name RETURNING id INTO cid;
    IF cid IS NOT NULL THEN
      EXECUTE format('DROP INDEX IF EXISTS %I', 'rag_chunks_hnsw_' || cid);
    END IF;
    RETURN cid;
  END
  $fn$;

  INSERT INTO rag_schema (version) VALUES (${SCHEMA_VERSION});
END
$migration$`;
