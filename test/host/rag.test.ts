/**
 * The `rag` component over HTTP on the host, with the real llm-router (its built-in offline provider: 384-dimension
 * lexical embeddings) and a real Postgres with pgvector: the embedded PGlite, and a second, separate database server
 * reached by a plain postgres:// URL (the machine's Postgres when `CREATE EXTENSION vector` works there, else a second
 * PGlite socket server; the test prints which).
 *
 * Covered: schema migration under concurrent first requests, collections, ingest (Markdown, text, JSON), idempotent
 * re-ingest, search in all modes, metadata filters, hostile filters and ids, deletes with cascade, the reasoning bank,
 * scopes, and 400/404/405/409/413/422/503 answers; after every test block the stored data is checked for
 * consistency (each document has exactly its chunks).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../host/pglite.ts';
import { APPS } from '../helpers/apps.ts';
import { memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

const REAL_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
const cleanups: (() => Promise<void> | void)[] = [];

async function startRag(databaseUrl: string, databaseHost: string, extra: [string, string][] = []): Promise<TestApp> {
  const rc = memoryRuntimeConfig();
  cleanups.push(rc.remove);
  const app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: new Map([['database_url', databaseUrl], ['database_host', databaseHost], ['localai_url', 'http://127.0.0.1:9'], ...extra]),
  });
  cleanups.push(() => app.close());
  return app;
}

interface Answer {
  status: number;
  // JSON answers of many shapes, read by the assertions that check them.
  // oxlint-disable-next-line typescript/no-explicit-any
  body: any;
}

function client(app: () => TestApp, key?: string) {
  return async (method: string, path: string, body?: unknown, raw?: string): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    const res = await fetch(`${app().url}/api/v1/knowledge${path}`, {
      method,
      headers,
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // keep the text
    }
    return { status: res.status, body: parsed };
  };
}

/** Every document's chunk_count equals its current-generation chunks, and no chunk is left without a document. */
async function assertConsistent(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const bad = await c.query(
      `SELECT d.id, d.chunk_count, (SELECT count(*) FROM rag_chunks x WHERE x.collection_id = d.collection_id AND x.document_id = d.id AND x.generation = d.generation) AS n
       FROM rag_documents d`,
    );
    for (const r of bad.rows as { id: string; chunk_count: number; n: string }[])
      expect(Number(r.n), `chunks of ${r.id}`).toBe(r.chunk_count);
    const orphans = await c.query(
      'SELECT count(*) AS n FROM rag_chunks x WHERE NOT EXISTS (SELECT 1 FROM rag_documents d WHERE d.collection_id = x.collection_id AND d.id = x.document_id)',
    );
    expect(Number((orphans.rows[0] as { n: string }).n)).toBe(0);
    // Keyword search's document frequencies (and chunk count, under '') are those of the stored chunks.
    const drift = await c.query(
      `SELECT count(*) AS n FROM (
         SELECT collection_id, t.lexeme, count(*)::int AS df FROM rag_chunks, unnest(tsv) AS t GROUP BY 1, 2
         UNION ALL SELECT collection_id, '', count(*)::int FROM rag_chunks GROUP BY 1
       ) AS counted FULL JOIN (SELECT * FROM rag_lexemes WHERE df <> 0) AS kept USING (collection_id, lexeme)
       WHERE counted.df IS DISTINCT FROM kept.df`,
    );
    expect(Number((drift.rows[0] as { n: string }).n), 'rag_lexemes rows that differ from a recount').toBe(0);
  } finally {
    await c.end();
  }
}

const NOTE = `---
title: Postgres tuning
tags: [databases]
team: platform
---
# Postgres tuning

Increase shared_buffers to about a quarter of the machine's RAM. See [[Indexes]] and [[Vacuum|the vacuum note]]. #performance

## Vacuum

Autovacuum must keep up with dead tuples, or tables bloat.

\`\`\`sql
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.01);
\`\`\`
`;

const DOCS = [
  { id: 'notes/postgres.md', content: NOTE, metadata: { year: 2024, lang: 'en' } },
  {
    id: 'rust',
    contentType: 'text',
    content: 'Rust ownership: every value has exactly one owner. Borrowing lends a reference without moving the value.',
    metadata: { year: 2021, lang: 'en', tags: ['languages', 'rust'] },
  },
  {
    id: 'kube.json',
    contentType: 'application/json',
    content: JSON.stringify({ probe: { readiness: 'gates traffic from Services', liveness: 'restarts a stuck container' } }),
    metadata: { year: 2019, lang: 'de', tags: ['kubernetes'] },
  },
];

/** The behaviour every database must show; `ctx` is filled in by the suite's beforeAll. */
function coreSuite(ctx: { app?: TestApp; url?: string }) {
  const call = client(() => ctx.app!);

  it('creates the schema once under concurrent first requests', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => call('GET', '/health')));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(answers[0]!.body).toEqual({ status: 'ok', schemaVersion: 2 });
  });

  it('creates, lists and gets collections; a collection is fixed to the model that answered', async () => {
    const created = await call('POST', '/collections', {
      name: 'notes',
      embeddingModel: 'builtin/offline',
      chunkSize: 400,
      chunkOverlap: 50,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'notes',
      embeddingModel: 'builtin/offline',
      resolvedModel: 'builtin/offline',
      dimensions: 384,
      chunkSize: 400,
    });
    // The default alias `embed` falls back to the offline provider here (no model server), and says so.
    const byAlias = await call('POST', '/collections', { name: 'by-alias' });
    expect(byAlias.body).toMatchObject({ embeddingModel: 'embed', resolvedModel: 'builtin/offline', dimensions: 384 });
    expect((await call('POST', '/collections', { name: 'notes' })).status).toBe(409);
    expect((await call('POST', '/collections', { name: 'Bad Name!' })).status).toBe(400);
    expect((await call('POST', '/collections', { name: 'x', chunkSize: 200, chunkOverlap: 150 })).status).toBe(400);
    expect((await call('POST', '/collections', { name: 'x', embeddingModel: 'builtin/offline', dimensions: 3000 })).status).toBe(400);
    const list = await call('GET', '/collections');
    expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(['by-alias', 'notes']);
    expect((await call('GET', '/collections/nope')).status).toBe(404);
    expect((await call('PUT', '/collections/notes')).status).toBe(405);
  });

  it('ingests Markdown, text and JSON; re-ingesting the same content changes nothing', async () => {
    for (const d of DOCS) {
      const r = await call('POST', '/collections/notes/documents', d);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ id: d.id, unchanged: false, created: true });
      expect(r.body.chunks).toBeGreaterThan(0);
    }
    const again = await call('POST', '/collections/notes/documents', DOCS[0]);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: 'notes/postgres.md', unchanged: true });
    const doc = await call('GET', `/collections/notes/documents/${encodeURIComponent('notes/postgres.md')}?include=chunks`);
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({ title: 'Postgres tuning', contentType: 'markdown', content: NOTE });
    expect(doc.body.metadata).toMatchObject({
      team: 'platform',
      year: 2024,
      tags: ['databases', 'performance'],
      links: ['Indexes', 'Vacuum'],
    });
    expect(doc.body.chunkList.map((c: { headings: string[] }) => c.headings)).toEqual([['Postgres tuning'], ['Postgres tuning', 'Vacuum']]);
    expect(doc.body.chunkList[1].text).toContain('```sql\nALTER TABLE events');
    // Without an id the content hash names the document, so the same content is the same document.
    const a = await call('POST', '/collections/notes/documents', { content: 'anonymous note', contentType: 'text' });
    const b = await call('POST', '/collections/notes/documents', { content: 'anonymous note', contentType: 'text' });
    expect(a.status).toBe(201);
    expect(b.body).toMatchObject({ id: a.body.id, unchanged: true });
    expect((await call('DELETE', `/collections/notes/documents/${a.body.id}`)).status).toBe(204);
    await assertConsistent(ctx.url!);
  });

  it('replaces a changed document: new chunks in, old chunks out, in one statement', async () => {
    const changed = { ...DOCS[1], content: `${DOCS[1]!.content} Lifetimes say how long references live.` };
    const r = await call('POST', '/collections/notes/documents', changed);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ unchanged: false, created: false });
    const hits = await call('POST', '/collections/notes/search', { query: 'lifetimes references', mode: 'keyword' });
    expect(hits.body.results.filter((h: { documentId: string }) => h.documentId === 'rust')).toHaveLength(1);
    await assertConsistent(ctx.url!);
  });

  it('lists documents in pages with their content hashes', async () => {
    const first = await call('GET', '/collections/notes/documents?limit=2');
    expect(first.body.items.map((d: { id: string }) => d.id)).toEqual(['kube.json', 'notes/postgres.md']);
    expect(first.body.items[0].contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const second = await call('GET', `/collections/notes/documents?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ items: [{ id: 'rust' }], nextCursor: null });
    expect((await call('GET', '/collections/notes/documents?prefix=notes/')).body.items).toHaveLength(1);
    expect((await call('GET', '/collections/notes/documents?cursor=%%%')).status).toBe(400);
    expect((await call('GET', '/collections/notes/documents?limit=0')).status).toBe(400);
  });

  it('searches in vector, keyword and hybrid mode; every result names its document, chunk, score and source', async () => {
    for (const mode of ['vector', 'keyword', 'hybrid']) {
      const r = await call('POST', '/collections/notes/search', { query: 'increase shared_buffers to a quarter of RAM', mode, topK: 3 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.mode).toBe(mode);
      const top = r.body.results[0];
      expect(top).toMatchObject({
        documentId: 'notes/postgres.md',
        chunkId: 'notes/postgres.md#0',
        index: 0,
        source: 'notes/notes/postgres.md',
      });
      expect(top.text).toContain('shared_buffers');
      expect(typeof top.score).toBe('number');
      expect(top.metadata.team).toBe('platform');
      expect(r.body.results.length).toBeLessThanOrEqual(3);
    }
    // Default mode is hybrid; a paraphrase finds the JSON document through its flattened keys.
    const json = await call('POST', '/collections/notes/search', { query: 'readiness gates traffic' });
    expect(json.body.mode).toBe('hybrid');
    expect(json.body.results[0].documentId).toBe('kube.json');
    expect(json.body.results[0].text).toContain('probe.readiness: gates traffic from Services');
    // minScore drops weak hits; a query vector of the right size is accepted.
    const strict = await call('POST', '/collections/notes/search', { query: 'shared_buffers', mode: 'vector', minScore: 0.99 });
    expect(strict.body.results).toEqual([]);
    const byVector = await call('POST', '/collections/notes/search', { embedding: Array(384).fill(0.05), topK: 2 });
    expect(byVector.status).toBe(200);
    expect(byVector.body.results).toHaveLength(2);
    // Both fusions find the document that leads both lists and score it 1; other scores stay below.
    for (const fusion of ['score', 'rrf']) {
      const fused = await call('POST', '/collections/notes/search', { query: 'increase shared_buffers to a quarter of RAM', fusion });
      expect(fused.status, JSON.stringify(fused.body)).toBe(200);
      expect(fused.body.results[0]).toMatchObject({ documentId: 'notes/postgres.md', score: 1 });
      for (const r of fused.body.results.slice(1)) expect(r.score).toBeLessThan(1);
    }
  });

  it('filters on metadata: equality, array membership, in, ne, ranges, exists', async () => {
    const ids = async (filter: unknown) => {
      const r = await call('POST', '/collections/notes/search', { query: 'value owner traffic buffers', mode: 'vector', topK: 20, filter });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return [...new Set(r.body.results.map((h: { documentId: string }) => h.documentId))].sort();
    };
    expect(await ids({ lang: 'en' })).toEqual(['notes/postgres.md', 'rust']);
    expect(await ids({ tags: 'rust' })).toEqual(['rust']);
    expect(await ids({ tags: { in: ['kubernetes', 'databases'] } })).toEqual(['kube.json', 'notes/postgres.md']);
    expect(await ids({ lang: { ne: 'en' } })).toEqual(['kube.json']);
    expect(await ids({ year: { gte: 2020, lt: 2024 } })).toEqual(['rust']);
    expect(await ids({ team: { exists: true } })).toEqual(['notes/postgres.md']);
    expect(await ids({ lang: 'en', year: 2021 })).toEqual(['rust']);
    expect(await ids({ lang: 'fr' })).toEqual([]);
    const bad = await call('POST', '/collections/notes/search', { query: 'x', filter: { year: { $where: '1' } } });
    expect(bad.status).toBe(400);
  });

  it('cannot be injected through filter keys, filter values, ids or queries', async () => {
    const payloads = [
      "'; DROP TABLE rag_chunks; --",
      "x') OR 1=1 --",
      '"; DELETE FROM rag_documents; --',
      "' || (SELECT pg_sleep(3)) || '",
      '$1::text); DROP TABLE rag_collections; --',
    ];
    for (const p of payloads) {
      for (const mode of ['vector', 'keyword', 'hybrid']) {
        const r = await call('POST', '/collections/notes/search', {
          query: p,
          mode,
          filter: { [p]: p, lang: { in: [p, 'en'] }, year: { gte: p } },
        });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.results).toEqual([]);
      }
      const doc = await call('POST', '/collections/notes/documents', {
        id: p,
        content: `payload ${p}`,
        contentType: 'text',
        metadata: { [p]: p },
      });
      expect(doc.status).toBe(201);
      const back = await call('GET', `/collections/notes/documents/${encodeURIComponent(p)}`);
      expect(back.body).toMatchObject({ id: p, metadata: { [p]: p } });
      const found = await call('POST', '/collections/notes/search', { query: 'payload', mode: 'keyword', topK: 20, filter: { [p]: p } });
      expect(found.body.results.map((h: { documentId: string }) => h.documentId)).toEqual([p]);
      expect((await call('DELETE', `/collections/notes/documents/${encodeURIComponent(p)}`)).status).toBe(204);
      expect((await call('GET', `/collections/${encodeURIComponent(p)}`)).status).toBe(400);
    }
    // Everything is still there.
    expect((await call('GET', '/collections/notes')).body).toMatchObject({ documents: 3 });
    await assertConsistent(ctx.url!);
  });

  it('answers 400, 404, 409, 413 and 422 for bad input and leaves the data alone', async () => {
    const doc = (body: unknown, raw?: string) => call('POST', '/collections/notes/documents', body, raw);
    expect((await doc(undefined, '{"content": ')).status).toBe(400);
    expect((await doc({ content: '' })).status).toBe(400);
    expect((await doc({ content: 'x', contentType: 'pdf' })).status).toBe(400);
    expect((await doc({ content: '{broken', contentType: 'json' })).body.error.code).toBe('invalid_request');
    expect((await doc({ content: 'x', extra: 1 })).status).toBe(400);
    expect((await call('POST', '/collections/missing/documents', { content: 'x' })).status).toBe(404);
    expect((await call('POST', '/collections/missing/search', { query: 'x' })).status).toBe(404);
    expect((await call('GET', '/collections/notes/documents/missing')).status).toBe(404);
    expect((await call('DELETE', '/collections/notes/documents/missing')).status).toBe(404);
    const otherModel = await call('POST', '/collections/notes/search', { query: 'x', embeddingModel: 'local/all-minilm-l6-v2' });
    expect(otherModel.status).toBe(409);
    expect(otherModel.body.error.code).toBe('embedding_model_mismatch');
    expect((await doc({ content: 'x', embeddingModel: 'cloud/text-embedding-3-small' })).status).toBe(409);
    const dims = await call('POST', '/collections/notes/search', { embedding: [0.1, 0.2, 0.3] });
    expect(dims.status).toBe(422);
    expect(dims.body.error.code).toBe('dimension_mismatch');
    expect((await call('POST', '/collections/notes/search', { query: 'x', mode: 'hybrid', embedding: [1, 2] })).status).toBe(422);
    const big = await doc({ id: 'big', content: 'word '.repeat(450_000), contentType: 'text' });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('document_too_large');
    const huge = await doc({ id: 'huge', content: 'x'.repeat(5 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    expect((await call('GET', '/collections/notes/documents/big')).status).toBe(404);
    expect((await call('POST', '/collections/notes/search', { query: '' })).status).toBe(400);
    expect((await call('POST', '/collections/notes/search', { query: 'x', topK: 1000 })).status).toBe(400);
    expect((await call('POST', '/collections/notes/search', { query: 'x', fusion: 'max' })).status).toBe(400);
    const notHybrid = await call('POST', '/collections/notes/search', { query: 'x', mode: 'keyword', fusion: 'rrf' });
    expect(notHybrid.status).toBe(400);
    expect(notHybrid.body.error.message).toMatch(/hybrid search only/);
    expect((await call('GET', '/collections/notes')).body).toMatchObject({ documents: 3 });
  });

  it('stores and recalls reasoning trajectories', async () => {
    const stored = await call('POST', '/reasoning', {
      agent: 'coder/ada',
      task: 'Fix the flaky login integration test',
      approach: 'The test raced the session store; awaited the write before asserting.',
      outcome: 'success',
      score: 0.9,
      metadata: { repo: 'web' },
    });
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ agent: 'coder/ada', outcome: 'success', score: 0.9, model: 'builtin/offline' });
    await call('POST', '/reasoning', {
      agent: 'coder/bob',
      task: 'Write a SQL migration adding an index',
      approach: 'CREATE INDEX CONCURRENTLY',
      score: 0.7,
    });
    await call('POST', '/reasoning', { agent: 'coder/ada', task: 'Fix a flaky login test on CI', approach: 'retried blindly', score: 0.1 });
    const found = await call('POST', '/reasoning/search', { query: 'the login test is flaky', topK: 3 });
    expect(found.status).toBe(200);
    expect(found.body.results[0].task).toContain('login');
    expect(found.body.results[0].similarity).toBeGreaterThan(found.body.results[2].similarity);
    const good = await call('POST', '/reasoning/search', { query: 'the login test is flaky', minScore: 0.5, agent: 'coder/ada' });
    expect(good.body.results.map((t: { id: string }) => t.id)).toEqual([stored.body.id]);
    expect((await call('GET', `/reasoning/${stored.body.id}`)).body).toMatchObject({ approach: stored.body.approach });
    expect((await call('DELETE', `/reasoning/${stored.body.id}`)).status).toBe(204);
    expect((await call('GET', `/reasoning/${stored.body.id}`)).status).toBe(404);
    expect((await call('POST', '/reasoning', { agent: 'a', task: 't', approach: 'x', score: 2 })).status).toBe(400);
  });

  it('deletes a document and a collection with everything under it', async () => {
    expect((await call('DELETE', '/collections/notes/documents/rust')).status).toBe(204);
    const r = await call('POST', '/collections/notes/search', { query: 'ownership borrowing', mode: 'keyword' });
    expect(r.body.results.map((h: { documentId: string }) => h.documentId)).not.toContain('rust');
    expect((await call('DELETE', '/collections/notes')).status).toBe(204);
    expect((await call('GET', '/collections/notes')).status).toBe(404);
    expect((await call('DELETE', '/collections/notes')).status).toBe(404);
    const c = new pg.Client({ connectionString: ctx.url! });
    await c.connect();
    const left = await c.query(`SELECT (SELECT count(*) FROM rag_documents) AS d, (SELECT count(*) FROM rag_chunks) AS c,
      (SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'rag_chunks_hnsw_%') AS i`);
    await c.end();
    // `by-alias` remains, empty, with its index.
    expect(left.rows[0]).toEqual({ d: '0', c: '0', i: '1' });
  });
}

describe('rag on the embedded PGlite', () => {
  const ctx: { app?: TestApp; url?: string; db?: EmbeddedPostgres } = {};
  beforeAll(async () => {
    ctx.db = await startEmbeddedPostgres();
    cleanups.push(() => ctx.db!.close());
    ctx.url = ctx.db.url;
    ctx.app = await startRag(ctx.db.url, `postgres://127.0.0.1:${ctx.db.port}`);
  });
  coreSuite(ctx);
});

describe('rag on a second database server by plain postgres:// URL', () => {
  const ctx: { app?: TestApp; url?: string } = {};
  beforeAll(async () => {
    // The machine's Postgres is the natural second server, but it is only usable with pgvector installed.
    const probe = new pg.Client({ connectionString: REAL_PG });
    let reason = '';
    try {
      await probe.connect();
      await probe.query('BEGIN');
      await probe.query('CREATE EXTENSION IF NOT EXISTS vector');
      await probe.query('ROLLBACK');
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    } finally {
      await probe.end().catch(() => {});
    }
    if (reason === '') {
      const admin = new pg.Client({ connectionString: REAL_PG });
      await admin.connect();
      const name = `rag_test_${process.pid}_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      cleanups.push(async () => {
        const a = new pg.Client({ connectionString: REAL_PG });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      });
      ctx.url = `postgres://postgres@127.0.0.1:5432/${name}`;
      console.warn(`\n*** rag: second database = the machine's Postgres (${ctx.url}), which has pgvector ***\n`);
    } else {
      const second = await startEmbeddedPostgres();
      cleanups.push(() => second.close());
      ctx.url = second.url;
      console.warn(
        `\n*** rag: the machine's Postgres at 127.0.0.1:5432 has no pgvector (${reason}); ` +
          `the second database is a SECOND PGlite socket server at ${second.url} ***\n`,
      );
    }
    const port = new URL(ctx.url).port;
    ctx.app = await startRag(ctx.url, `postgres://127.0.0.1:${port}`);
  });
  coreSuite(ctx);
});

describe('rag when the database is missing or unusable', () => {
  it('answers 503 with the reason when the database is down, and 503 when it lacks pgvector', async () => {
    // A port with nothing listening.
    const down = await startRag('postgres://postgres@127.0.0.1:9/postgres', 'postgres://127.0.0.1:9');
    const call = client(() => down);
    const r = await call('POST', '/collections', { name: 'x' });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('database_unavailable');
    expect(r.body.error.message).toMatch(/ECONNREFUSED|connect/);
    expect((await call('POST', '/collections/x/search', { query: 'y' })).status).toBe(503);
    // The machine's Postgres (no pgvector there): the migration fails as a whole, with a message saying why.
    const plain = await startRag(REAL_PG, 'postgres://127.0.0.1:5432');
    const p = await client(() => plain)('GET', '/collections');
    if (p.status === 503) {
      expect(p.body.error.code).toBe('pgvector_missing');
      expect(p.body.error.message).toMatch(/pgvector/);
    } else {
      console.warn('*** rag: the machine Postgres has pgvector; the pgvector_missing path was not exercised ***');
      expect(p.status).toBe(200);
    }
  });

  it('leaves no partial document behind when the database goes away mid-ingest', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = mkdtempSync(join(tmpdir(), 'rag-crash-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let db = await startEmbeddedPostgres({ dataDir });
    const port = db.port;
    const app = await startRag(db.url, `postgres://127.0.0.1:${port}`);
    const call = client(() => app);
    expect(
      (await call('POST', '/collections', { name: 'c', embeddingModel: 'builtin/offline', chunkSize: 200, chunkOverlap: 0 })).status,
    ).toBe(201);
    const body = (i: number) => ({
      id: `doc-${i}`,
      contentType: 'text',
      content: Array.from({ length: 40 }, (_, j) => `Paragraph ${j} of document ${i}.`).join('\n\n'),
    });
    const inflight = Array.from({ length: 12 }, (_, i) => call('POST', '/collections/c/documents', body(i)));
    await new Promise((r) => setTimeout(r, 400));
    await db.close();
    const answers = await Promise.all(inflight);
    for (const a of answers) expect([201, 503]).toContain(a.status);
    db = await startEmbeddedPostgres({ dataDir, port });
    cleanups.push(() => db.close());
    await assertConsistent(db.url);
    // Once the database is back, the documents that failed go in on retry.
    for (let i = 0; i < 12; i++) expect([200, 201]).toContain((await call('POST', '/collections/c/documents', body(i))).status);
    await assertConsistent(db.url);
  });

  it('upgrades a version 1 database: the document frequencies are counted from the stored chunks', async () => {
    const db = await startEmbeddedPostgres();
    cleanups.push(() => db.close());
    const app = await startRag(db.url, `postgres://127.0.0.1:${db.port}`);
    const call = client(() => app);
    expect((await call('POST', '/collections', { name: 'old', embeddingModel: 'builtin/offline' })).status).toBe(201);
    for (const d of DOCS) expect((await call('POST', '/collections/old/documents', d)).status).toBe(201);
    // Version 1 is version 2 without rag_lexemes.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('DROP TABLE rag_lexemes; DELETE FROM rag_schema WHERE version > 1');
    await c.end();
    expect((await call('GET', '/health')).body).toEqual({ status: 'ok', schemaVersion: 2 });
    await assertConsistent(db.url);
    const r = await call('POST', '/collections/old/search', { query: 'ownership borrowing', mode: 'keyword' });
    expect(r.body.results[0].documentId).toBe('rust');
  });

  it('enforces scopes: read to search, admin to write, invoke to store reasoning', async () => {
    const db = await startEmbeddedPostgres();
    cleanups.push(() => db.close());
    const app = await startRag(db.url, `postgres://127.0.0.1:${db.port}`, [['api_keys', 'admin:plain:adm,read:plain:rd,invoke:plain:inv']]);
    const admin = client(() => app, 'adm');
    const reader = client(() => app, 'rd');
    const invoker = client(() => app, 'inv');
    const anon = client(() => app);
    expect((await admin('POST', '/collections', { name: 'k', embeddingModel: 'builtin/offline' })).status).toBe(201);
    expect((await reader('POST', '/collections', { name: 'k2' })).status).toBe(403);
    expect((await anon('GET', '/collections')).status).toBe(401);
    expect((await reader('POST', '/collections/k/documents', { content: 'x' })).status).toBe(403);
    expect((await admin('POST', '/collections/k/documents', { content: 'scoped note' })).status).toBe(201);
    expect((await reader('POST', '/collections/k/search', { query: 'scoped', mode: 'keyword' })).body.results).toHaveLength(1);
    // Vector and hybrid search embed the query through the router with the caller's key, and the router wants invoke.
    const refused = await reader('POST', '/collections/k/search', { query: 'scoped' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/invoke scope/);
    expect((await invoker('POST', '/collections/k/search', { query: 'scoped' })).body.results).toHaveLength(1);
    expect((await reader('POST', '/reasoning', { agent: 'a', task: 't', approach: 'a', score: 1 })).status).toBe(403);
    expect((await invoker('POST', '/reasoning', { agent: 'a', task: 't', approach: 'a', score: 1 })).status).toBe(201);
    expect((await invoker('DELETE', '/collections/k')).status).toBe(403);
  });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
