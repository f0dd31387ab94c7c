/**
 * Sandbox benchmark: end-to-end latency of a trivial snippet through the host, and what the instrumentation (budget
 * ticks in every loop and function, depth counting around ordinary functions) costs on CPU-bound snippets, measured
 * side by side against a build of the same component with instrumentation off (`components/sandbox/src/bench-bare.ts`,
 * which exists only for this). The CPU figures are the in-guest `durationMs` of each run (median of the runs).
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../scripts/build.ts';
import { startChild, type Child, type Ctx } from './host.bench.ts';
import { load } from './load.ts';

const ms = (n: number) => `${n.toFixed(2)} ms`;

const CPU_SNIPPETS: { name: string; code: string }[] = [
  { name: 'loop (3M iterations)', code: 'let s = 0; for (let i = 0; i < 3e6; i++) s = (s + i * i) % 1000003; s' },
  { name: 'calls (fib 24, 75k calls)', code: 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } fib(24)' },
  {
    name: 'callbacks (map/filter/reduce over 300k)',
    code: 'const a = Array.from({ length: 300000 }, (_, i) => i); a.map((x) => x * 2).filter((x) => x % 3).reduce((s, x) => s + x, 0)',
  },
  {
    name: 'objects and strings (JSON of 20k records)',
    code: 'const rows = []; for (let i = 0; i < 20000; i++) rows.push({ id: i, name: `n${i}`, tags: [i % 7, i % 11] }); JSON.parse(JSON.stringify(rows)).length',
  },
];

function manifest(dir: string, name: string, source: string, entry?: string): string {
  const file = join(dir, `${name}.toml`);
  const tool = entry ? `[component.${name}.tool.edge-agents]\nentry = "${entry}"\nworld = "sandbox"\n` : '';
  writeFileSync(
    file,
    `spin_manifest_version = 2\n[application]\nname = "bench-${name}"\nversion = "0.0.0"\n\n` +
      `[[trigger.http]]\nroute = "/execute"\ncomponent = "${name}"\n\n[component.${name}]\nsource = "${source}"\n${tool}`,
  );
  return file;
}

async function execute(url: string, code: string): Promise<number> {
  const res = await fetch(`${url}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, timeoutMs: 5000 }),
  });
  const report = (await res.json()) as { durationMs: number; error: unknown };
  if (res.status !== 200 || report.error) throw new Error(`benchmark snippet failed: ${JSON.stringify(report)}`);
  return report.durationMs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log, quick } = ctx;
  const dir = mkdtempSync(join(tmpdir(), 'edge-agents-bench-sandbox-'));
  const hosts: Child[] = [];
  try {
    const bareWasm = join(root, 'dist/bench/sandbox-bare.wasm');
    log('sandbox: building the uninstrumented variant');
    await buildApp({ manifest: manifest(dir, 'bare', bareWasm, join(root, 'components/sandbox/src/bench-bare.ts')), log });
    const start = (file: string) =>
      startChild(
        root,
        [join(root, 'host/bin/edge-agents.ts'), 'up', '-f', file, '--listen', '127.0.0.1:0', '--quiet'],
        /Serving (http:\/\/\S+)/,
      );
    const instrumented = await start(manifest(dir, 'sandbox', join(root, 'dist/sandbox.wasm')));
    hosts.push(instrumented);
    const bare = await start(manifest(dir, 'bare', bareWasm));
    hosts.push(bare);

    const seconds = quick ? 2 : 8;
    const trivial = {
      method: 'POST',
      body: JSON.stringify({ code: '1 + 1' }),
      headers: { 'content-type': 'application/json' },
      expectStatus: 200,
    };
    await load({ ...trivial, url: `${instrumented.url}/execute`, connections: 1, seconds: 1 });
    log('sandbox: trivial snippet latency');
    const latency = await load({ ...trivial, url: `${instrumented.url}/execute`, connections: 1, seconds });
    const latency4 = await load({ ...trivial, url: `${instrumented.url}/execute`, connections: 4, seconds });

    const runs = quick ? 3 : 9;
    const cpu: { name: string; instrumented: number; bare: number; ratio: number }[] = [];
    for (const s of CPU_SNIPPETS) {
      log(`sandbox: ${s.name}`);
      const a: number[] = [];
      const b: number[] = [];
      // Alternate, so both variants see the same machine conditions.
      for (let i = 0; i < runs; i++) {
        a.push(await execute(instrumented.url, s.code));
        b.push(await execute(bare.url, s.code));
      }
      cpu.push({ name: s.name, instrumented: median(a), bare: median(b), ratio: median(a) / median(b) });
    }

    const md = [
      '### Trivial snippet (`1 + 1`) through the host',
      '',
      '| connections | req/s | p50 | p95 | p99 |',
      '|---|---|---|---|---|',
      `| 1 | ${latency.rps.toFixed(1)} | ${ms(latency.p50)} | ${ms(latency.p95)} | ${ms(latency.p99)} |`,
      `| 4 | ${latency4.rps.toFixed(1)} | ${ms(latency4.p50)} | ${ms(latency4.p95)} | ${ms(latency4.p99)} |`,
      '',
      `### Instrumentation overhead on CPU-bound snippets (in-guest durationMs, median of ${runs})`,
      '',
      '| snippet | instrumented | uninstrumented | ratio |',
      '|---|---|---|---|',
      ...cpu.map((c) => `| ${c.name} | ${ms(c.instrumented)} | ${ms(c.bare)} | ×${c.ratio.toFixed(2)} |`),
    ];
    return { markdown: md.join('\n'), data: { latency, latency4, cpu } };
  } finally {
    for (const h of hosts) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
