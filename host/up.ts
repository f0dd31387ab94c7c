/**
 * `edge-agents up`: load an app, listen, print what `spin up` prints, serve until SIGINT/SIGTERM.
 *
 * @module
 */
import type { Server } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from './app.ts';
import { parseListen, type UpOptions } from './cli.ts';
import { HostError } from './errors.ts';
import { listen } from './server.ts';

export interface RunningApp {
  app: App;
  server: Server;
  url: string;
  close(): Promise<void>;
}

function manifestPath(from: string): string {
  const p = resolve(from);
  return existsSync(p) && statSync(p).isDirectory() ? join(p, 'spin.toml') : p;
}

/** Starts an app as `spin up` would; resolves once it is serving. */
export async function up(
  options: UpOptions,
  out: (line: string) => void = console.log,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<RunningApp> {
  const manifest = manifestPath(options.from);
  if (options.build) {
    const { buildApp } = await import('../scripts/build.ts');
    await buildApp({ manifest, log: (l) => out(l) });
  }
  const app = await App.load({
    manifest,
    runtimeConfigFile: options.runtimeConfigFile,
    stateDir: options.stateDir,
    logDir: options.logDir,
    env: options.env,
    variables: options.variables,
    keyValues: options.keyValues,
    quiet: options.quiet,
    log,
  });
  const { host, port } = parseListen(options.listen);
  let listening: Awaited<ReturnType<typeof listen>> | undefined;
  const attempts = options.findFreePort && port !== 0 ? 10 : 1;
  for (let i = 0; i < attempts && !listening; i++) {
    try {
      listening = await listen(app, { host, port: port === 0 ? 0 : port + i });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (i === attempts - 1) {
        await app.close();
        throw new HostError(`${host}:${port + i} is already in use.`, {
          code: 'listen-in-use',
          hint: options.findFreePort
            ? 'free one of the ports or use --listen'
            : 'to have the host search for a free port, use the --find-free-port option',
        });
      }
    }
  }
  const { server, url, address } = listening!;
  app.setListenAuthority(`${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`);
  for (const line of app.startupLines(url)) out(line);
  return {
    app,
    server,
    url,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await app.close();
    },
  };
}
