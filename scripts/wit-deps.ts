/**
 * Assembles `wit/deps/` from installed npm packages, so no third-party WIT is committed:
 * - WASI 0.2 from jco's bundled WIT (0.2.12), re-versioned to 0.2.10, the version the StarlingMonkey engine in
 *   componentize-js exports `wasi:http/incoming-handler` at (a semver-compatible patch level);
 * - `fermyon:spin@2.0.0` from the project's own `wit/spin/`, `spin:postgres@3.0.0` from `wit/spin-postgres/` and
 *   `wasi:keyvalue@0.2.0-draft2` from `wit/wasi-keyvalue/`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WASI_SRC = join(ROOT, 'node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12');
/** The project's own packages: source folder → folder under `deps/`. */
const OWN_PACKAGES: [string, string][] = [
  [join(ROOT, 'wit/spin'), 'fermyon-spin'],
  [join(ROOT, 'wit/spin-postgres'), 'spin-postgres'],
  [join(ROOT, 'wit/wasi-keyvalue'), 'wasi-keyvalue'],
];
const WASI_PACKAGES = ['cli', 'clocks', 'filesystem', 'http', 'io', 'random', 'sockets'];

async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const p of WASI_PACKAGES) {
    const text = await readFile(join(WASI_SRC, `wasi-${p}`, 'package.wit'), 'utf8');
    files.set(`wasi-${p}/package.wit`, text.replaceAll('@0.2.12', '@0.2.10'));
  }
  for (const [src, dest] of OWN_PACKAGES) {
    for (const name of readdirSync(src)
      .filter((f) => f.endsWith('.wit'))
      .sort()) {
      files.set(`${dest}/${name}`, await readFile(join(src, name), 'utf8'));
    }
  }
  return files;
}

/** Writes `<witDir>/deps` unless it is already up to date. */
export async function assembleWitDeps(witDir: string): Promise<void> {
  const files = await sources();
  const hash = createHash('sha256');
  for (const [name, text] of files) hash.update(name).update('\0').update(text);
  const digest = hash.digest('hex');
  const deps = join(witDir, 'deps');
  const stamp = join(deps, '.stamp');
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === digest) return;
  // Written aside and swapped in, so a concurrent build never reads a half-written tree.
  const fresh = `${deps}.${process.pid}.new`;
  const stale = `${deps}.${process.pid}.old`;
  await rm(fresh, { recursive: true, force: true });
  for (const [name, text] of files) {
    await mkdir(dirname(join(fresh, name)), { recursive: true });
    await writeFile(join(fresh, name), text);
  }
  await writeFile(join(fresh, '.stamp'), digest);
  if (existsSync(deps)) await rename(deps, stale).catch(() => {});
  await rename(fresh, deps).catch(async () => rm(fresh, { recursive: true, force: true })); // another build won
  await rm(stale, { recursive: true, force: true });
}

if (import.meta.main) await assembleWitDeps(join(ROOT, 'wit'));
