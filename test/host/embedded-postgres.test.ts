/**
 * The embedded database default: an app that declares `database_url` and leaves it empty gets PGlite with
 * pgvector, lazily started, data under the state directory and kept across restarts; a set `database_url` is used
 * unchanged, with `database_host` derived from it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../host/pglite.ts';
import { postgresHostOf } from '../../host/embedded-postgres.ts';
import { ROOT } from '../helpers/apps.ts';
import { startApp, tempDir, type TestApp } from '../helpers/host.ts';

/** The pg test guest, but granted only `{{ database_host }}`, as the rag component is. */
function manifest(dir: string): string {
  const file = join(dir, 'spin.toml');
  writeFileSync(
    file,
    `spin_manifest_version = 2
[application]
name = "embedded-db"
[variables]
database_url = { default = "", secret = true }
database_host = { default = "postgres://127.0.0.1:5432" }
[[trigger.http]]
route = "/pg/..."
component = "pg"
[component.pg]
source = "${join(ROOT, 'dist/test/pg.wasm')}"
allowed_outbound_hosts = ["{{ database_host }}"]
`,
  );
  return file;
}

const dirs: { remove(): void }[] = [];
afterAll(() => dirs.forEach((d) => d.remove()));

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

async function run(app: TestApp, action: 'query' | 'execute', statement: string): Promise<{ status: number; body: string }> {
  const address = app.app.variables.resolveStatic('{{ database_url }}');
  const r = await fetch(new URL(`/pg/${action}`, app.url), {
    method: 'POST',
    headers: { PG_CONNECTION_STRING: address, 'content-type': 'application/json' },
    body: JSON.stringify({ statement, params: [] }),
  });
  return { status: r.status, body: await r.text() };
}

describe('embedded Postgres for an empty database_url', () => {
  it('serves PGlite with pgvector, announces it, and keeps data under the state directory across restarts', async () => {
    const appDir = dir();
    const stateDir = dir();
    const spinToml = manifest(appDir);

    const first = await startApp(spinToml, { stateDir });
    try {
      const url = first.app.variables.resolveStatic('{{ database_url }}');
      const host = first.app.variables.resolveStatic('{{ database_host }}');
      expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      expect(host).toBe(postgresHostOf(url));
      expect(first.output.join('\n')).toContain('Serving embedded Postgres (PGlite with pgvector) for database_url');
      expect(first.output.join('\n')).toContain(join(stateDir, 'pglite'));

      const ext = await run(first, 'execute', 'CREATE EXTENSION IF NOT EXISTS vector');
      expect(ext.status, ext.body).toBe(200);
      expect((await run(first, 'execute', 'CREATE TABLE kept (v vector(3))')).status).toBe(200);
      expect((await run(first, 'execute', "INSERT INTO kept VALUES ('[1,2,3]')")).status).toBe(200);
      const near = await run(first, 'query', "SELECT v <-> '[1,2,4]' AS d FROM kept");
      expect(near.status, near.body).toBe(200);
      expect(near.body).toContain('"floating64"');
    } finally {
      await first.close();
    }

    // Same state directory, new host process state: the table and its row are still there.
    const second = await startApp(spinToml, { stateDir });
    try {
      const r = await run(second, 'query', 'SELECT count(*)::int4 AS n FROM kept');
      expect(r.status, r.body).toBe(200);
      expect(r.body).toContain('"int32","val":1');
    } finally {
      await second.close();
    }
  });

  it('keeps the data in memory with no state directory, and denies hosts other than its own', async () => {
    const app = await startApp(manifest(dir()), { stateDir: '' });
    try {
      expect(app.output.join('\n')).toContain('data in memory');
      const r = await run(app, 'query', 'SELECT 1::int4 AS one');
      expect(r.status, r.body).toBe(200);
      const denied = await fetch(new URL('/pg/query', app.url), {
        method: 'POST',
        headers: { PG_CONNECTION_STRING: 'postgres://postgres@127.0.0.1:5432/postgres', 'content-type': 'application/json' },
        body: JSON.stringify({ statement: 'SELECT 1', params: [] }),
      });
      expect(denied.status).toBe(500);
      expect(await denied.text()).toContain('address postgres://127.0.0.1:5432 is not permitted');
    } finally {
      await app.close();
    }
  });
});

describe('a database_url that is set', () => {
  let real: EmbeddedPostgres;
  beforeAll(async () => {
    real = await startEmbeddedPostgres();
  });
  afterAll(async () => real?.close());

  it('is used unchanged, with database_host derived from it, and no embedded database starts', async () => {
    const app = await startApp(manifest(dir()), { variables: new Map([['database_url', real.url]]) });
    try {
      expect(app.app.variables.resolveStatic('{{ database_url }}')).toBe(real.url);
      expect(app.app.variables.resolveStatic('{{ database_host }}')).toBe(`postgres://127.0.0.1:${real.port}`);
      expect(app.output.join('\n')).not.toContain('embedded Postgres');
      expect(app.output.join('\n')).toContain(`Using Postgres at postgres://127.0.0.1:${real.port}`);
      const r = await run(app, 'query', 'SELECT 2::int4 AS two');
      expect(r.status, r.body).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('postgresHostOf', () => {
  it('reduces a connection URL to scheme, host and port', () => {
    expect(postgresHostOf('postgres://u:p@db.example:6543/x?sslmode=require')).toBe('postgres://db.example:6543');
    expect(postgresHostOf('postgresql://db/x')).toBe('postgres://db:5432');
    expect(postgresHostOf('postgres://u@[::1]:5433/x')).toBe('postgres://[::1]:5433');
    expect(postgresHostOf('host=db port=5432')).toBeUndefined();
    expect(postgresHostOf('mysql://db/x')).toBeUndefined();
  });
});
