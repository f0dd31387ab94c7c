/**
 * Retrieval quality on the labelled set in test/fixtures/rag-eval (offline embeddings): hybrid search must find at
 * least as many answers in its top 5 as vector and as keyword search alone. A quality assertion, not a timing one.
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

it('hybrid recall@5 is at least that of vector and of keyword search on the eval set', async () => {
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
  // Sanity: the set is neither trivial nor broken for either single mode.
  expect(scores.vector!.recallAt5).toBeGreaterThan(0.5);
  expect(scores.keyword!.recallAt5).toBeGreaterThan(0.5);
});
