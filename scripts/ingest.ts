/**
 * Ingests a folder of Markdown notes (an Obsidian vault, say) into a knowledge collection, sending only what changed.
 *
 *   node scripts/ingest.ts <folder> --url http://127.0.0.1:3000 --collection notes [--key KEY] [--prefix vault/]
 *        [--model embed] [--concurrency 4] [--dry-run] [--json]
 *
 * Every `.md` file becomes the document `<prefix><relative path>` (folders starting with `.` such as `.obsidian` and
 * `.trash` are skipped). The server reads the frontmatter into metadata and collects `#tags` and `[[wikilinks]]`; the
 * script adds `path`, `folder` and `name` (the note's link name). What to send is decided against the server, not a
 * local state file: the server lists each stored document's content hash, the script hashes each file the same way
 * (`shared/rag/hash.ts`), sends new and changed notes and deletes the documents under the prefix whose file is gone.
 * So a second run sends nothing, and a run from another machine is just as incremental.
 *
 * The key may also come from `EDGE_AGENTS_API_KEY`. A missing collection is created (with `--model`). Exit code 1
 * when any note failed (the others are still sent), 2 for bad usage.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { documentHash } from '../shared/rag/hash.ts';

export interface IngestSummary {
  files: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: { id: string; error: string }[];
  /** Documents sent to the server (created + updated + the ones that failed on the server). */
  sent: number;
  chunks: number;
  seconds: number;
}

interface Note {
  id: string;
  content: string;
  metadata: Record<string, unknown>;
  hash: string;
}

const USAGE =
  'usage: node scripts/ingest.ts <folder> --url <base url> --collection <name> [--key KEY] [--prefix P] [--model M] [--concurrency N] [--dry-run] [--json]';

/** Every `.md` file under `root`, skipping dot folders, as sorted relative paths with `/` separators. */
export function listNotes(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.md')) out.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

async function readNote(root: string, rel: string, prefix: string): Promise<Note> {
  const content = readFileSync(join(root, rel), 'utf8');
  const folder = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
  const metadata = { path: rel, folder, name: basename(rel).replace(/\.md$/i, '') };
  const hash = await documentHash({ title: null, content, contentType: 'markdown', metadata });
  return { id: `${prefix}${rel}`, content, metadata, hash };
}

/** A progress line on a terminal (redrawn in place); on a pipe, a line every 10% so logs stay short. */
class Progress {
  readonly #total: number;
  readonly #tty: boolean;
  #done = 0;
  #lastDecile = -1;

  constructor(total: number, tty: boolean) {
    this.#total = total;
    this.#tty = tty;
  }

  tick(label: string): void {
    this.#done++;
    const frac = this.#total === 0 ? 1 : this.#done / this.#total;
    if (this.#tty) {
      const width = 30;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      const name = label.length > 40 ? `…${label.slice(-39)}` : label;
      process.stderr.write(`\r[${bar}] ${this.#done}/${this.#total} ${name}`.padEnd(100));
      if (this.#done === this.#total) process.stderr.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.#lastDecile) {
        this.#lastDecile = decile;
        process.stderr.write(`ingest: ${this.#done}/${this.#total} (${Math.round(frac * 100)}%)\n`);
      }
    }
  }
}

class Api {
  readonly base: string;
  readonly #headers: Record<string, string>;

  constructor(url: string, collection: string, key: string | undefined) {
    this.base = `${url.replace(/\/+$/, '')}/api/v1/knowledge/collections/${encodeURIComponent(collection)}`;
    this.#headers = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: this.#headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { error: { message: text.slice(0, 200) } };
    }
    return { status: res.status, json };
  }

  static message(r: { status: number; json: Record<string, unknown> }): string {
    const e = r.json.error as { code?: string; message?: string } | undefined;
    return `${r.status} ${e?.code ?? ''} ${e?.message ?? ''}`.trim();
  }
}

/** The stored documents under `prefix`: id → content hash. */
async function serverHashes(api: Api, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: '1000' });
    if (prefix) q.set('prefix', prefix);
    if (cursor) q.set('cursor', cursor);
    const r = await api.call('GET', `/documents?${q}`);
    if (r.status !== 200) throw new Error(`listing the collection's documents failed: ${Api.message(r)}`);
    for (const d of r.json.items as { id: string; contentHash: string }[]) out.set(d.id, d.contentHash);
    cursor = (r.json.nextCursor as string | null) ?? null;
  } while (cursor);
  return out;
}

async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

export interface IngestOptions {
  folder: string;
  url: string;
  collection: string;
  key?: string | undefined;
  prefix?: string;
  model?: string;
  concurrency?: number;
  dryRun?: boolean;
  /** Progress output; defaults to whether stderr is a terminal. */
  tty?: boolean;
}

/** Synchronises the collection with the folder; see the module comment. */
export async function ingestFolder(o: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const prefix = o.prefix ?? '';
  const api = new Api(o.url, o.collection, o.key);
  const files = listNotes(o.folder);
  const notes = await Promise.all(files.map((rel) => readNote(o.folder, rel, prefix)));
  const head = await api.call('GET', '');
  if (head.status === 404 && !o.dryRun) {
    const created = await fetch(`${o.url.replace(/\/+$/, '')}/api/v1/knowledge/collections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.key ? { authorization: `Bearer ${o.key}` } : {}) },
      body: JSON.stringify({ name: o.collection, ...(o.model ? { embeddingModel: o.model } : {}) }),
    });
    if (created.status !== 201 && created.status !== 409)
      throw new Error(`creating collection '${o.collection}' failed: ${created.status} ${await created.text()}`);
  } else if (head.status !== 200 && head.status !== 404) {
    throw new Error(`collection '${o.collection}': ${Api.message(head)}`);
  }
  const stored = head.status === 404 ? new Map<string, string>() : await serverHashes(api, prefix);
  const changed = notes.filter((n) => stored.get(n.id) !== n.hash);
  const local = new Set(notes.map((n) => n.id));
  const removed = [...stored.keys()].filter((id) => !local.has(id));
  const summary: IngestSummary = {
    files: notes.length,
    created: 0,
    updated: 0,
    unchanged: notes.length - changed.length,
    deleted: 0,
    failed: [],
    sent: 0,
    chunks: 0,
    seconds: 0,
  };
  if (!o.dryRun) {
    const progress = new Progress(changed.length + removed.length, o.tty ?? process.stderr.isTTY === true);
    await pool(changed, o.concurrency ?? 4, async (n) => {
      summary.sent++;
      const r = await api.call('POST', '/documents', { id: n.id, content: n.content, contentType: 'markdown', metadata: n.metadata });
      if (r.status === 201) summary.created++;
      else if (r.status === 200 && r.json.unchanged === true) summary.unchanged++;
      else if (r.status === 200) summary.updated++;
      else summary.failed.push({ id: n.id, error: Api.message(r) });
      if (r.status < 300) summary.chunks += Number(r.json.chunks ?? 0);
      progress.tick(n.id);
    });
    await pool(removed, o.concurrency ?? 4, async (id) => {
      const r = await api.call('DELETE', `/documents/${encodeURIComponent(id)}`);
      if (r.status === 204 || r.status === 404) summary.deleted++;
      else summary.failed.push({ id, error: Api.message(r) });
      progress.tick(`deleted ${id}`);
    });
  } else {
    summary.sent = 0;
    summary.created = changed.filter((n) => !stored.has(n.id)).length;
    summary.updated = changed.length - summary.created;
    summary.deleted = removed.length;
  }
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return summary;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:3000' },
        collection: { type: 'string' },
        key: { type: 'string' },
        prefix: { type: 'string', default: '' },
        model: { type: 'string' },
        concurrency: { type: 'string', default: '4' },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const folder = positionals[0];
  const concurrency = Number(values.concurrency);
  if (!folder || !values.collection || !Number.isInteger(concurrency) || concurrency < 1) {
    console.error(USAGE);
    return 2;
  }
  if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`ingest: ${folder} is not a folder`);
    return 2;
  }
  const summary = await ingestFolder({
    folder,
    url: values.url,
    collection: values.collection,
    key: values.key ?? process.env.EDGE_AGENTS_API_KEY,
    prefix: values.prefix,
    ...(values.model ? { model: values.model } : {}),
    concurrency,
    dryRun: values['dry-run'],
  });
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(
      `${summary.files} notes: ${summary.created} new, ${summary.updated} changed, ${summary.unchanged} unchanged, ${summary.deleted} deleted` +
        ` (${summary.sent} sent, ${summary.chunks} chunks, ${summary.seconds} s)${values['dry-run'] ? ' [dry run: nothing sent]' : ''}`,
    );
    for (const f of summary.failed) console.error(`failed: ${f.id}: ${f.error}`);
  }
  return summary.failed.length > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`ingest: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
