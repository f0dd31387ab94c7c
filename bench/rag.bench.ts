/**
 * RAG benchmark, through the `rag` component on the host with the embedded PGlite and the router's offline
 * embeddings (384 dimensions):
 * - retrieval quality on test/fixtures/rag-eval: recall@5 and MRR of vector, keyword and hybrid search;
 * - ingest throughput (chunks/s, Markdown documents of 50 sections each, 2 requests in flight) while the collection
 *   grows to 10k and then 100k chunks (`--quick`: 1k and 3k);
 * - search latency p50/p95 of each mode at each size (sequential queries, 5 results).
 *
 * @module
 */
import { startEmbeddedPostgres } from '../host/pglite.ts';
import { ingestEvalSet, knowledgePost, loadEvalSet, scoreMode } from '../test/fixtures/rag-eval/eval.ts';
import { memoryRuntimeConfig, startApp } from '../test/helpers/host.ts';
import type { Ctx } from './host.bench.ts';
import { join } from 'node:path';

const ms = (n: number) => `${n.toFixed(1)} ms`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A deterministic pseudo-language: 3000 words with a Zipf-like frequency, so full-text statistics look natural. */
function corpus(seed = 1) {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const syll = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pe', 'sa', 'do', 'fu', 'gi', 'ha', 'ju', 'be'];
  const words = Array.from({ length: 3000 }, (_, i) => {
    let w = '';
    for (let n = i + 7; n > 0; n = Math.floor(n / 16)) w += syll[n % 16];
    return w;
  });
  const word = () => words[Math.floor(words.length * rand() ** 3)]!;
  const sentence = () => `${Array.from({ length: 8 + Math.floor(rand() * 8) }, word).join(' ')}.`;
  return {
    word,
    /** A Markdown document with `sections` sections of ~420 characters (one chunk each at chunkSize 500). */
    document(sections: number): string {
      const out: string[] = [];
      for (let i = 0; i < sections; i++) {
        let text = '';
        while (text.length < 380) text += `${sentence()} `;
        out.push(`## ${word()} ${word()}\n\n${text.trim()}`);
      }
      return out.join('\n\n');
    },
  };
}

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log } = ctx;
  const db = await startEmbeddedPostgres();
  const rc = memoryRuntimeConfig();
  const app = await startApp(join(root, 'spin.toml'), {
    runtimeConfigFile: rc.file,
    variables: new Map([
      ['database_url', db.url],
      ['database_host', `postgres://127.0.0.1:${db.port}`],
    ]),
  });
  const post = knowledgePost(app.url);
  const md: string[] = [];
  const data: Record<string, unknown> = {};
  try {
    // Quality.
    log('rag: eval set');
    const set = loadEvalSet();
    await ingestEvalSet(post, 'eval', set);
    const quality = [];
    for (const mode of ['vector', 'keyword', 'hybrid']) quality.push(await scoreMode(post, 'eval', mode, set));
    data.quality = quality.map(({ misses: _m, ...q }) => q);
    md.push(
      `### Retrieval quality (test/fixtures/rag-eval: ${set.documents.length} documents, ${set.questions.length} questions, offline embeddings)`,
      '',
    );
    md.push('| mode | recall@5 | MRR | recall@5 paraphrase | rare-term | typo |', '|---|---|---|---|---|---|');
    for (const q of quality) {
      const k = (name: string) => (q.byKind[name] ?? 0).toFixed(3);
      md.push(`| ${q.mode} | ${q.recallAt5.toFixed(3)} | ${q.mrr.toFixed(3)} | ${k('paraphrase')} | ${k('rare-term')} | ${k('typo')} |`);
    }

    // Scale.
    const sizes = ctx.quick ? [1000, 3000] : [10_000, 100_000];
    const queries = ctx.quick ? 15 : 40;
    await post('/collections', { name: 'bench', embeddingModel: 'builtin/offline', chunkSize: 500, chunkOverlap: 0 });
    const gen = corpus();
    let chunks = 0;
    let docNo = 0;
    const rows: Record<string, unknown>[] = [];
    md.push('', '### Ingest throughput and search latency at scale (PGlite, HNSW m 8 / ef_construction 32)', '');
    md.push(
      '| chunks | ingest chunks/s | vector p50 | vector p95 | keyword p50 | keyword p95 | hybrid p50 | hybrid p95 |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const size of sizes) {
      log(`rag: ingesting up to ${size} chunks`);
      const started = performance.now();
      const before = chunks;
      const next = async () => {
        while (chunks < size) {
          const sections = Math.min(50, size - chunks);
          chunks += sections;
          const id = `doc-${docNo++}`;
          await post('/collections/bench/documents', {
            id,
            content: gen.document(sections),
            contentType: 'markdown',
            metadata: { shard: docNo % 10 },
          });
        }
      };
      await Promise.all([next(), next()]);
      const rate = (chunks - before) / ((performance.now() - started) / 1000);
      const latency: Record<string, { p50: number; p95: number }> = {};
      for (const mode of ['vector', 'keyword', 'hybrid']) {
        const times: number[] = [];
        for (let i = 0; i < queries; i++) {
          const query = `${gen.word()} ${gen.word()} ${gen.word()} ${gen.word()}`;
          const t = performance.now();
          await post('/collections/bench/search', { query, mode, topK: 5 });
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        latency[mode] = { p50: percentile(times, 50), p95: percentile(times, 95) };
      }
      rows.push({ chunks, ingestChunksPerSecond: rate, latency });
      md.push(
        `| ${chunks} | ${rate.toFixed(0)} | ${ms(latency.vector!.p50)} | ${ms(latency.vector!.p95)} | ${ms(latency.keyword!.p50)} | ${ms(latency.keyword!.p95)} | ${ms(latency.hybrid!.p50)} | ${ms(latency.hybrid!.p95)} |`,
      );
    }
    data.scale = rows;
    md.push(
      '',
      `Search latency is the whole HTTP round trip through the host (fresh component instance, router call for the query embedding, ${queries} sequential queries per mode). ` +
        'PGlite runs Postgres as single-threaded WebAssembly; a native Postgres is much faster on the same statements.',
    );
  } finally {
    await app.close();
    await db.close();
    rc.remove();
  }
  return { markdown: md.join('\n'), data };
}
