/**
 * MCP benchmark: what the MCP hop costs. The same chat, with the same agent, conversation and LLM fixture, measured
 * side by side in one run as `tools/call chat_with_agent` through `/mcp` and as a direct `POST
 * /agents/<kind>/<name>/chat`; plus `tools/list`, which touches no other component (the MCP component's own cost).
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { load, type LoadResult } from './load.ts';
import { startFixture, startPlatformOnFixture, type Ctx } from './host.bench.ts';

const ms = (n: number) => `${n.toFixed(2)} ms`;

/** Every key-value label the platform's components use (the set grows as components land). */
function kvLabels(root: string): string[] {
  const manifest = parseToml(readFileSync(join(root, 'spin.toml'), 'utf8')) as {
    component?: Record<string, { key_value_stores?: string[] }>;
  };
  const labels = new Set<string>();
  for (const c of Object.values(manifest.component ?? {})) for (const l of c.key_value_stores ?? []) if (l !== 'default') labels.add(l);
  return [...labels];
}

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

export async function run(ctx: Ctx): Promise<{ markdown: string; data: Record<string, unknown> }> {
  const { root, log } = ctx;
  const seconds = ctx.quick ? 2 : 8;
  const dir = mkdtempSync(join(tmpdir(), 'edge-agents-bench-mcp-'));
  const fixture = await startFixture(root);
  try {
    const rc = join(dir, 'runtime-config.toml');
    writeFileSync(
      rc,
      kvLabels(root)
        .map((l) => `[key_value_store.${l}]\ntype = "spin"\npath = "${l}.db"\n`)
        .join('\n'),
    );
    const host = await startPlatformOnFixture(root, fixture.url, { runtimeConfig: rc, stateDir: dir });
    try {
      const created = await fetch(`${host.url}/api/v1/agents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench-mcp', kind: 'coder', instructions: 'Be brief.' }),
      });
      if (created.status !== 201) throw new Error(`creating the agent failed: ${created.status} ${await created.text()}`);
      // One conversation for both paths, so history (bounded by the runtime) is the same size for both.
      const first = (await (
        await fetch(`${host.url}/agents/coder/bench-mcp/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'Start.' }),
        })
      ).json()) as { conversationId: string };
      const message = { message: 'Say something short.', conversationId: first.conversationId };

      const direct = {
        url: `${host.url}/agents/coder/bench-mcp/chat`,
        method: 'POST',
        body: JSON.stringify(message),
        headers: { 'content-type': 'application/json' },
        expectStatus: 200,
      };
      const viaMcp = {
        url: `${host.url}/mcp`,
        method: 'POST',
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'chat_with_agent', arguments: { kind: 'coder', name: 'bench-mcp', ...message } },
        }),
        headers: MCP_HEADERS,
        expectStatus: 200,
      };
      const toolsList = {
        url: `${host.url}/mcp`,
        method: 'POST',
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        headers: MCP_HEADERS,
        expectStatus: 200,
      };
      // The same pair over a callee that needs no model: the registry list, reached by service chaining (api.spin.internal).
      const directList = { url: `${host.url}/api/v1/agents?limit=20`, connections: 1, expectStatus: 200 };
      const listViaMcp = {
        ...toolsList,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_agents', arguments: { limit: 20 } } }),
      };
      // A JSON-RPC error is also a 200: check once that the MCP call really succeeds before timing it.
      const check = (await (await fetch(viaMcp.url, { method: 'POST', headers: viaMcp.headers, body: viaMcp.body })).json()) as {
        result?: { isError?: boolean; structuredContent?: { reply?: string } };
      };
      if (!check.result || check.result.isError || typeof check.result.structuredContent?.reply !== 'string') {
        throw new Error(`tools/call chat_with_agent did not succeed: ${JSON.stringify(check)}`);
      }
      const listCheck = (await (
        await fetch(listViaMcp.url, { method: 'POST', headers: listViaMcp.headers, body: listViaMcp.body })
      ).json()) as {
        result?: { isError?: boolean };
      };
      if (!listCheck.result || listCheck.result.isError)
        throw new Error(`tools/call list_agents did not succeed: ${JSON.stringify(listCheck)}`);

      log('mcp: warm-up');
      await load({ ...direct, connections: 1, seconds: 1 });
      await load({ ...viaMcp, connections: 1, seconds: 1 });
      // Interleaved rounds, so drift (the host warming, the conversation file growing) hits both paths alike.
      const rounds = ctx.quick ? 1 : 2;
      const results: Record<'direct' | 'mcp' | 'toolsList' | 'directList' | 'listViaMcp', LoadResult[]> = {
        direct: [],
        mcp: [],
        toolsList: [],
        directList: [],
        listViaMcp: [],
      };
      for (let i = 0; i < rounds; i++) {
        log(`mcp: round ${i + 1}/${rounds}: direct chat`);
        results.direct.push(await load({ ...direct, connections: 1, seconds }));
        log(`mcp: round ${i + 1}/${rounds}: tools/call chat_with_agent`);
        results.mcp.push(await load({ ...viaMcp, connections: 1, seconds }));
        log(`mcp: round ${i + 1}/${rounds}: tools/list`);
        results.toolsList.push(await load({ ...toolsList, connections: 1, seconds: Math.max(1, seconds / 2) }));
        log(`mcp: round ${i + 1}/${rounds}: list agents, direct and through MCP`);
        results.directList.push(await load({ ...directList, seconds: Math.max(1, seconds / 2) }));
        results.listViaMcp.push(await load({ ...listViaMcp, connections: 1, seconds: Math.max(1, seconds / 2) }));
      }

      const md: string[] = ['### MCP `tools/call chat_with_agent` vs the agent chat route (LLM fixture, 1 connection)', ''];
      md.push(
        '| round | direct chat p50 | direct p95 | MCP chat_with_agent p50 | MCP p95 | MCP overhead (p50) | MCP tools/list p50 | tools/list p95 |',
      );
      md.push('|---|---|---|---|---|---|---|---|');
      for (let i = 0; i < rounds; i++) {
        const d = results.direct[i]!;
        const m = results.mcp[i]!;
        const t = results.toolsList[i]!;
        md.push(
          `| ${i + 1} | ${ms(d.p50)} | ${ms(d.p95)} | ${ms(m.p50)} | ${ms(m.p95)} | +${ms(m.p50 - d.p50)} (×${(m.p50 / d.p50).toFixed(2)}) | ${ms(t.p50)} | ${ms(t.p95)} |`,
        );
      }
      md.push('', '### The same over a callee without a model: `GET /api/v1/agents?limit=20` vs `tools/call list_agents`', '');
      md.push('| round | direct p50 | direct p95 | MCP list_agents p50 | MCP p95 | MCP overhead (p50) |', '|---|---|---|---|---|---|');
      for (let i = 0; i < rounds; i++) {
        const d = results.directList[i]!;
        const m = results.listViaMcp[i]!;
        md.push(
          `| ${i + 1} | ${ms(d.p50)} | ${ms(d.p95)} | ${ms(m.p50)} | ${ms(m.p95)} | +${ms(m.p50 - d.p50)} (×${(m.p50 / d.p50).toFixed(2)}) |`,
        );
      }
      const errors = Object.values(results)
        .flat()
        .reduce((n, r) => n + r.errors, 0);
      md.push(
        '',
        `Errors: ${errors}. Through MCP a call costs one more fresh component instance (mcp; \`tools/list\` shows its own cost) ` +
          'and one more hop: to the agent through the app router (`agents_url` = `http://self.alt`), to the registry by service chaining.',
      );
      return { markdown: md.join('\n'), data: results };
    } finally {
      await host.stop();
    }
  } finally {
    await fixture.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
