/**
 * `npm run bench`: builds what is stale, runs the benchmark suites, writes `bench/results/latest.json` and
 * `bench/results/latest.md`. `--quick` shortens every measurement (for a smoke run); naming suites
 * (`npm run bench -- router`) runs only those.
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../scripts/build.ts';
import * as host from './host.bench.ts';
import * as router from './router.bench.ts';

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
  jco: version('@bytecodealliance/jco'),
  componentizeJs: version('@bytecodealliance/componentize-js'),
  quick,
};
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = [
  { name: 'host', run: host.run },
  { name: 'router', run: router.run },
].filter((s) => only.length === 0 || only.includes(s.name));
const results: Record<string, unknown> = { env };
const markdown: string[] = [
  '# Benchmark results',
  '',
  `${env.date} · ${env.cpu} · ${env.cores} cores · ${env.memoryGiB} GiB · Node ${env.node} · jco ${env.jco} · componentize-js ${env.componentizeJs}${quick ? ' · **quick run**' : ''}`,
  '',
  'Load generator and servers share the same cores. Closed-loop load on keep-alive connections.',
  '',
];
for (const suite of suites) {
  log(`suite ${suite.name}`);
  const r = await suite.run({ root: ROOT, quick, log });
  results[suite.name] = r.data;
  markdown.push(`## ${suite.name}`, '', r.markdown, '');
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(ROOT, 'bench/results/latest.md'), `${markdown.join('\n')}\n`);
console.log(markdown.join('\n'));
