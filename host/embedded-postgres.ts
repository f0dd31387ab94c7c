/**
 * The embedded database default: when an app declares a `database_url` variable and nothing sets it, the host
 * serves PGlite (Postgres compiled to WebAssembly, with pgvector) on a local port and resolves `database_url` (and
 * `database_host`, the `postgres://host:port` form `allowed_outbound_hosts` needs) to it; a set `database_url`
 * with `database_host` left at its default gets `database_host` derived from it. `npm start` therefore runs
 * the RAG component with no database installed, and setting `database_url` switches to a real Postgres unchanged.
 *
 * This is an edge-agents extension, not Spin behaviour: on real Spin both variables must be set. It is lazy: the
 * port is reserved when the app loads, but PGlite (about a second and 100 MB to start) is only started by the first
 * connection, so apps that never query the database pay nothing. Data lives in `<state_dir>/pglite` and survives
 * restarts; with no state directory (`--state-dir ""`) it is in memory.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Manifest } from './manifest.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './pglite.ts';
import type { VariableResolver } from './variables.ts';

export const DATABASE_URL_VARIABLE = 'database_url';
export const DATABASE_HOST_VARIABLE = 'database_host';

export interface EmbeddedDatabase {
  /** Values to give the variables, above every other provider. */
  variables: Record<string, string>;
  /** The line the startup output prints. */
  describe(): string;
  close(): Promise<void>;
}

/** `postgres://host:port` of a connection URL, for `allowed_outbound_hosts`; undefined when it is not a URL. */
export function postgresHostOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return undefined;
    return `postgres://${u.hostname}:${u.port || '5432'}`; // WHATWG URL keeps IPv6 brackets in hostname
  } catch {
    return undefined;
  }
}

/**
 * What the app's database variables need: nothing (both set, or the app has none), `database_host` derived from a
 * set `database_url`, or the embedded database for both.
 */
export async function embeddedDatabaseFor(
  manifest: Manifest,
  variables: VariableResolver,
  stateDir: string | null,
  log: (line: string) => void,
): Promise<EmbeddedDatabase | undefined> {
  if (!(DATABASE_URL_VARIABLE in manifest.variables)) return undefined;
  const declaresHost = DATABASE_HOST_VARIABLE in manifest.variables;
  const url = variables.resolveStatic(`{{ ${DATABASE_URL_VARIABLE} }}`);
  if (url !== '') {
    // A real database: derive database_host from it unless database_host was set (differs from its default). Spin
    // checks templated grants against defaults, so the manifest's default must itself be a valid host.
    if (!declaresHost) return undefined;
    const current = variables.resolveStatic(`{{ ${DATABASE_HOST_VARIABLE} }}`);
    const host = postgresHostOf(url);
    if (!host || (current !== '' && current !== manifest.variables[DATABASE_HOST_VARIABLE]!.default) || current === host) return undefined;
    return {
      variables: { [DATABASE_HOST_VARIABLE]: host },
      describe: () => `Using Postgres at ${host} (database_host derived from database_url)`,
      close: async () => {},
    };
  }
  return LazyPglite.start(stateDir === null ? undefined : join(stateDir, 'pglite'), declaresHost, log);
}

/**
 * A TCP listener on 127.0.0.1 that starts PGlite on its first connection and proxies every connection to PGlite's
 * own socket server.
 */
class LazyPglite implements EmbeddedDatabase {
  readonly variables: Record<string, string>;
  readonly #listener: Server;
  readonly #port: number;
  readonly #dataDir: string | undefined;
  readonly #log: (line: string) => void;
  readonly #sockets = new Set<Socket>();
  #db: Promise<EmbeddedPostgres> | undefined;

  private constructor(listener: Server, port: number, dataDir: string | undefined, declaresHost: boolean, log: (line: string) => void) {
    this.#listener = listener;
    this.#port = port;
    this.#dataDir = dataDir;
    this.#log = log;
    this.variables = { [DATABASE_URL_VARIABLE]: `postgres://postgres@127.0.0.1:${port}/postgres` };
    if (declaresHost) this.variables[DATABASE_HOST_VARIABLE] = `postgres://127.0.0.1:${port}`;
  }

  static async start(dataDir: string | undefined, declaresHost: boolean, log: (line: string) => void): Promise<LazyPglite> {
    const listener = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (listener.address() as { port: number }).port;
    const db = new LazyPglite(listener, port, dataDir, declaresHost, log);
    listener.on('connection', (socket) => db.#accept(socket));
    listener.unref();
    return db;
  }

  describe(): string {
    return `Serving embedded Postgres (PGlite with pgvector) for database_url at postgres://127.0.0.1:${this.#port}, data ${this.#dataDir ? `in "${this.#dataDir}"` : 'in memory'}`;
  }

  #accept(client: Socket): void {
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    client.on('error', () => client.destroy());
    this.#db ??= this.#startDb();
    this.#db.then(
      (db) => {
        if (client.destroyed) return;
        const upstream = createConnection({ host: '127.0.0.1', port: db.port });
        this.#sockets.add(upstream);
        upstream.on('close', () => {
          this.#sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      },
      () => client.destroy(),
    );
  }

  async #startDb(): Promise<EmbeddedPostgres> {
    const started = performance.now();
    if (this.#dataDir) mkdirSync(this.#dataDir, { recursive: true });
    try {
      const db = await startEmbeddedPostgres({ dataDir: this.#dataDir });
      this.#log(`embedded Postgres started in ${Math.round(performance.now() - started)} ms`);
      return db;
    } catch (err) {
      this.#log(`embedded Postgres failed to start: ${err instanceof Error ? err.message : String(err)}`);
      this.#db = undefined; // the next connection tries again
      throw err;
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    const db = this.#db;
    this.#db = undefined;
    if (db) await db.then((d) => d.close()).catch(() => {});
  }
}
