/**
 * The `edge-agents up` command as users run it: startup output, and clear errors (exit 1, file, key and fix named)
 * for bad manifests, missing builds and unusable ports.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APPS, ROOT } from '../helpers/apps.ts';
import { startHostProcess, tempDir } from '../helpers/host.ts';

const dir = tempDir();
afterAll(() => dir.remove());

const PROBE_WASM = join(ROOT, 'dist/test/probe.wasm');

function manifest(name: string, body: string): string {
  const file = join(dir.path, `${name}.toml`);
  writeFileSync(file, body);
  return file;
}

function runUp(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'host/bin/edge-agents.ts'), 'up', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const minimal = (extra = '', component = '') => `spin_manifest_version = 2
[application]
name = "cli-test"
${extra}
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "${PROBE_WASM}"
${component}
`;

describe('edge-agents up', () => {
  it("prints spin up's startup lines, serves, and exits 0 on SIGTERM", async () => {
    const host = await startHostProcess([
      '-f',
      APPS.probe,
      '--runtime-config-file',
      join(APPS.probe, '../runtime-config.toml'),
      '--variable',
      'secret_token=x',
      '--state-dir',
      join(dir.path, 'state'),
    ]);
    let health: string;
    try {
      health = await (await fetch(`${host.url}/.well-known/spin/health`)).text();
    } finally {
      await host.stop();
    }
    expect(health).toBe('OK');
    const out = host.output();
    expect(out).toContain('Using runtime config [key_value_store.shared: spin]');
    expect(out).toMatch(
      /Serving http:\/\/127\.0\.0\.1:\d+\nAvailable Routes:\n {2}probe: http:\/\/127\.0\.0\.1:\d+\/exact\n {4}Probe with grants/,
    );
    expect(out).toMatch(/ {2}probe: http:\/\/127\.0\.0\.1:\d+\/probe \(wildcard\)/);
    expect(out).not.toContain('private-probe:');
    expect(host.child.exitCode).toBe(0);
  });

  it('--help lists the flags', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'host/bin/edge-agents.ts'), 'up', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const flag of ['--from', '--listen', '--runtime-config-file', '--env', '--variable', '--key-value', '--state-dir', '--log-dir'])
      expect(r.stdout).toContain(flag);
  });

  it('a TOML syntax error names the file', () => {
    const file = manifest('syntax', 'spin_manifest_version = 2\n[application\nname = "x"\n');
    const r = runUp(['-f', file]);
    expect(r.status).toBe(1);
    expect(r.output).toContain(file);
  });

  it('an unknown key names its path and the allowed keys', () => {
    const file = manifest('unknown-key', minimal('', 'colour = "blue"'));
    const r = runUp(['-f', file]);
    expect(r.status).toBe(1);
    expect(r.output).toContain('component.probe.colour');
    expect(r.output).toContain('allowed_outbound_hosts');
  });

  it('a missing build says to run npm run build', () => {
    const file = manifest('missing-wasm', minimal().replace(PROBE_WASM, join(dir.path, 'nope.wasm')));
    const r = runUp(['-f', file]);
    expect(r.status).toBe(1);
    expect(r.output).toContain("component 'probe'");
    expect(r.output).toContain('npm run build');
  });

  it('a required variable nobody provides is a startup error with the fix', () => {
    const file = manifest('required', minimal('[variables]\ntoken = { required = true }'));
    const r = runUp(['-f', file]);
    expect(r.status).toBe(1);
    expect(r.output).toContain('token');
    expect(r.output).toContain('SPIN_VARIABLE_TOKEN');
  });

  it('a template over an undeclared variable is rejected at load', () => {
    const file = manifest('template', minimal('', '[component.probe.variables]\nx = "{{ not_declared }}"'));
    const r = runUp(['-f', file]);
    expect(r.status).toBe(1);
    expect(r.output).toContain('not_declared');
  });

  it('a port in use is reported with the --find-free-port hint', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const file = manifest('port', minimal());
      const r = spawnSync(process.execPath, [join(ROOT, 'host/bin/edge-agents.ts'), 'up', '-f', file, '--listen', `127.0.0.1:${port}`], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).toBe(1);
      expect(`${r.stdout}${r.stderr}`).toContain(`127.0.0.1:${port} is already in use`);
      expect(`${r.stdout}${r.stderr}`).toContain('--find-free-port');
    } finally {
      blocker.close();
    }
  });
});
