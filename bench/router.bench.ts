/**
 * LLM router benchmark: the router's added latency against calling the model server (the LLM fixture) directly,
 * at 1 and 16 connections in one run, and 100 concurrent streams through the router.
 *
 * @module
 */
import { load } from './load.ts';
import { startFixture, startPlatformOnFixture, type Ctx } from './host.bench.ts';

const ms = (n: number) => `${n.toFixed(2)} ms`;

const BODY = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Summarise what an edge agent does in one line.' }] });

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log } = ctx;
  const seconds = ctx.quick ? 2 : 6;
  const md: string[] = [];
  const data: Record<string, unknown> = {};

  log('router: starting the LLM fixture and the platform');
  const fixture = await startFixture(root);
  const host = await startPlatformOnFixture(root, fixture.url);

  const common = { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' }, expectStatus: 200 };
  const directBody = { ...common, body: BODY.replace('"chat"', '"fixture-chat"') };
  const rows: { connections: number; direct: Awaited<ReturnType<typeof load>>; router: Awaited<ReturnType<typeof load>> }[] = [];
  for (const connections of [1, 16]) {
    await load({ ...directBody, url: `${fixture.url}/v1/chat/completions`, connections, seconds: 1 });
    await load({ ...common, url: `${host.url}/v1/chat/completions`, connections, seconds: 1 });
    log(`router: ${connections} connection(s), direct then through the router`);
    const direct = await load({ ...directBody, url: `${fixture.url}/v1/chat/completions`, connections, seconds });
    const router = await load({ ...common, url: `${host.url}/v1/chat/completions`, connections, seconds });
    rows.push({ connections, direct, router });
  }
  data.overhead = rows;
  md.push('### Router overhead: chat completion through the router vs straight to the model server', '');
  md.push(
    '| connections | direct p50 | direct p95 | router p50 | router p95 | added p50 | added p95 | router req/s |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    md.push(
      `| ${r.connections} | ${ms(r.direct.p50)} | ${ms(r.direct.p95)} | ${ms(r.router.p50)} | ${ms(r.router.p95)} | ${ms(r.router.p50 - r.direct.p50)} | **${ms(r.router.p95 - r.direct.p95)}** | ${r.router.rps.toFixed(0)} |`,
    );
  }

  // 100 streams at once: each gets ~30 chunks 20 ms apart from the fixture.
  log('router: 100 concurrent streams');
  const streamBody = JSON.stringify({
    model: 'chat',
    stream: true,
    messages: [{ role: 'user', content: 'Stream a long answer about WebAssembly components on small edge devices, please.' }],
  });
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const started = performance.now();
      const res = await fetch(`${host.url}/v1/chat/completions`, {
        method: 'POST',
        body: streamBody,
        headers: { 'content-type': 'application/json', 'x-fixture-chunk-delay-ms': '20' },
      });
      const reader = res.body!.getReader();
      let bytes = 0;
      let last = performance.now();
      let maxGap = 0;
      for (;;) {
        const { done, value } = await reader.read();
        const now = performance.now();
        if (done) break;
        maxGap = Math.max(maxGap, now - last);
        last = now;
        bytes += value.length;
      }
      return { ms: performance.now() - started, maxGap, bytes, ok: res.ok };
    }),
  );
  const total = performance.now() - t0;
  const durations = results.map((r) => r.ms).sort((a, b) => a - b);
  const gaps = results.map((r) => r.maxGap).sort((a, b) => a - b);
  data.streams = {
    count: 100,
    totalMs: total,
    minMs: durations[0],
    maxMs: durations.at(-1),
    worstGapMs: gaps.at(-1),
    ok: results.filter((r) => r.ok).length,
  };
  md.push(
    '',
    '### 100 concurrent streams through the router',
    '',
    `- ${results.filter((r) => r.ok).length}/100 completed in **${total.toFixed(0)} ms** in total (each stream alone: ~30 chunks, 20 ms apart at the model server)`,
    `- per-stream duration: min ${durations[0]!.toFixed(0)} ms, median ${durations[50]!.toFixed(0)} ms, max ${durations.at(-1)!.toFixed(0)} ms; worst gap between two chunks of one stream ${gaps.at(-1)!.toFixed(0)} ms`,
  );

  await host.stop();
  await fixture.stop();
  return { markdown: md.join('\n'), data };
}
