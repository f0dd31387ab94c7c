/**
 * Running apps on the host from tests: in process (fast, inspectable) or as a child process (the real CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpOptions } from '../../host/cli.ts';
import { up, type RunningApp } from '../../host/up.ts';
import { ROOT } from './apps.ts';

/** How long a child host may take to print its `Serving` line. */
export const READINESS_TIMEOUT_MS = 60_000;

export interface TestApp extends RunningApp {
  stateDir: string;
  /** Host messages (warnings, denials, errors) and the startup lines. */
  output: string[];
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'edge-agents-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A runtime config with the given key-value labels in memory (no files), so a test shares no state with other
 * tests or with `npm start`. Remove the directory when done.
 */
export function memoryRuntimeConfig(labels: readonly string[] = ['agents', 'memory', 'router', 'tasks', 'workflows']): {
  file: string;
  remove(): void;
} {
  const dir = tempDir('edge-agents-rc-');
  const file = join(dir.path, 'runtime-config.toml');
  writeFileSync(file, labels.map((l) => `[key_value_store.${l}]\ntype = "spin"\n`).join('\n'));
  return { file, remove: dir.remove };
}

/** Starts an app in this process on a free port with its own state directory. */
export async function startApp(manifest: string, options: Partial<UpOptions> = {}): Promise<TestApp> {
  const state = tempDir();
  const output: string[] = [];
  const running = await up(
    {
      from: manifest,
      listen: '127.0.0.1:0',
      findFreePort: false,
      runtimeConfigFile: undefined,
      stateDir: state.path,
      logDir: undefined,
      env: [],
      variables: new Map(),
      keyValues: [],
      quiet: true,
      build: false,
      ...options,
    },
    (line) => output.push(line),
    (line) => output.push(line),
  );
  return {
    ...running,
    stateDir: state.path,
    output,
    close: async () => {
      await running.close();
      state.remove();
    },
  };
}

export interface HostProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `edge-agents up` as a child process on a free port; resolves when it prints `Serving <url>`.
 * Fails fast, with the child's output, if it exits first.
 */
export function startHostProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<HostProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'host/bin/edge-agents.ts'), 'up', '--listen', '127.0.0.1:0', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`host did not start within ${READINESS_TIMEOUT_MS} ms:\n${out}`));
    }, READINESS_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Serving (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1]!,
          output: () => out,
          stop: (signal = 'SIGTERM') =>
            new Promise((r) => {
              if (child.exitCode !== null) return r(child.exitCode);
              child.once('exit', (code) => r(code));
              child.kill(signal);
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code} before serving:\n${out}`));
    });
  });
}

/**
 * Variables that put the platform's router on an LLM fixture: the `chat` and `embed` aliases served by it, no answer
 * cache and no retries, so a test sees every request it causes. `extra` adds or overrides variables.
 */
export function fixtureVariables(fixture: { url: string }, extra: [string, string][] = []): Map<string, string> {
  return new Map([
    ['localai_url', fixture.url],
    [
      'model_map',
      JSON.stringify({ chat: [{ provider: 'local', model: 'fixture-chat' }], embed: [{ provider: 'local', model: 'fixture-embed' }] }),
    ],
    ['router_cache_ttl_seconds', '0'],
    ['router_max_retries', '0'],
    ...extra,
  ]);
}
