/**
 * An embedded Postgres (PGlite, Postgres compiled to WebAssembly) with pgvector, served over the Postgres wire
 * protocol on 127.0.0.1, so tests and `npm start` get a real `postgres://` database without installing one.
 *
 * PGlite is single-connection: the socket server accepts many client connections but runs their queries one at a
 * time on its one backend session, so concurrent guests are serialized here (a real Postgres is needed to observe
 * true overlap) and session settings (`SET`) made through one client connection are seen by the others.
 *
 * @module
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresOptions {
  /** Where PGlite keeps its files; `undefined` keeps the database in memory. */
  dataDir?: string | undefined;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`; PGlite accepts any user and password. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The host's clients (`pg.Pool`, one per address) may hold several connections; the server's default of one
 * would make the second wait for the first to be released.
 */
const MAX_CONNECTIONS = 64;

/** Starts PGlite (with the `vector` extension available to `CREATE EXTENSION`) and its socket server. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const db = await PGlite.create({ ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}), extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: options.port ?? 0, maxConnections: MAX_CONNECTIONS });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const port = Number(server.getServerConn().split(':').pop());
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}
