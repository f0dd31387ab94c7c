/**
 * `scripts/new-agent.ts`: scaffolding an agent kind into a temporary copy of the project, building just that
 * component, and chatting with an agent of the new kind on the host; refusing kinds that exist or are invalid
 * without touching the manifest; and the templates staying identical to `agent-coder`'s real files.
 *
 * The copy holds what the scaffold, the build and the host read: `spin.toml`, `runtime-config.toml`,
 * `package.json`, `components/`, `shared/`, the prebuilt `.wasm` of the existing components (so only the new one is
 * built), and a `node_modules` symlink (esbuild resolves `hono` and `zod` from the copied sources). `wit/` is not
 * copied: `scripts/build.ts` resolves a component's WIT folder to its own repository's `wit/` unless the manifest's
 * `tool.edge-agents` table names one (`buildTargets`), and it assembles `wit/deps/` there.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../host/manifest.ts';
import { componentId, insertKind, renderComponentSource, renderComponentToml, renderTrigger } from '../../scripts/new-agent.ts';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS, ROOT } from '../helpers/apps.ts';
import { startApp, tempDir, type TestApp } from '../helpers/host.ts';
import { format, resolveConfig } from 'prettier';

const KIND = 'tester';
const INSTRUCTIONS = 'You test things. Report what passed and what failed.';

/** Runs a repository script with this process's Node (24, from the project) in the repository root. */
function runScript(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dirs: { remove(): void }[] = [];
afterAll(() => {
  for (const d of dirs) d.remove();
});

/** A copy of the project as the scaffold, the build and the host need it (see the module comment). */
async function copyProject(): Promise<string> {
  const dir = tempDir('edge-agents-new-agent-');
  dirs.push(dir);
  for (const file of ['spin.toml', 'runtime-config.toml', 'package.json']) copyFileSync(join(ROOT, file), join(dir.path, file));
  for (const folder of ['components', 'shared']) cpSync(join(ROOT, folder), join(dir.path, folder), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir.path, 'node_modules'), 'dir');
  // Copies, not links: a build in the copy must never be able to write into the real dist/.
  const manifest = await loadManifest(APPS.main);
  mkdirSync(join(dir.path, 'dist'));
  for (const c of Object.values(manifest.components)) {
    if (c.source.kind !== 'local') continue;
    if (!existsSync(c.source.absolutePath)) throw new Error(`${c.source.absolutePath} is missing: the global setup builds it`);
    copyFileSync(c.source.absolutePath, join(dir.path, 'dist', `${c.id}.wasm`));
  }
  return dir.path;
}

function memoryRuntimeConfig(): string {
  const dir = tempDir('edge-agents-new-agent-kv-');
  dirs.push(dir);
  const file = join(dir.path, 'runtime-config.toml');
  writeFileSync(
    file,
    ['agents', 'memory', 'router', 'tasks', 'workflows'].map((l) => `[key_value_store.${l}]\ntype = "spin"\n`).join('\n'),
  );
  return file;
}

describe('new-agent: a new kind end to end', () => {
  let project: string;
  let fixture: LlmFixture;
  let app: TestApp | undefined;
  let scaffold: ReturnType<typeof runScript>;
  let manifestBefore: string;

  beforeAll(async () => {
    project = await copyProject();
    manifestBefore = readFileSync(join(project, 'spin.toml'), 'utf8');
    scaffold = runScript('scripts/new-agent.ts', [
      KIND,
      '--root',
      project,
      '--description',
      'Tests things.',
      '--instructions',
      INSTRUCTIONS,
      '--tools',
      'remember,recall',
    ]);
    fixture = await startLlmFixture();
  });

  afterAll(async () => {
    await app?.close();
    await fixture?.close();
  });

  it('scaffolds the component and the manifest entries, and says what to do next', async () => {
    expect(scaffold.status, scaffold.stderr).toBe(0);
    expect(scaffold.stdout).toContain(`npm run build -- -f `);
    expect(scaffold.stdout).toContain(` agent-${KIND}`);
    expect(scaffold.stdout).toContain('npm run spinkube');

    const source = readFileSync(join(project, `components/agent-${KIND}/src/index.ts`), 'utf8');
    expect(source).toContain(`kind: '${KIND}'`);
    expect(source).toContain(INSTRUCTIONS);

    const text = readFileSync(join(project, 'spin.toml'), 'utf8');
    // Only additions: the original manifest is still there line for line, in order.
    const added = text.split('\n');
    let at = 0;
    for (const line of manifestBefore.split('\n')) {
      at = added.indexOf(line, at);
      expect(at, `lost line: ${line}`).toBeGreaterThanOrEqual(0);
      at++;
    }
    expect(text).toContain(renderTrigger(KIND));
    expect(text).toContain(renderComponentToml(KIND));

    const manifest = await loadManifest(join(project, 'spin.toml'));
    const c = manifest.components[`agent-${KIND}`]!;
    expect(c.keyValueStores).toEqual(['agents', 'memory', 'tasks']);
    expect(c.allowedOutboundHosts).toEqual([
      '{{ router_url }}',
      '{{ a2a_push_hosts }}',
      '{{ a2a_peer_hosts }}',
      '{{ rag_url }}',
      '{{ sandbox_url }}',
      '{{ agents_url }}',
    ]);
    expect(c.variables).toEqual({
      api_keys: '{{ api_keys }}',
      router_url: '{{ router_url }}',
      a2a_push_hosts: '{{ a2a_push_hosts }}',
      a2a_peer_hosts: '{{ a2a_peer_hosts }}',
      rag_url: '{{ rag_url }}',
      sandbox_url: '{{ sandbox_url }}',
      agents_url: '{{ agents_url }}',
    });
    expect(c.tool['edge-agents']).toEqual({ entry: `components/agent-${KIND}/src/index.ts`, world: 'agent' });
    const triggers = manifest.triggers.filter((t) => t.component === `agent-${KIND}`);
    expect(triggers.map((t) => t.route)).toEqual([`/agents/${KIND}/...`]);
    // The trigger sits with the other triggers, right after the last one that was there before.
    const ids = manifest.triggers.map((t) => t.component);
    expect(ids.indexOf(`agent-${KIND}`)).toBe(ids.length - 1);
    expect(text.indexOf(renderTrigger(KIND))).toBeLessThan(text.indexOf('[component.'));
  });

  it('builds just the new component with scripts/build.ts', { timeout: 300_000 }, () => {
    expect(scaffold.status, scaffold.stderr).toBe(0);
    const build = runScript('scripts/build.ts', ['-f', join(project, 'spin.toml'), `agent-${KIND}`]);
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
    expect(build.stdout).toContain(`agent-${KIND}`);
    expect(build.stdout).toMatch(/1 component\(s\)/);
    expect(existsSync(join(project, `dist/agent-${KIND}.wasm`))).toBe(true);
    // The real project is untouched.
    expect(existsSync(join(ROOT, `dist/agent-${KIND}.wasm`))).toBe(false);
    expect(existsSync(join(ROOT, `components/agent-${KIND}`))).toBe(false);
  });

  it('serves agents of the new kind: create through the API, chat, use a tool', async () => {
    expect(existsSync(join(project, `dist/agent-${KIND}.wasm`)), 'the build test must pass first').toBe(true);
    app = await startApp(join(project, 'spin.toml'), {
      runtimeConfigFile: memoryRuntimeConfig(),
      variables: new Map([
        ['localai_url', fixture.url],
        ['model_map', JSON.stringify({ chat: [{ provider: 'local', model: 'fixture-chat' }] })],
        ['router_cache_ttl_seconds', '0'],
      ]),
    });
    const post = (path: string, body: unknown) =>
      fetch(`${app!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const created = await post('/api/v1/agents', { name: 'tess', kind: KIND, tools: ['remember', 'recall'] });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(((await created.json()) as { url: string }).url).toBe(`/agents/${KIND}/tess`);

    const profile = await fetch(`${app.url}/agents/${KIND}/tess`);
    expect(profile.status).toBe(200);
    expect(((await profile.json()) as { kind: string }).kind).toBe(KIND);

    fixture.clearLog();
    const message = 'Does the new kind work?';
    const r = await post(`/agents/${KIND}/tess/chat`, { message });
    expect(r.status, await r.clone().text()).toBe(200);
    const reply = (await r.json()) as { reply: string; conversationId: string; toolCalls: unknown[] };
    expect(reply.reply).toBe(`Fixture answer to: ${message}`);
    expect(reply.toolCalls).toEqual([]);
    // The agent has no instructions of its own, so the kind's default (from --instructions) is the system prompt.
    const upstream = fixture.requests.find((x) => x.path === '/v1/chat/completions')!.body as {
      messages: { role: string; content: string }[];
      tools?: { function: { name: string } }[];
    };
    expect(upstream.messages[0]).toEqual({ role: 'system', content: INSTRUCTIONS });
    expect(upstream.tools?.map((t) => t.function.name).sort()).toEqual(['recall', 'remember']);

    fixture.enqueue({ toolCalls: [{ id: 'call_t', name: 'remember', arguments: { key: 'status', value: 'green' } }] });
    const withTool = await post(`/agents/${KIND}/tess/chat`, { message: 'Remember the status.', conversationId: reply.conversationId });
    expect(withTool.status).toBe(200);
    const stored = await app.app.stores.open('memory').get(`fact/${KIND}/tess/status`);
    expect(new TextDecoder().decode(stored)).toBe('green');

    const conv = await fetch(`${app.url}/agents/${KIND}/tess/conversations/${reply.conversationId}`);
    expect(((await conv.json()) as { turns: unknown[] }).turns).toHaveLength(4);
  });

  it('refuses a kind that exists, or an invalid one, and leaves spin.toml unchanged', () => {
    const manifestPath = join(project, 'spin.toml');
    const before = readFileSync(manifestPath, 'utf8');
    const coderSource = readFileSync(join(project, 'components/agent-coder/src/index.ts'), 'utf8');
    const cases: [string, RegExp][] = [
      ['coder', /agent kind 'coder' already exists: .*spin\.toml has \[component\.agent-coder\]/],
      [KIND, new RegExp(`agent kind '${KIND}' already exists`)],
      ['Not_A_Slug', /invalid kind "Not_A_Slug": a kind is a slug/],
      ['9lives', /invalid kind '9lives': its component id 'agent-9lives' is not a valid Spin id/],
    ];
    for (const [kind, message] of cases) {
      const r = runScript('scripts/new-agent.ts', [kind, '--root', project]);
      expect(r.status, kind).toBe(1);
      expect(r.stderr, kind).toMatch(message);
      expect(r.stdout, kind).toBe('');
      expect(readFileSync(manifestPath, 'utf8'), kind).toBe(before);
    }
    expect(readFileSync(join(project, 'components/agent-coder/src/index.ts'), 'utf8')).toBe(coderSource);
    expect(existsSync(join(project, 'components/agent-9lives'))).toBe(false);

    // A folder left behind without manifest entries also counts as existing.
    mkdirSync(join(project, 'components/agent-orphan'));
    const orphan = runScript('scripts/new-agent.ts', ['orphan', '--root', project]);
    expect(orphan.status).toBe(1);
    expect(orphan.stderr).toContain("agent kind 'orphan' already exists: components/agent-orphan/ is there");
    expect(readFileSync(manifestPath, 'utf8')).toBe(before);

    const unknownTool = runScript('scripts/new-agent.ts', ['other', '--root', project, '--tools', 'remember,teleport']);
    expect(unknownTool.status).toBe(1);
    expect(unknownTool.stderr).toContain("unknown tool 'teleport'");
    expect(readFileSync(manifestPath, 'utf8')).toBe(before);
  });
});

describe('new-agent templates', () => {
  it("render agent-coder's real source and manifest entries for kind coder", async () => {
    // The generator is modelled on agent-coder; if either changes, this says so.
    const file = join(ROOT, 'components/agent-coder/src/index.ts');
    const real = readFileSync(file, 'utf8');
    const field = (name: string): string => {
      const m = new RegExp(`${name}:\\s*'((?:[^'\\\\]|\\\\.)*)'`).exec(real);
      if (!m) throw new Error(`no ${name} in ${file}`);
      return JSON.parse(`"${m[1]!.replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string;
    };
    const rendered = renderComponentSource({ kind: 'coder', description: field('description'), instructions: field('instructions') });
    expect(await format(rendered, { ...(await resolveConfig(file)), filepath: file })).toBe(real);

    const manifest = readFileSync(APPS.main, 'utf8');
    expect(manifest).toContain(renderTrigger('coder'));
    const start = manifest.indexOf(`[component.${componentId('coder')}]\n`);
    const end = manifest.indexOf('\n\n', start);
    expect(manifest.slice(start, end === -1 ? undefined : end + 1)).toBe(renderComponentToml('coder'));
  });

  it('inserts the trigger after the last trigger, above comments that belong to the next table', () => {
    const text = [
      'spin_manifest_version = 2',
      '',
      '[[trigger.http]]',
      'route = "/a"',
      'component = "a"',
      '',
      '# the a component',
      '[component.a]',
      'source = "a.wasm"',
      '',
    ].join('\n');
    const out = insertKind(text, 'zed');
    expect(out).toBe(
      [
        'spin_manifest_version = 2',
        '',
        '[[trigger.http]]',
        'route = "/a"',
        'component = "a"',
        '',
        renderTrigger('zed').trimEnd(),
        '',
        '# the a component',
        '[component.a]',
        'source = "a.wasm"',
        '',
        renderComponentToml('zed'),
      ].join('\n'),
    );
    // Without any trigger both tables are appended.
    expect(insertKind('spin_manifest_version = 2\n', 'zed')).toBe(
      `spin_manifest_version = 2\n\n${renderTrigger('zed')}\n${renderComponentToml('zed')}`,
    );
  });
});
