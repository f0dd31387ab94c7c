/** Shared helpers for the deployment tests: temp copies of the repo's deployment and script runners. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { buildKustomization } from '../../scripts/validate-deploy.ts';
import type { K8sObject } from '../../scripts/validate-deploy.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FULL_MANIFEST = join(ROOT, 'test', 'deploy', 'fixtures', 'full-spin.toml');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript script of the project with the Node running the tests, without EDGE_AGENTS_IMAGE. */
export function runScript(script: string, args: string[], env: Record<string, string> = {}): RunResult {
  const { EDGE_AGENTS_IMAGE: _ignored, ...base } = process.env;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...base, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runBash(script: string, args: string[]): RunResult {
  const r = spawnSync('bash', [script, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const temps: string[] = [];
export function tempDir(prefix = 'edge-agents-deploy-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
export function removeTemps(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * A throwaway copy of the deployment (k3s/, kairos/, deploy/, spin.toml) whose spinkube/ is generated from
 * `manifest` (default: the repo's spin.toml).
 */
export function makeRepo(manifest = join(ROOT, 'spin.toml')): string {
  const dir = tempDir();
  for (const d of ['k3s', 'kairos', 'deploy']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'spin.toml'), readFileSync(manifest, 'utf8'));
  const r = runScript('spinkube.ts', ['--manifest', join(dir, 'spin.toml'), '--out', join(dir, 'spinkube')]);
  if (r.status !== 0) throw new Error(`generator failed: ${r.stderr}`);
  return dir;
}

/** The objects `kubectl apply -k k3s/ && kubectl apply -k spinkube/` would send, for `root`. */
export function deploymentObjects(root: string): K8sObject[] {
  return [...buildKustomization(join(root, 'k3s'), root).objects, ...buildKustomization(join(root, 'spinkube'), root).objects];
}

/** Deep copy, so that a test can break an object without touching the others. */
export const clone = <T>(v: T): T => structuredClone(v);

/** Parses all documents of a YAML text. */
export function yamlText(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => d.toJS() as unknown);
}

/** Parses all documents of a YAML file. */
export const yamlDocs = (path: string): unknown[] => yamlText(readFileSync(path, 'utf8'));

/** Walks a dotted path (`spec.rules.0.http`) through parsed YAML/JSON. */
export function dig(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path === '' ? [] : path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Marker for {@link edit}: delete the property. */
export const DELETE = Symbol('delete');

/** Sets (or, with DELETE, removes) the property at a dotted path; intermediate objects must exist. */
export function edit(value: unknown, path: string, next: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  const parent = dig(value, keys.join('.'));
  if (typeof parent !== 'object' || parent === null) throw new Error(`no object at ${keys.join('.')}`);
  if (next === DELETE) delete (parent as Record<string, unknown>)[last];
  else (parent as Record<string, unknown>)[last] = next;
}
