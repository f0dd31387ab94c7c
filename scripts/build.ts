/**
 * Builds the components of a Spin app into WebAssembly components.
 *
 *   node scripts/build.ts [-f spin.toml] [--force] [--quiet] [component-id …]
 *
 * Each component with a `[component.<id>.tool.edge-agents]` table (`entry`, `world`, optional `wit`) is bundled
 * with esbuild and componentized with componentize-js (StarlingMonkey) into its manifest `source`. A build is
 * skipped when the hash of the bundle, the WIT and the toolchain versions is unchanged, so a no-op build costs one
 * esbuild pass per component. Componentization runs in child processes, as many at once as there are cores.
 *
 * `spin build` uses this script too (`[component.<id>.build] command`), so users with Spin build the same artifact.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { loadManifest } from '../host/manifest.ts';
import { clientBundlePlugin } from './client-bundle.ts';
import { assembleWitDeps } from './wit-deps.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_VERSION = '1';

/** What to build for one component. */
export interface BuildTarget {
  id: string;
  entry: string;
  world: string;
  witDir: string;
  out: string;
}

export interface BuildResult {
  id: string;
  out: string;
  status: 'built' | 'cached' | 'failed';
  ms: number;
  bytes: number;
}

/** Thrown when a component fails to build; names the component and the cause. */
export class BuildError extends Error {
  readonly componentId: string;
  constructor(componentId: string, message: string, options?: { cause?: unknown }) {
    super(`component '${componentId}': ${message}`, options);
    this.componentId = componentId;
  }
}

/** Reads the build targets from a manifest. */
export async function buildTargets(manifestPath: string, only: string[] = []): Promise<BuildTarget[]> {
  const manifest = await loadManifest(manifestPath);
  const dir = dirname(resolve(manifestPath));
  const targets: BuildTarget[] = [];
  for (const [id, component] of Object.entries(manifest.components)) {
    const tool = component.tool['edge-agents'];
    if (!tool) continue;
    if (typeof tool.entry !== 'string' || typeof tool.world !== 'string') {
      throw new BuildError(id, `[component.${id}.tool.edge-agents] needs string 'entry' and 'world'`);
    }
    if (component.source.kind !== 'local') {
      throw new BuildError(id, `'source' must be a local path to build into (it is a ${component.source.kind} source)`);
    }
    targets.push({
      id,
      entry: resolve(dir, tool.entry),
      world: tool.world,
      witDir: resolve(dir, typeof tool.wit === 'string' ? tool.wit : relative(dir, join(ROOT, 'wit'))),
      out: component.source.absolutePath,
    });
  }
  const unknown = only.filter((id) => !targets.some((t) => t.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `no buildable component named ${unknown.map((u) => `'${u}'`).join(', ')} in ${manifestPath} (buildable: ${targets.map((t) => t.id).join(', ')})`,
    );
  }
  return only.length > 0 ? targets.filter((t) => only.includes(t.id)) : targets;
}

function witText(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.wit')) parts.push(p, '\0', readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return parts.join('\n');
}

async function toolchainVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'node_modules/@bytecodealliance/componentize-js/package.json'), 'utf8')) as {
    version: string;
  };
  return `componentize-js@${pkg.version}`;
}

/** Bundles one component's entry into a single ES module for StarlingMonkey. */
export async function bundle(target: BuildTarget, define: Record<string, string> = {}): Promise<string> {
  try {
    const result = await esbuild({
      entryPoints: [target.entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      conditions: ['worker', 'import', 'default'],
      minify: true,
      legalComments: 'none',
      external: ['fermyon:*', 'wasi:*', 'spin:*'],
      logLevel: 'silent',
      define,
      // `client-bundle:` imports embed a browser app (the ui component); see client-bundle.ts.
      plugins: [clientBundlePlugin()],
    });
    return result.outputFiles[0]!.text;
  } catch (cause) {
    const errors = (cause as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors;
    const detail = errors?.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('\n  ');
    throw new BuildError(target.id, `bundling ${relative(ROOT, target.entry)} failed${detail ? `:\n  ${detail}` : ''}`, { cause });
  }
}

function componentize(target: BuildTarget, source: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/componentize.ts'), source, target.witDir, target.world, target.out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (cause) => reject(new BuildError(target.id, 'could not start componentize', { cause })));
    child.on('exit', (code) => {
      if (code === 0) resolvePromise();
      else reject(new BuildError(target.id, `componentize-js failed (world '${target.world}'):\n${output.trim()}`));
    });
  });
}

async function buildOne(
  target: BuildTarget,
  force: boolean,
  toolchain: string,
  tmpDir: string,
  define: Record<string, string>,
): Promise<BuildResult> {
  const started = performance.now();
  const source = await bundle(target, define);
  const hash = createHash('sha256')
    .update(`${BUILD_VERSION}\0${toolchain}\0${target.world}\0`)
    .update(witText(target.witDir))
    .update(source)
    .digest('hex');
  const hashFile = `${target.out}.hash`;
  if (!force && existsSync(target.out) && existsSync(hashFile) && (await readFile(hashFile, 'utf8')) === hash) {
    return { id: target.id, out: target.out, status: 'cached', ms: performance.now() - started, bytes: statSync(target.out).size };
  }
  await mkdir(dirname(target.out), { recursive: true });
  // Private temporary names, renamed into place: concurrent builds (two test runs) never see a half-written file.
  const bundlePath = join(tmpDir, `${target.id}.${process.pid}.js`);
  const partial = `${target.out}.${process.pid}.partial`;
  await writeFile(bundlePath, source);
  await rm(hashFile, { force: true });
  try {
    await componentize({ ...target, out: partial }, bundlePath);
    await rename(partial, target.out);
  } finally {
    await rm(partial, { force: true });
    await rm(bundlePath, { force: true });
  }
  await writeFile(`${hashFile}.${process.pid}`, hash);
  await rename(`${hashFile}.${process.pid}`, hashFile);
  return { id: target.id, out: target.out, status: 'built', ms: performance.now() - started, bytes: statSync(target.out).size };
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with every failure collected. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        errors.push(err);
      }
    }
  });
  await Promise.all(workers);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'));
  return results;
}

export interface BuildOptions {
  manifest?: string;
  only?: string[];
  force?: boolean;
  log?: (line: string) => void;
  /** Report a component that fails to build through `log` and go on with the others (development only). */
  keepGoing?: boolean;
}

/** Builds every (or the named) component of an app; returns what was built or reused. */
export async function buildApp(options: BuildOptions = {}): Promise<BuildResult[]> {
  const manifest = resolve(options.manifest ?? join(ROOT, 'spin.toml'));
  const targets = await buildTargets(manifest, options.only);
  if (targets.length === 0) return [];
  const app = await loadManifest(manifest);
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const define = {
    __EDGE_AGENTS_VERSION__: JSON.stringify(app.application.version ?? pkg.version),
    __EDGE_AGENTS_COMPONENTS__: JSON.stringify(Object.keys(app.components)),
  };
  await assembleWitDeps(join(ROOT, 'wit'));
  const toolchain = await toolchainVersion();
  const tmpDir = join(ROOT, 'node_modules/.cache/edge-agents-build');
  await mkdir(tmpDir, { recursive: true });
  const log = options.log ?? (() => {});
  return mapLimit(targets, Math.max(1, availableParallelism()), async (t) => {
    let r: BuildResult;
    try {
      r = await buildOne(t, options.force ?? false, toolchain, tmpDir, define);
    } catch (err) {
      if (!options.keepGoing) throw err;
      log(`FAILED ${t.id}: ${err instanceof Error ? err.message : String(err)} (kept going; an older build stays in place)`);
      return { id: t.id, out: t.out, status: 'failed', ms: 0, bytes: existsSync(t.out) ? statSync(t.out).size : 0 };
    }
    log(
      `${r.status.padEnd(6)} ${t.id.padEnd(18)} ${(r.bytes / 1048576).toFixed(1).padStart(5)} MB  ${(r.ms / 1000).toFixed(1)} s  ${relative(process.cwd(), r.out)}`,
    );
    return r;
  });
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const only: string[] = [];
  let manifest: string | undefined;
  let force = false;
  let quiet = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-f' || a === '--from') manifest = args[++i];
    else if (a === '--force') force = true;
    else if (a === '-q' || a === '--quiet') quiet = true;
    else if (a.startsWith('-')) {
      console.error(`unknown option ${a}\nusage: node scripts/build.ts [-f spin.toml] [--force] [--quiet] [component-id …]`);
      process.exit(2);
    } else only.push(a);
  }
  const started = performance.now();
  try {
    const results = await buildApp({ manifest, only, force, log: quiet ? undefined : (l) => console.log(l) });
    if (!quiet) console.log(`${results.length} component(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
