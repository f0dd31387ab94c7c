/**
 * A loaded Spin application: its manifest, runtime config, components and the policies between them.
 *
 * `App.handle` is what the listener calls for every inbound request: reserved `/.well-known/spin/` routes, then
 * the router, then a fresh instance of the matched component with Spin's request headers. Guests reach the
 * outside through the per-component outbound policy (`allowed_outbound_hosts`), which also dispatches
 * `http://<id>.spin.internal` requests to components in process and self requests back over the listener.
 *
 * @module
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoadedComponent } from './component.ts';
import { HostError } from './errors.ts';
import { invoke } from './invoke.ts';
import { loadManifest, type Component, type HttpTrigger, type Manifest } from './manifest.ts';
import { AllowedHosts, deniedDestination, denialMessage, serviceChainingTarget } from './outbound-hosts.ts';
import { sendNetwork } from './outbound-http.ts';
import { chainedHeaders, Router, spinHeaders } from './routes.ts';
import { checkStoreLabels, loadRuntimeConfig, runtimeConfigSummary, type RuntimeConfig } from './runtime-config.ts';
import type { RequestContext, RequestHandler } from './server.ts';
import { KeyValueStores, keyValueImport, type KvStoreConfig } from './spin/key-value.ts';
import { llmImport } from './spin/llm.ts';
import { PostgresPools, postgresImport } from './spin/postgres.ts';
import { RedisPools, redisImport } from './spin/redis.ts';
import { wasiKeyValueImports } from './spin/wasi-keyvalue.ts';
import { embeddedDatabaseFor, type EmbeddedDatabase } from './embedded-postgres.ts';
import { VariableResolver } from './variables.ts';
import { httpTypes, outgoingHandler, HttpErrorCodeError, type HostRequest, type HostResponse, type OutboundOptions } from './wasi/http.ts';
import { ByteQueue, InputStream, IoError, OutputStream, poll, Pollable } from './wasi/io.ts';
import { cliImports, filesystemTypes, insecureRandom, insecureSeed, monotonicClock, preopens, random, wallClock } from './wasi/system.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where transpiled components are cached, shared by every app this checkout runs. */
export const DEFAULT_CACHE_DIR = join(ROOT, 'node_modules/.cache/edge-agents/jco');

export interface AppOptions {
  /** Path of `spin.toml`. */
  manifest: string;
  runtimeConfigFile?: string | undefined;
  /** `--state-dir`; `""` keeps state in memory. */
  stateDir?: string | undefined;
  /** `--log-dir`; `""` turns file logs off. */
  logDir?: string | undefined;
  /** `-e` pairs, applied to every component after its manifest `environment`. */
  env?: [string, string][];
  /** `--variable` values. */
  variables?: Map<string, string>;
  /** `--key-value` pairs written to the `default` store at startup. */
  keyValues?: [string, string][];
  /** Don't echo guest stdout/stderr to the terminal. */
  quiet?: boolean;
  cacheDir?: string;
  /** The environment variable providers read; defaults to `process.env`. */
  processEnv?: NodeJS.ProcessEnv;
  /** Where host messages (warnings, errors, denials) go; defaults to stderr. */
  log?: (line: string) => void;
}

interface Runtime {
  id: string;
  manifest: Component;
  component: LoadedComponent;
  allowed: AllowedHosts;
  /** Every import except the per-request outgoing handler. */
  imports: Record<string, unknown>;
  logs: WriteStream[];
}

const STATIC_IMPORTS: Record<string, unknown> = {
  'wasi:io/poll': { Pollable, poll },
  'wasi:io/error': { Error: IoError },
  'wasi:io/streams': { InputStream, OutputStream },
  'wasi:http/types': httpTypes,
  'wasi:clocks/monotonic-clock': monotonicClock,
  'wasi:clocks/wall-clock': wallClock,
  'wasi:random/random': random,
  'wasi:random/insecure': insecureRandom,
  'wasi:random/insecure-seed': insecureSeed,
  'wasi:filesystem/types': filesystemTypes,
  'wasi:filesystem/preopens': preopens,
};

function unversioned(name: string): string {
  const at = name.indexOf('@');
  return at === -1 ? name : name.slice(0, at);
}

export class App implements RequestHandler {
  readonly manifest: Manifest;
  readonly runtimeConfig: RuntimeConfig;
  readonly router: Router;
  readonly stores: KeyValueStores;
  readonly variables: VariableResolver;
  /** Postgres pools shared by every component, closed with the app. */
  readonly #pgPools = new PostgresPools();
  /** Redis connection pools shared by every component, closed with the app. */
  readonly #redisPools = new RedisPools();
  /** The embedded Postgres serving `database_url`, when the app left it empty. */
  #embeddedDb: EmbeddedDatabase | undefined;
  readonly #runtimes: Map<string, Runtime>;
  readonly #log: (line: string) => void;
  #listenAuthority: string | undefined;
  #warnedUnmatched = false;

  private constructor(init: {
    manifest: Manifest;
    runtimeConfig: RuntimeConfig;
    router: Router;
    stores: KeyValueStores;
    variables: VariableResolver;
    runtimes: Map<string, Runtime>;
    log: (line: string) => void;
  }) {
    this.manifest = init.manifest;
    this.runtimeConfig = init.runtimeConfig;
    this.router = init.router;
    this.stores = init.stores;
    this.variables = init.variables;
    this.#runtimes = init.runtimes;
    this.#log = init.log;
  }

  /** Loads and validates everything; throws {@link HostError} naming the file, key and fix. */
  static async load(options: AppOptions): Promise<App> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const manifest = await loadManifest(resolve(options.manifest));
    for (const w of manifest.warnings) log(`Warning: ${w}`);
    const runtimeConfig = await loadRuntimeConfig(options.runtimeConfigFile ? resolve(options.runtimeConfigFile) : undefined, {
      manifestDir: manifest.dir,
      ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
      ...(options.logDir !== undefined ? { logDir: options.logDir } : {}),
    });
    checkStoreLabels(manifest, runtimeConfig);
    const router = new Router(manifest);
    const resolverOptions = {
      manifest,
      cliVariables: Object.fromEntries(options.variables ?? []),
      providers: runtimeConfig.variablesProviders,
      env: options.processEnv ?? process.env,
    };
    let variables = new VariableResolver(resolverOptions);
    variables.ensureRequiredResolvable();
    // An app that declares database_url but leaves it empty gets the embedded PGlite (see embedded-postgres.ts).
    const embeddedDb = await embeddedDatabaseFor(manifest, variables, runtimeConfig.stateDir, log);
    if (embeddedDb) {
      variables = new VariableResolver({ ...resolverOptions, cliVariables: { ...resolverOptions.cliVariables, ...embeddedDb.variables } });
    }

    const kvConfigs = new Map<string, KvStoreConfig>();
    for (const [label, c] of Object.entries(runtimeConfig.keyValueStores)) {
      kvConfigs.set(label, c.type === 'redis' ? c : { type: 'spin', path: c.path ?? undefined });
    }
    const stores = new KeyValueStores(kvConfigs);
    const componentIds = Object.keys(manifest.components);
    const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    const app = new App({ manifest, runtimeConfig, router, stores, variables, runtimes: new Map(), log });
    app.#embeddedDb = embeddedDb;

    const loaded = await Promise.all(
      Object.values(manifest.components).map(async (c): Promise<Runtime> => {
        if (c.source.kind !== 'local') {
          throw new HostError(`component '${c.id}' has a ${c.source.kind} source, which this host cannot fetch`, {
            code: 'unsupported',
            file: manifest.file,
            key: `component.${c.id}.source`,
            hint: 'build the component locally and point `source` at the .wasm file',
          });
        }
        if (c.files.length > 0) log(`Warning: component '${c.id}' mounts files; this host does not provide a filesystem to guests yet`);
        const allowed = AllowedHosts.parse(
          c.allowedOutboundHosts.map((entry) => variables.resolveStatic(entry)),
          componentIds,
        );
        const component = await LoadedComponent.load(c.id, c.source.absolutePath, {
          cacheDir,
          maxInstanceMemory: runtimeConfig.maxInstanceMemory,
        });
        const logs: WriteStream[] = [];
        const sink = (name: 'stdout' | 'stderr') => {
          const file = runtimeConfig.logDir ? join(runtimeConfig.logDir, `${c.id}_${name}.txt`) : undefined;
          let stream: WriteStream | undefined;
          if (file) {
            mkdirSync(runtimeConfig.logDir!, { recursive: true });
            stream = createWriteStream(file, { flags: 'a' });
            logs.push(stream);
          }
          const terminal = options.quiet ? undefined : name === 'stdout' ? process.stdout : process.stderr;
          return (chunk: Uint8Array) => {
            stream?.write(chunk);
            terminal?.write(chunk);
          };
        };
        const env: [string, string][] = [...Object.entries(c.environment), ...(options.env ?? [])];
        const wasiKv = wasiKeyValueImports(stores, c.keyValueStores);
        const imports: Record<string, unknown> = {
          ...STATIC_IMPORTS,
          ...cliImports({ stdout: sink('stdout'), stderr: sink('stderr') }, env),
          'fermyon:spin/key-value': keyValueImport(stores, c.keyValueStores),
          'wasi:keyvalue/store': wasiKv.store,
          'wasi:keyvalue/atomics': wasiKv.atomics,
          'wasi:keyvalue/batch': wasiKv.batch,
          'fermyon:spin/llm': llmImport(runtimeConfig.llmCompute, c.aiModels),
          'fermyon:spin/postgres': postgresImport(allowed, log, app.#pgPools, 2),
          'spin:postgres/postgres': postgresImport(allowed, log, app.#pgPools, 3),
          'fermyon:spin/redis': redisImport(allowed, log, app.#redisPools),
          'fermyon:spin/variables': {
            get: (name: string) => {
              const r = variables.get(c.id, name);
              if ('ok' in r) return r.ok;
              throw r.err;
            },
          },
        };
        const missing = component.imports.filter((i) => !(unversioned(i) in imports) && unversioned(i) !== 'wasi:http/outgoing-handler');
        if (missing.length > 0) {
          throw new HostError(`component '${c.id}' imports ${missing.join(', ')}, which this host does not implement`, {
            code: 'component-invalid',
            file: manifest.file,
            key: `component.${c.id}`,
            hint: 'build it against a world that imports only the interfaces listed in wit/worlds.wit',
          });
        }
        return { id: c.id, manifest: c, component, allowed, imports, logs };
      }),
    );
    for (const r of loaded) app.#runtimes.set(r.id, r);

    if (options.keyValues && options.keyValues.length > 0) {
      const store = stores.open('default');
      for (const [k, v] of options.keyValues) await store.set(k, new TextEncoder().encode(v));
    }
    return app;
  }

  /** The listener's `host:port`, used for self requests. */
  setListenAuthority(authority: string): void {
    this.#listenAuthority = authority;
  }

  /** The lines `spin up` prints before serving. */
  startupLines(baseUrl: string): string[] {
    const lines: string[] = [];
    const summary = runtimeConfigSummary(this.runtimeConfig);
    if (summary) lines.push(summary);
    if (this.runtimeConfig.logDir) lines.push(`Logging component stdio to "${this.runtimeConfig.logDir}/"`);
    if (this.#embeddedDb) lines.push(this.#embeddedDb.describe());
    const usesDefault = Object.values(this.manifest.components).some((c) => c.keyValueStores.includes('default'));
    if (usesDefault) {
      const d = this.runtimeConfig.keyValueStores.default;
      const where = d && d.type === 'spin' && d.path ? `"${d.path}"` : d?.type === 'redis' ? 'Redis' : 'memory';
      lines.push(`Storing default key-value data to ${where}.`);
    }
    lines.push('', `Serving ${baseUrl}`, 'Available Routes:', ...this.router.routeTable(baseUrl));
    return lines;
  }

  /** Inbound requests from the listener. */
  async handle(req: HostRequest, ctx: RequestContext): Promise<HostResponse> {
    const q = req.pathWithQuery.indexOf('?');
    const path = q === -1 ? req.pathWithQuery : req.pathWithQuery.slice(0, q);
    const match = this.router.match(path);
    if (!match) {
      if (!this.#warnedUnmatched) {
        this.#warnedUnmatched = true;
        this.#log(
          `Request to ${path} matched no pattern, and received a generic 404 response. To serve a more informative 404 page, add a catch-all (/...) route.`,
        );
      }
      return textResponse(404, '');
    }
    if (match.kind === 'well-known') {
      if (match.name === 'health') return textResponse(200, 'OK');
      if (match.name === 'info') {
        const info: Record<string, string> = { name: this.manifest.application.name };
        if (this.manifest.application.version) info.version = this.manifest.application.version;
        return textResponse(200, JSON.stringify(info), 'application/json');
      }
      return textResponse(404, '');
    }
    if (match.trigger.staticResponse) return staticResponse(match.trigger);
    const runtime = this.#runtimes.get(match.trigger.component!)!;
    const headers = [
      ...req.headers,
      ...spinHeaders(match, {
        scheme: req.scheme,
        host: req.authority || undefined,
        pathWithQuery: req.pathWithQuery,
        clientAddr: ctx.clientAddr,
      }),
    ];
    return this.#run(runtime, { ...req, headers }, ctx.signal);
  }

  /** Service chaining: a request to `http://<id>.spin.internal/…`, dispatched in process. */
  chain(componentId: string, req: HostRequest, signal: AbortSignal): Promise<HostResponse> {
    const runtime = this.#runtimes.get(componentId);
    if (!runtime || !this.router.triggerForComponent(componentId)) {
      return Promise.reject(new HttpErrorCodeError({ tag: 'destination-not-found' }, `no component '${componentId}' with an HTTP trigger`));
    }
    const q = req.pathWithQuery.indexOf('?');
    const path = q === -1 ? req.pathWithQuery : req.pathWithQuery.slice(0, q);
    const query = q === -1 ? undefined : req.pathWithQuery.slice(q + 1);
    const headers = [...req.headers.filter(([name]) => name.toLowerCase() !== 'host'), ...chainedHeaders(componentId, path, query)];
    return this.#run(runtime, { ...req, headers }, signal);
  }

  #run(runtime: Runtime, req: HostRequest, signal: AbortSignal): Promise<HostResponse> {
    // An instance's outbound requests never outlive it, nor its client: a guest that gave up on a slow upstream
    // (a timeout raced against fetch) must not leave the request running.
    const outbound = new AbortController();
    const abort = () => outbound.abort();
    signal.addEventListener('abort', abort, { once: true });
    const imports = {
      ...runtime.imports,
      'wasi:http/outgoing-handler': outgoingHandler((out, options) => this.#send(runtime, out, options, outbound.signal)),
    };
    return invoke(runtime.component, imports, req, this.#log, () => {
      signal.removeEventListener('abort', abort);
      outbound.abort();
    });
  }

  /** The outbound policy of one component: denial, service chaining, self requests, network. */
  #send(runtime: Runtime, req: HostRequest, options: OutboundOptions, signal: AbortSignal): Promise<HostResponse> {
    const authority = req.authority;
    const hostname = authority.replace(/:\d+$/, '');
    if (authority === '' || hostname === 'self.alt') {
      if (!runtime.allowed.allowsSelf() || !this.#listenAuthority) {
        this.#log(denialMessage(req.scheme, 'self'));
        return Promise.reject(new HttpErrorCodeError({ tag: 'HTTP-request-denied' }));
      }
      return sendNetwork({ ...req, scheme: 'http', authority: this.#listenAuthority }, options, signal);
    }
    const port = /:(\d+)$/.exec(authority)?.[1];
    const target = { scheme: req.scheme, host: hostname, port: port === undefined ? undefined : Number(port) };
    if (!runtime.allowed.allows(target)) {
      const destination = deniedDestination(target);
      this.#log(denialMessage(req.scheme, destination.slice(destination.indexOf('://') + 3)));
      return Promise.reject(new HttpErrorCodeError({ tag: 'HTTP-request-denied' }));
    }
    const chained = serviceChainingTarget(authority);
    if (chained !== undefined) return this.chain(chained, req, signal);
    return sendNetwork(req, options, signal);
  }

  /** Per-component instance and pool counters. */
  stats(): Record<string, ReturnType<LoadedComponent['stats']>> {
    return Object.fromEntries([...this.#runtimes].map(([id, r]) => [id, r.component.stats()]));
  }

  async close(): Promise<void> {
    await this.stores.close();
    await this.#pgPools.close();
    this.#redisPools.close();
    await this.#embeddedDb?.close();
    for (const r of this.#runtimes.values()) {
      r.component.dispose();
      for (const s of r.logs) s.end();
    }
  }
}

function textResponse(status: number, text: string, contentType = 'text/plain'): HostResponse {
  const body = ByteQueue.from(text);
  const headers: [string, string][] = text
    ? [
        ['content-type', contentType],
        ['content-length', String(body.size)],
      ]
    : [];
  return { status, headers, body };
}

function staticResponse(trigger: HttpTrigger): HostResponse {
  const s = trigger.staticResponse!;
  return { status: s.statusCode, headers: [...s.headers], body: ByteQueue.from(s.body ?? '') };
}
