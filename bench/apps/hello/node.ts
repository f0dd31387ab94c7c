/** The benchmark app on plain Node: `node bench/apps/hello/node.ts <port>`; prints `listening <url>`. */
import { serve } from '@hono/node-server';
import { app } from './app.ts';

const server = serve({ fetch: app.fetch, port: Number(process.argv[2] ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening http://127.0.0.1:${info.port}`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
