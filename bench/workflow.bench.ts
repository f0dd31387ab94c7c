/**
 * Workflow benchmark: what the workflow engine adds per step over calling the agents' chat directly, side by side
 * in one run on the LLM fixture (no model latency, so the difference is the engine: the extra HTTP hop through the
 * app, the run record written before and after each step, and the lease taken and renewed by compare-and-swap). A run is created, then driven to completion with one request (`?stream=false`).
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from './load.ts';
import { startFixture, startPlatformOnFixture, type Ctx } from './host.bench.ts';

const ms = (n: number) => `${n.toFixed(1)} ms`;
const STEPS = 5;

async function post(url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function timed(f: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { n: xs.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
};

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log } = ctx;
  const rounds = ctx.quick ? 3 : 15;
  const dir = mkdtempSync(join(tmpdir(), 'edge-agents-bench-wf-'));
  const fixture = await startFixture(root);
  try {
    const rc = join(dir, 'runtime-config.toml');
    const labels = ['agents', 'memory', 'router', 'workflows', 'tasks'];
    writeFileSync(rc, labels.map((l) => `[key_value_store.${l}]\ntype = "spin"\npath = "${l}.db"\n`).join('\n'));
    const host = await startPlatformOnFixture(root, fixture.url, { runtimeConfig: rc, stateDir: dir });
    try {
      const base = host.url;
      const steps = Array.from({ length: STEPS }, (_, i) => ({ id: `s${i + 1}`, agent: 'coder', prompt: `Step ${i + 1}: {{input}}` }));
      const one = [{ id: 's1', agent: 'coder', prompt: 'Step 1: {{input}}' }];
      for (const [id, s] of [
        ['bench-five', steps],
        ['bench-one', one],
      ] as const) {
        const r = await post(`${base}/api/v1/workflows/definitions`, { id, name: id, steps: s });
        if (r.status !== 201 && r.status !== 409) throw new Error(`creating ${id}: ${r.status} ${JSON.stringify(r.json)}`);
      }
      const runOnce = async (definitionId: string) => {
        const created = await post(`${base}/api/v1/workflows/runs`, { definitionId, input: 'Say something short.' });
        const done = await post(`${base}/api/v1/workflows/runs/${String(created.json.id)}/run?stream=false`);
        if (done.json.status !== 'completed') throw new Error(`run ended ${String(done.json.status)}: ${JSON.stringify(done.json.error)}`);
      };
      const chatOnce = async () => {
        const r = await post(`${base}/agents/coder/workflow/chat`, { message: 'Step 1: Say something short.' });
        if (r.status !== 200) throw new Error(`chat: ${r.status}`);
      };
      // Warm up (this also creates the default agent coder/workflow).
      await runOnce('bench-one');
      await chatOnce();

      log(`workflow: ${rounds} rounds of a ${STEPS}-step run, a 1-step run and ${STEPS} direct chats, interleaved`);
      const direct: number[] = [];
      const five: number[] = [];
      const single: number[] = [];
      for (let i = 0; i < rounds; i++) {
        for (let k = 0; k < STEPS; k++) direct.push(await timed(chatOnce));
        five.push(await timed(() => runOnce('bench-five')));
        single.push(await timed(() => runOnce('bench-one')));
      }
      const d = stats(direct);
      const f = stats(five);
      const s = stats(single);
      // Per step: the slope between the 5-step and the 1-step run, so the per-run costs (create, claim) cancel out.
      const perStep = (f.p50 - s.p50) / (STEPS - 1);
      const perRunFixed = s.p50 - perStep;
      const md = [
        `### Workflow overhead per step (LLM fixture, ${rounds} rounds, sequential)`,
        '',
        '| measurement | p50 | p95 | mean |',
        '|---|---|---|---|',
        `| agent chat, direct (\`POST /agents/coder/workflow/chat\`) | ${ms(d.p50)} | ${ms(d.p95)} | ${ms(d.mean)} |`,
        `| workflow run, 1 step (create + run) | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.mean)} |`,
        `| workflow run, ${STEPS} steps (create + run) | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.mean)} |`,
        '',
        `Per step inside a run (slope between the ${STEPS}-step and 1-step runs): **${ms(perStep)}**, i.e. **${ms(perStep - d.p50)}** over a ` +
          `direct chat (${ms(d.p50)}). Fixed cost per run (create, lease, final write): ${ms(perRunFixed)}.`,
      ];
      return {
        markdown: md.join('\n'),
        data: {
          rounds,
          steps: STEPS,
          directChat: d,
          oneStepRun: s,
          fiveStepRun: f,
          perStepMs: perStep,
          overheadPerStepMs: perStep - d.p50,
          perRunFixedMs: perRunFixed,
        },
      };
    } finally {
      await host.stop();
    }
  } finally {
    await fixture.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
