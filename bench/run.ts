/**
 * `npm run bench`: builds what is stale, runs the benchmark suites, writes `bench/results/latest.json` and
 * `bench/results/latest.md`. `--quick` shortens every measurement (for a smoke run); naming suites
 * (`npm run bench -- router`) runs only those.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../scripts/build.ts';
import * as a2a from './a2a.bench.ts';
import * as agents from './agents.bench.ts';
import * as host from './host.bench.ts';
import * as mcp from './mcp.bench.ts';
import * as rag from './rag.bench.ts';
import * as router from './router.bench.ts';
import * as sandbox from './sandbox.bench.ts';
import * as workflow from './workflow.bench.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function version(pkg: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

for (const manifest of ['spin.toml', 'bench/apps/hello/spin.toml']) await buildApp({ manifest: join(ROOT, manifest), log });

const env = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  jcoTranspile: version('@bytecodealliance/jco-transpile'),
  componentizeJs: version('@bytecodealliance/componentize-js'),
  quick,
};
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const SUITES = [
  { name: 'host', run: host.run },
  { name: 'router', run: router.run },
  { name: 'agents', run: agents.run },
  { name: 'sandbox', run: sandbox.run },
  { name: 'a2a', run: a2a.run },
  { name: 'mcp', run: mcp.run },
  { name: 'rag', run: rag.run },
  { name: 'workflow', run: workflow.run },
];
const ALL_SUITES = SUITES.map((s) => s.name);
const unknown = only.filter((n) => !ALL_SUITES.includes(n));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')} (suites: ${ALL_SUITES.join(', ')})`);
  process.exit(2);
}
const suites = SUITES.filter((s) => only.length === 0 || only.includes(s.name));
// Results from before the transpiler was pinned name jco's version instead.
const header = (e: typeof env & { jco?: string }) =>
  `${e.date} · ${e.cpu} · ${e.cores} cores · ${e.memoryGiB} GiB · Node ${e.node} · ${e.jcoTranspile ? `jco-transpile ${e.jcoTranspile}` : `jco ${e.jco}`} · componentize-js ${e.componentizeJs}${e.quick ? ' · **quick run**' : ''}`;
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
for (const suite of suites) {
  log(`suite ${suite.name}`);
  const r = await suite.run({ root: ROOT, quick, log });
  // One file per suite, so running one suite keeps the others' latest results.
  writeFileSync(join(ROOT, `bench/results/${suite.name}.json`), `${JSON.stringify({ env, data: r.data }, null, 2)}\n`);
  writeFileSync(join(ROOT, `bench/results/${suite.name}.md`), `## ${suite.name}\n\n_${header(env)}_\n\n${r.markdown}\n`);
}

// latest.{json,md}: every suite's most recent result, whenever it ran.
const latest: Record<string, unknown> = {};
const markdown: string[] = [
  '# Benchmark results',
  '',
  'Load generator and servers share the same cores. Closed-loop load on keep-alive connections.',
  '',
];
for (const name of ALL_SUITES) {
  const file = join(ROOT, `bench/results/${name}.json`);
  if (!existsSync(file)) continue;
  latest[name] = JSON.parse(readFileSync(file, 'utf8'));
  markdown.push(readFileSync(join(ROOT, `bench/results/${name}.md`), 'utf8'));
}
writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
writeFileSync(join(ROOT, 'bench/results/latest.md'), `${markdown.join('\n')}\n`);
console.log(markdown.join('\n'));
