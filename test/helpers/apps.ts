import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The Spin apps the tests build and run. */
export const APPS = {
  main: join(ROOT, 'spin.toml'),
  conformance: join(ROOT, 'test/conformance/spin.toml'),
  probe: join(ROOT, 'test/apps/probe/spin.toml'),
  llm: join(ROOT, 'test/apps/llm/spin.toml'),
  pg: join(ROOT, 'test/apps/pg/spin.toml'),
  sandbox: join(ROOT, 'test/apps/sandbox/spin.toml'),
  redis: join(ROOT, 'test/apps/redis/spin.toml'),
  wasiKeyValue: join(ROOT, 'test/apps/wasi-keyvalue/spin.toml'),
} as const;
