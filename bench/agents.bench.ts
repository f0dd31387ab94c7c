/**
 * Agents benchmark: chat latency through the host with 10 and with 10,000 registered agents (agents are records,
 * so the count should not matter), and the registry's list endpoint with 10,000 agents.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyValueStores } from '../host/spin/key-value.ts';
import { load } from './load.ts';
import { startFixture, startPlatformOnFixture, type Ctx } from './host.bench.ts';

const ms = (n: number) => `${n.toFixed(2)} ms`;

/** Writes `count` agent records straight into the `agents` store file, as the registry would store them. */
async function seed(path: string, count: number): Promise<void> {
  const stores = new KeyValueStores(new Map([['agents', { type: 'spin', path }]]));
  const kv = stores.open('agents');
  const now = new Date().toISOString();
  const kinds = ['coder', 'researcher', 'reviewer'];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % 3]!;
    const name = `agent-${String(i).padStart(5, '0')}`;
    const record = {
      name,
      kind,
      url: `/agents/${kind}/${name}`,
      description: `benchmark agent ${i}`,
      model: 'chat',
      instructions: '',
      skills: [{ id: `skill-${i % 50}`, name: `Skill ${i % 50}`, description: '', tags: ['bench'], examples: [] }],
      tools: ['remember', 'recall'],
      createdAt: now,
      updatedAt: now,
    };
    await kv.set(`agent/${kind}/${name}`, new TextEncoder().encode(JSON.stringify(record)));
  }
  await stores.close();
}

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log } = ctx;
  const seconds = ctx.quick ? 2 : 6;
  const fixture = await startFixture(root);
  const rows: Record<string, unknown>[] = [];
  const md: string[] = ['### Chat latency with 10 and 10,000 registered agents', ''];
  md.push('| agents | chat p50 | chat p95 | list (limit 20) p50 | list p95 | list with skill filter p50 |', '|---|---|---|---|---|---|');
  for (const count of [10, 10_000]) {
    const dir = mkdtempSync(join(tmpdir(), 'edge-agents-bench-'));
    try {
      log(`agents: seeding ${count} agents`);
      await seed(join(dir, 'agents.db'), count);
      const rc = join(dir, 'runtime-config.toml');
      writeFileSync(
        rc,
        ['agents', 'memory', 'router', 'tasks', 'workflows']
          .map((l) => `[key_value_store.${l}]\ntype = "spin"\npath = "${l}.db"\n`)
          .join('\n'),
      );
      const host = await startPlatformOnFixture(root, fixture.url, { runtimeConfig: rc, stateDir: dir });
      const chat = {
        url: `${host.url}/agents/coder/agent-00000/chat`,
        method: 'POST',
        // A fresh conversation per request would grow memory; one conversation keeps history bounded (40 turns).
        body: JSON.stringify({ message: 'Say something short.' }),
        headers: { 'content-type': 'application/json' },
        expectStatus: 200,
      };
      await load({ ...chat, connections: 1, seconds: 1 });
      log(`agents: chat with ${count} agents`);
      const c = await load({ ...chat, connections: 1, seconds });
      log(`agents: list with ${count} agents`);
      const list = await load({ url: `${host.url}/api/v1/agents?limit=20`, connections: 1, seconds, expectStatus: 200 });
      const skill = await load({ url: `${host.url}/api/v1/agents?skill=skill-7&limit=20`, connections: 1, seconds, expectStatus: 200 });
      await host.stop();
      rows.push({ agents: count, chat: c, list, listBySkill: skill });
      md.push(`| ${count} | ${ms(c.p50)} | ${ms(c.p95)} | ${ms(list.p50)} | ${ms(list.p95)} | ${ms(skill.p50)} |`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await fixture.stop();
  const [small, large] = rows as { chat: { p50: number } }[];
  md.push('', `Chat p50 with 10,000 agents ÷ with 10: **×${(large!.chat.p50 / small!.chat.p50).toFixed(2)}** (target: within 10%).`);
  return { markdown: md.join('\n'), data: { rows } };
}
