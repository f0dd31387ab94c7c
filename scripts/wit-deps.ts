/**
 * Assembles `wit/deps/` from installed npm packages, so no third-party WIT is committed:
 * - WASI 0.2 from jco's bundled WIT (0.2.12), re-versioned to 0.2.10, the version the StarlingMonkey engine in
 *   componentize-js exports `wasi:http/incoming-handler` at (a semver-compatible patch level);
 * - `fermyon:spin@2.0.0` interfaces from `@fermyon/spin-sdk`, with the pre-1.0 `float32`/`float64` spellings
 *   updated to `f32`/`f64` (same types) because current wit-parser rejects the old names.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WASI_SRC = join(ROOT, 'node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12');
const SPIN_SRC = join(ROOT, 'node_modules/@fermyon/spin-sdk/bin/wit');
const WASI_PACKAGES = ['cli', 'clocks', 'filesystem', 'http', 'io', 'random', 'sockets'];
const SPIN_INTERFACES = ['key-value', 'variables', 'llm', 'redis', 'postgres', 'rdbms-types', 'sqlite', 'mqtt', 'mysql'];

async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const p of WASI_PACKAGES) {
    const text = await readFile(join(WASI_SRC, `wasi-${p}`, 'package.wit'), 'utf8');
    files.set(`wasi-${p}/package.wit`, text.replaceAll('@0.2.12', '@0.2.10'));
  }
  files.set('fermyon-spin/package.wit', 'package fermyon:spin@2.0.0;\n');
  for (const i of SPIN_INTERFACES) {
    const text = await readFile(join(SPIN_SRC, `${i}.wit`), 'utf8');
    files.set(`fermyon-spin/${i}.wit`, text.replace(/\bfloat32\b/g, 'f32').replace(/\bfloat64\b/g, 'f64'));
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
  await rm(deps, { recursive: true, force: true });
  for (const [name, text] of files) {
    await mkdir(dirname(join(deps, name)), { recursive: true });
    await writeFile(join(deps, name), text);
  }
  await writeFile(stamp, digest);
}

if (import.meta.main) await assembleWitDeps(join(ROOT, 'wit'));
