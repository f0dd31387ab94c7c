/**
 * Host benchmark: the same hono app as a Wasm component on the host (fresh instance per request) and on plain
 * Node, side by side in one run; cold start; concurrency against a slow upstream; component sizes; host RSS.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { load, summarize, timedRequest, type LoadResult } from './load.ts';

export interface Ctx {
  root: string;
  quick: boolean;
  log: (line: string) => void;
}

export interface Child {
  proc: ChildProcess;
  url: string;
  startedAt: number;
  stop(): Promise<void>;
}

export function startChild(root: string, args: string[], ready: RegExp): Promise<Child> {
  const startedAt = performance.now();
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        proc.stderr!.resume();
        resolve({
          proc,
          url: m[1]!,
          startedAt,
          stop: () =>
            new Promise((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
            }),
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => reject(new Error(`process exited with ${code} before it was ready:\n${out}`)));
  });
}

/** Where a platform run keeps its state: in memory by default, or a runtime config and state directory. */
export interface PlatformState {
  runtimeConfig?: string;
  stateDir?: string;
}

/** The platform app (`spin.toml`) on the host, with extra `up` arguments. */
export function startPlatform(root: string, extra: string[] = [], state: PlatformState = {}): Promise<Child> {
  return startChild(
    root,
    [
      'host/bin/edge-agents.ts',
      'up',
      '-f',
      'spin.toml',
      '--runtime-config-file',
      state.runtimeConfig ?? 'runtime-config.toml',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      state.stateDir ?? '',
      ...extra,
    ],
    /Serving (http:\/\/\S+)/,
  );
}

/** The LLM fixture as a child process. */
export function startFixture(root: string): Promise<Child> {
  return startChild(root, ['test/fixtures/llm-fixture.ts', '--port', '0'], /listening on (http:\/\/\S+)/);
}

/** The platform with the router's `chat` alias on the fixture and the answer cache off (every call reaches it). */
export function startPlatformOnFixture(root: string, fixtureUrl: string, state: PlatformState = {}): Promise<Child> {
  const modelMap = JSON.stringify({ chat: [{ provider: 'local', model: 'fixture-chat', contextWindow: 8192 }] });
  return startPlatform(
    root,
    ['--variable', `localai_url=${fixtureUrl}`, '--variable', `model_map=${modelMap}`, '--variable', 'router_cache_ttl_seconds=0', '-q'],
    state,
  );
}

async function firstResponse(url: string, startedAt: number): Promise<number> {
  for (;;) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return performance.now() - startedAt;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function wasmFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'test') out.push(...wasmFiles(p));
    } else if (name.endsWith('.wasm')) out.push(p);
  }
  return out.sort();
}

const ms = (n: number) => `${n.toFixed(2)} ms`;

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log } = ctx;
  const seconds = ctx.quick ? 2 : 8;
  const warmup = ctx.quick ? 1 : 2;
  const data: Record<string, unknown> = {};
  const md: string[] = [];

  // A slow upstream for the concurrency scenario: every request is answered after 1 s.
  const upstream = http.createServer((_req, res) => setTimeout(() => res.end('slow'), 1000));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  log('host: starting bench/apps/hello on the Wasm host');
  const host = await startChild(
    root,
    [
      'host/bin/edge-agents.ts',
      'up',
      '-f',
      'bench/apps/hello/spin.toml',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      '',
      '--variable',
      `upstream=${upstreamUrl}`,
    ],
    /Serving (http:\/\/\S+)/,
  );
  const hostCold = await firstResponse(`${host.url}/hello`, host.startedAt);
  log('host: starting the same app on plain Node');
  const node = await startChild(root, ['bench/apps/hello/node.ts', '0'], /listening (http:\/\/\S+)/);
  const nodeCold = await firstResponse(`${node.url}/hello`, node.startedAt);

  const scenarios: { name: string; path: string; method?: string; body?: string; headers?: Record<string, string> }[] = [
    { name: 'GET /hello (trivial)', path: '/hello' },
    {
      name: 'POST /greet (zod-validated JSON)',
      path: '/greet',
      method: 'POST',
      body: JSON.stringify({ name: 'edge', times: 3 }),
      headers: { 'content-type': 'application/json' },
    },
  ];
  const results: Record<string, Record<string, LoadResult>> = {};
  for (const s of scenarios) {
    for (const [label, target] of [
      ['wasm host', host],
      ['plain node', node],
    ] as const) {
      const common = { url: `${target.url}${s.path}`, method: s.method, body: s.body, headers: s.headers, expectStatus: 200 };
      await load({ ...common, connections: 8, seconds: warmup });
      log(`${label}: ${s.name} at 1 connection`);
      const c1 = await load({ ...common, connections: 1, seconds });
      log(`${label}: ${s.name} at 8 connections`);
      const c8 = await load({ ...common, connections: 8, seconds });
      results[`${s.name} | ${label}`] = { c1, c8 };
    }
  }
  data.latencyThroughput = results;

  md.push('### Fresh instance per request vs plain Node (same hono app)', '');
  md.push(
    '| scenario | runtime | p50 @1 conn | p99 @1 conn | req/s @8 conn | p50 @8 conn | p99 @8 conn |',
    '|---|---|---|---|---|---|---|',
  );
  for (const [key, r] of Object.entries(results)) {
    const [scenario, runtime] = key.split(' | ');
    md.push(
      `| ${scenario} | ${runtime} | ${ms(r.c1!.p50)} | ${ms(r.c1!.p99)} | ${r.c8!.rps.toFixed(0)} | ${ms(r.c8!.p50)} | ${ms(r.c8!.p99)} |`,
    );
  }
  const trivialHost = results['GET /hello (trivial) | wasm host']!;
  const trivialNode = results['GET /hello (trivial) | plain node']!;
  md.push(
    '',
    `Ratios for the trivial route: the host's p50 latency is ×${(trivialHost.c1!.p50 / trivialNode.c1!.p50).toFixed(1)} plain Node's, ` +
      `and plain Node serves ×${(trivialNode.c8!.rps / trivialHost.c8!.rps).toFixed(0)} as many requests per second ` +
      '(a fresh Wasm instance per request against a warm JIT-compiled closure).',
    '',
  );

  // Concurrency: 20 guests each fetching the 1 s upstream at once, while a trivial route is sampled.
  log('host: 20 concurrent requests to a 1 s upstream, sampling /hello meanwhile');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling)
      samples.push(await timedRequest(agent, new URL(`${host.url}/hello`), { url: '', connections: 1, seconds: 0, expectStatus: 200 }));
  })();
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  const slow = await Promise.all(
    Array.from({ length: 20 }, () => fetch(`${host.url}/fetch?url=${encodeURIComponent(`${upstreamUrl}/`)}`).then((r) => r.text())),
  );
  const concurrentTotal = performance.now() - t0;
  sampling = false;
  await sampler;
  agent.destroy();
  const during = summarize(samples, 0, 1);
  if (!slow.every((b) => b === 'slow')) throw new Error('concurrency scenario: unexpected upstream answers');
  data.concurrency = { requests: 20, upstreamDelayMs: 1000, totalMs: concurrentTotal, trivialDuringLoad: during };
  md.push('### Concurrency: 20 guests waiting on a 1 s upstream', '');
  md.push(`- all 20 completed in **${concurrentTotal.toFixed(0)} ms** (serialised would be ≥ 20 000 ms)`);
  md.push(
    `- \`GET /hello\` sampled meanwhile: ${samples.length} requests, p50 ${ms(during.p50)}, p99 **${ms(during.p99)}**, max ${ms(during.max)}`,
    '',
  );

  md.push('### Start-up', '');
  md.push(`- time to first 200 after spawning the process: wasm host **${hostCold.toFixed(0)} ms**, plain node ${nodeCold.toFixed(0)} ms`);
  data.coldStart = { wasmHostMs: hostCold, plainNodeMs: nodeCold };
  await host.stop();
  await node.stop();
  upstream.close();

  // Component sizes.
  const sizes = wasmFiles(join(root, 'dist')).map((file) => {
    const bytes = readFileSync(file);
    return { file: relative(root, file), raw: bytes.length, gzip: gzipSync(bytes).length };
  });
  data.componentSizes = sizes;
  md.push('', '### Component sizes', '', '| component | raw | gzip |', '|---|---|---|');
  for (const s of sizes) md.push(`| ${s.file} | ${(s.raw / 1048576).toFixed(1)} MiB | ${(s.gzip / 1048576).toFixed(1)} MiB |`);

  // RSS of the host with the platform's components loaded (main spin.toml), after some traffic.
  log('host: RSS with every platform component loaded');
  const platform = await startPlatform(root);
  const platformCold = await firstResponse(`${platform.url}/health`, platform.startedAt);
  await load({ url: `${platform.url}/health`, connections: 4, seconds: 1 });
  const rss = rssMiB(platform.proc.pid!);
  await platform.stop();
  data.platform = { components: sizes.filter((s) => !s.file.startsWith('dist/bench/')).length, rssMiB: rss, firstResponseMs: platformCold };
  md.push(
    '',
    `Host RSS with the platform's components loaded (\`spin.toml\`), after 1 s of traffic: **${rss.toFixed(0)} MiB**; first response ${platformCold.toFixed(0)} ms after spawn.`,
  );

  return { markdown: md.join('\n'), data };
}
