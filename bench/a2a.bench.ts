/**
 * A2A benchmark: the cost of the protocol layer. One agent on the LLM fixture, measured side by side in one run:
 * its chat route called directly, `SendMessage` to its own A2A endpoint (to a completed task, stored in KV
 * `tasks`), and `SendMessage` to the platform's `/a2a` (dispatch by skill, then a forward to the agent endpoint).
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixture, startPlatformOnFixture, type Ctx } from './host.bench.ts';
import { load, type LoadResult } from './load.ts';

const ms = (n: number) => `${n.toFixed(2)} ms`;
const LABELS = ['agents', 'memory', 'router', 'tasks', 'workflows'];

function sendMessage(text: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'SendMessage',
    params: { message: { messageId: 'bench', role: 'ROLE_USER', parts: [{ text }], metadata: { skill: 'coder/bench/typescript' } } },
  });
}

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log } = ctx;
  const seconds = ctx.quick ? 2 : 8;
  const dir = mkdtempSync(join(tmpdir(), 'edge-agents-bench-a2a-'));
  const fixture = await startFixture(root);
  try {
    const rc = join(dir, 'runtime-config.toml');
    writeFileSync(rc, LABELS.map((l) => `[key_value_store.${l}]\ntype = "spin"\npath = "${l}.db"\n`).join('\n'));
    const host = await startPlatformOnFixture(root, fixture.url, { runtimeConfig: rc, stateDir: dir });
    try {
      const created = await fetch(`${host.url}/api/v1/agents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench', kind: 'coder', skills: [{ id: 'typescript', name: 'TypeScript', tags: ['code'] }] }),
      });
      if (created.status !== 201) throw new Error(`creating the bench agent answered ${created.status}: ${await created.text()}`);
      const json = { 'content-type': 'application/json' };
      const a2a = { ...json, 'a2a-version': '1.0' };
      const cases: { name: string; url: string; body: string; headers: Record<string, string> }[] = [
        {
          name: 'chat route (direct)',
          url: `${host.url}/agents/coder/bench/chat`,
          body: JSON.stringify({ message: 'Say something short.' }),
          headers: json,
        },
        {
          name: 'A2A SendMessage, agent endpoint',
          url: `${host.url}/agents/coder/bench/a2a`,
          body: sendMessage('Say something short.'),
          headers: a2a,
        },
        { name: 'A2A SendMessage, platform /a2a', url: `${host.url}/a2a`, body: sendMessage('Say something short.'), headers: a2a },
      ];
      const results: Record<string, LoadResult> = {};
      for (const c of cases) {
        await load({ url: c.url, method: 'POST', body: c.body, headers: c.headers, connections: 1, seconds: 1, expectStatus: 200 });
      }
      for (const c of cases) {
        log(`a2a: ${c.name}`);
        results[c.name] = await load({
          url: c.url,
          method: 'POST',
          body: c.body,
          headers: c.headers,
          connections: 1,
          seconds,
          expectStatus: 200,
        });
      }
      const base = results['chat route (direct)']!;
      const md = ['### A2A round trip vs the chat route (one agent, LLM fixture, 1 connection)', ''];
      md.push('| call | requests | errors | p50 | p95 | p50 ÷ chat |', '|---|---|---|---|---|---|');
      for (const c of cases) {
        const r = results[c.name]!;
        md.push(`| ${c.name} | ${r.requests} | ${r.errors} | ${ms(r.p50)} | ${ms(r.p95)} | ×${(r.p50 / base.p50).toFixed(2)} |`);
      }
      md.push(
        '',
        'A2A adds task bookkeeping in KV `tasks` (create, working, completed); the platform endpoint adds the agent lookup and one forwarded request.',
      );
      return { markdown: md.join('\n'), data: { results } };
    } finally {
      await host.stop();
    }
  } finally {
    await fixture.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
