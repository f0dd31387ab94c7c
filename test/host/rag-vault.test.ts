/**
 * `scripts/ingest.ts` against the real component: a generated Obsidian-style vault of 220 notes goes in, a second run
 * sends nothing, and changing, adding or deleting notes sends exactly those. Frontmatter, tags and wikilinks arrive as
 * metadata and can be filtered on.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../host/pglite.ts';
import type { IngestSummary } from '../../scripts/ingest.ts';
import { APPS, ROOT } from '../helpers/apps.ts';
import { memoryRuntimeConfig, startApp, tempDir, type TestApp } from '../helpers/host.ts';
import { writeVault, type VaultNote } from '../helpers/vault.ts';

const run = promisify(execFile);
let db: EmbeddedPostgres;
let app: TestApp;
let vault: { path: string; remove(): void };
let notes: VaultNote[];
let rc: { remove(): void; file: string };

beforeAll(async () => {
  db = await startEmbeddedPostgres();
  rc = memoryRuntimeConfig();
  app = await startApp(APPS.main, {
    runtimeConfigFile: rc.file,
    variables: new Map([
      ['database_url', db.url],
      ['database_host', `postgres://127.0.0.1:${db.port}`],
      ['api_keys', 'admin:plain:vault-admin'],
    ]),
  });
  vault = tempDir('edge-agents-vault-');
  notes = writeVault(vault.path);
});

afterAll(async () => {
  await app?.close();
  await db?.close();
  rc?.remove();
  vault?.remove();
});

async function ingest(...extra: string[]): Promise<{ summary: IngestSummary; stderr: string }> {
  const { stdout, stderr } = await run(
    process.execPath,
    [join(ROOT, 'scripts/ingest.ts'), vault.path, '--url', app.url, '--collection', 'vault', '--key', 'vault-admin', '--json', ...extra],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  return { summary: JSON.parse(stdout) as IngestSummary, stderr };
}

const search = async (body: unknown) => {
  const res = await fetch(`${app.url}/api/v1/knowledge/collections/vault/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer vault-admin' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { results: { documentId: string; metadata: Record<string, unknown>; source: string }[] }).results;
};

describe('scripts/ingest.ts', () => {
  it('ingests a 220-note vault, skipping .obsidian, with progress on a pipe', async () => {
    expect(notes.length).toBeGreaterThanOrEqual(200);
    const { summary, stderr } = await ingest();
    expect(summary).toMatchObject({
      files: notes.length,
      created: notes.length,
      updated: 0,
      unchanged: 0,
      deleted: 0,
      failed: [],
      sent: notes.length,
    });
    expect(summary.chunks).toBeGreaterThan(notes.length);
    // Not a terminal: one line per 10 %, ending at 100 %.
    expect(stderr.trim().split('\n').at(-1)).toBe(`ingest: ${notes.length}/${notes.length} (100%)`);
    expect(stderr.split('\n').length).toBeLessThanOrEqual(13);
  });

  it('keeps frontmatter, tags and wikilinks as metadata', async () => {
    const n = notes[12]!;
    const hits = await search({ query: 'zq12x', mode: 'keyword', topK: 3 });
    expect(hits[0]!.documentId).toBe(n.path);
    expect(hits[0]!.source).toBe(n.path);
    const meta = hits[0]!.metadata;
    expect(meta).toMatchObject({ path: n.path, name: n.name, priority: 12 % 5, aliases: [`${n.topic}-12`] });
    expect(meta.tags).toEqual(expect.arrayContaining(n.tags));
    expect(meta.tags).not.toContain('not');
    expect(meta.links).toEqual(expect.arrayContaining(n.links));
    const rustOnly = await search({
      query: 'borrow checker references',
      mode: 'hybrid',
      topK: 10,
      filter: { tags: 'rust', folder: 'projects' },
    });
    expect(rustOnly.length).toBeGreaterThan(0);
    for (const h of rustOnly) expect(h.metadata).toMatchObject({ folder: 'projects' });
    for (const h of rustOnly) expect(h.metadata.tags).toContain('rust');
  });

  it('sends nothing on a second run', async () => {
    const { summary } = await ingest();
    expect(summary).toMatchObject({ files: notes.length, sent: 0, created: 0, updated: 0, deleted: 0, unchanged: notes.length });
  });

  it('sends only what changed: one edited note, one new note, one deleted note', async () => {
    appendFileSync(join(vault.path, notes[5]!.path), '\nAn added line about zebra crossings.\n');
    writeFileSync(join(vault.path, 'projects', 'brand-new.md'), '# Brand new\n\nA note about quokkas. #animals\n');
    rmSync(join(vault.path, notes[7]!.path));
    const dry = await ingest('--dry-run');
    expect(dry.summary).toMatchObject({ sent: 0, created: 1, updated: 1, deleted: 1 });
    const { summary } = await ingest();
    expect(summary).toMatchObject({ files: notes.length, sent: 2, created: 1, updated: 1, deleted: 1, unchanged: notes.length - 2 });
    expect((await search({ query: 'zebra crossings', mode: 'keyword' }))[0]!.documentId).toBe(notes[5]!.path);
    expect((await search({ query: 'quokkas', mode: 'keyword' }))[0]!.documentId).toBe('projects/brand-new.md');
    const gone = await search({ query: `zq${7}x`, mode: 'keyword', topK: 50 });
    expect(gone.map((h) => h.documentId)).not.toContain(notes[7]!.path);
    expect((await ingest()).summary).toMatchObject({ sent: 0, deleted: 0 });
  });

  it('fails clearly on bad usage', async () => {
    await expect(run(process.execPath, [join(ROOT, 'scripts/ingest.ts'), vault.path], { cwd: ROOT })).rejects.toMatchObject({ code: 2 });
  });
});
