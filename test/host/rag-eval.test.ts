/**
 * Retrieval quality on the held-out questions of test/fixtures/rag-eval (offline embeddings): hybrid search must be
 * at least as good as vector and as keyword search alone, on recall@5 and on MRR. A quality assertion, not a timing
 * one; tune on the development questions, not on these (see the set's README).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../host/pglite.ts';
import { ingestEvalSet, knowledgePost, loadEvalSet, scoreMode, type ModeScore, type Post } from '../fixtures/rag-eval/eval.ts';
import { APPS } from '../helpers/apps.ts';
import { memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

let db: EmbeddedPostgres;
let app: TestApp;
let rc: { remove(): void; file: string };

beforeAll(async () => {
  db = await startEmbeddedPostgres();
  rc = memoryRuntimeConfig();
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: new Map([
      ['database_url', db.url],
      ['database_host', `postgres://127.0.0.1:${db.port}`],
    ]),
  });
});

afterAll(async () => {
  await app?.close();
  await db?.close();
  rc?.remove();
});

const post: Post = (path, body) => knowledgePost(app.url)(path, body);

it('hybrid recall@5 and MRR are at least those of vector and of keyword search on the eval set', async () => {
  const set = loadEvalSet();
  expect(set.documents.length).toBeGreaterThanOrEqual(30);
  expect(set.questions.length).toBeGreaterThanOrEqual(40);
  await ingestEvalSet(post, 'eval', set);
  const scores: Record<string, ModeScore> = {};
  for (const mode of ['vector', 'keyword', 'hybrid']) scores[mode] = await scoreMode(post, 'eval', mode, set);
  const table = Object.values(scores).map((s) => `${s.mode}: recall@5 ${s.recallAt5.toFixed(3)}, MRR ${s.mrr.toFixed(3)}`);
  console.log(`rag eval (${set.questions.length} questions): ${table.join('; ')}`);
  expect(scores.hybrid!.recallAt5).toBeGreaterThanOrEqual(scores.vector!.recallAt5);
  expect(scores.hybrid!.recallAt5).toBeGreaterThanOrEqual(scores.keyword!.recallAt5);
  expect(scores.hybrid!.mrr).toBeGreaterThanOrEqual(scores.vector!.mrr);
  expect(scores.hybrid!.mrr).toBeGreaterThanOrEqual(scores.keyword!.mrr);
  // Sanity: the set is neither trivial nor broken for either single mode.
  expect(scores.vector!.recallAt5).toBeGreaterThan(0.5);
  expect(scores.keyword!.recallAt5).toBeGreaterThan(0.5);
});
