/** kairos/: the node profiles, the network-token generator and the renderer. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { decodeNetworkToken, kairosNodeLabels, validateKairosConfig } from '../../scripts/validate-deploy.ts';
import type { Problem } from '../../scripts/validate-deploy.ts';
import { ROOT, dig, removeTemps, runBash, tempDir } from './helpers.ts';

afterAll(removeTemps);

const KAIROS = join(ROOT, 'kairos');
const PROFILES = ['control-plane', 'worker-amd64', 'worker-arm64'];
const text = (profile: string) => readFileSync(join(KAIROS, `${profile}.yaml`), 'utf8');
const messages = (ps: Problem[]) => ps.map((p) => p.message).join('\n');
const check = (t: string, rendered = false) => messages(validateKairosConfig('test.yaml', t, { rendered }).problems);

describe('kairos/generate-token.sh', () => {
  const token = () => {
    const r = runBash(join(KAIROS, 'generate-token.sh'), []);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('prints base64 of an edgevpn connection config with 43-character keys', () => {
    const t = token();
    expect(t).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const config: unknown = parseYaml(Buffer.from(t, 'base64').toString('utf8'));
    for (const which of ['dht', 'crypto']) {
      expect(dig(config, `otp.${which}.interval`)).toBe(9000);
      expect(dig(config, `otp.${which}.length`)).toBe(43);
      expect(dig(config, `otp.${which}.key`)).toMatch(/^[A-Za-z0-9]{43}$/);
    }
    for (const field of ['room', 'rendezvous', 'mdns']) expect(dig(config, field)).toMatch(/^[A-Za-z0-9]{43}$/);
    expect(dig(config, 'max_message_size')).toBe(20971520);
    expect(decodeNetworkToken(t).errors).toEqual([]);
  });

  it('gives a different token every time', () => {
    const tokens = new Set([token(), token(), token()]);
    expect(tokens.size).toBe(3);
    const keys = [...tokens].map((t) => dig(parseYaml(Buffer.from(t, 'base64').toString('utf8')), 'otp.dht.key'));
    expect(new Set(keys).size).toBe(3);
  });

  it('--yaml prints the decoded config', () => {
    const r = runBash(join(KAIROS, 'generate-token.sh'), ['--yaml']);
    expect(r.status).toBe(0);
    expect(parseYaml(r.stdout)).toMatchObject({ otp: { dht: { interval: 9000, length: 43 } }, max_message_size: 20971520 });
  });

  it('decodeNetworkToken rejects malformed tokens', () => {
    expect(decodeNetworkToken('not base64!').errors.join()).toMatch(/not standard base64/);
    const short = Buffer.from(
      'otp:\n  dht: {interval: 9000, key: abc, length: 43}\n  crypto: {interval: 9000, key: abc, length: 43}\nroom: r\nrendezvous: r\nmdns: r\nmax_message_size: 1\n',
    ).toString('base64');
    const errors = decodeNetworkToken(short).errors.join('\n');
    expect(errors).toMatch(/otp\.dht\.key has 3 characters, length says 43/);
    expect(errors).toMatch(/room must be a random string/);
  });
});

describe('kairos profiles', () => {
  it('are valid as templates', () => {
    for (const p of PROFILES) expect(check(text(p)), p).toBe('');
  });

  it('keep the profile differences to role, node labels and hostname', () => {
    const cfg = (p: string): unknown => parseYaml(text(p));
    expect(dig(cfg('control-plane'), 'p2p.role')).toBe('master');
    expect(dig(cfg('control-plane'), 'k3s.enabled')).toBe(true);
    for (const p of ['worker-amd64', 'worker-arm64']) {
      expect(dig(cfg(p), 'p2p.role')).toBe('worker');
      expect(dig(cfg(p), 'k3s-agent.enabled')).toBe(true);
      expect(dig(cfg(p), 'k3s')).toBeUndefined();
    }
    expect(kairosNodeLabels(cfg('worker-arm64')).get('edge-agents/pool')).toBe('arm64');
    expect(kairosNodeLabels(cfg('worker-amd64')).get('edge-agents/pool')).toBe('amd64');
    for (const p of PROFILES) {
      expect(kairosNodeLabels(cfg(p)).get('spin')).toBe('true');
      expect(dig(cfg(p), 'k3s.args') ?? dig(cfg(p), 'k3s-agent.args')).toContain('--kubelet-arg=max-pods=250');
      expect(dig(cfg(p), 'stages.network.0.files.0.content')).toContain('containerd-shim-spin-v2-linux-$arch.tar.gz');
    }
  });

  it('flag a missing header, missing users, unknown keys, wrong types and unknown placeholders', () => {
    const t = text('worker-arm64');
    /** The profile with one edit; fails the test if the edit matches nothing. */
    const broken = (from: string | RegExp, to: string) => {
      const out = t.replace(from, to);
      expect(out, `edit ${String(from)} matched nothing`).not.toBe(t);
      return out;
    };
    expect(check(broken('#cloud-config\n', '# cloud config\n'))).toMatch(/first line must be #cloud-config/);
    expect(check(broken(/^users:\n(?: {2}.*\n)+/m, ''))).toMatch(/must have required property 'users'/);
    expect(check(broken('k3s-agent:', 'k3s_agent:'))).toMatch(/must NOT have additional properties 'k3s_agent'/);
    expect(check(broken('  enabled: true', '  enabled: "yes"'))).toMatch(/\/k3s-agent\/enabled must be boolean/);
    expect(check(broken('role: worker', 'role: leader'))).toMatch(/\/p2p\/role must be equal to one of the allowed values/);
    expect(check(broken('device: auto', 'device: sda'))).toMatch(/\/install\/device must match pattern/);
    expect(check(broken('permissions: 493', 'permissions: "0755"'))).toMatch(/permissions must be integer/);
    expect(check(broken('@SSH_AUTHORIZED_KEY@', '@SSH_KEY@'))).toMatch(/unknown placeholder @SSH_KEY@/);
    expect(check(broken(/network_token: .*/, 'network_token: c29tZXRoaW5n'))).toMatch(
      /p2p\.network_token: network token does not decode to a YAML mapping/,
    );
  });

  it('templates do not count as rendered configs', () => {
    expect(check(text('worker-amd64'), true)).toMatch(/placeholder @NETWORK_TOKEN@ is not filled in/);
  });
});

describe('kairos/render.sh', () => {
  it('renders all profiles with one token; the results validate and keep no placeholder', () => {
    const out = tempDir();
    const sum = 'b'.repeat(64);
    const r = runBash(join(KAIROS, 'render.sh'), ['-k', 'ssh-ed25519 AAAAC3Nza+/= me@edge', '-o', out, '-a', sum]);
    expect(r.status, r.stderr).toBe(0);
    const token = readFileSync(join(out, 'network-token'), 'utf8').trim();
    expect(decodeNetworkToken(token).errors).toEqual([]);
    expect(statSync(join(out, 'network-token')).mode & 0o077).toBe(0);
    for (const p of PROFILES) {
      const rendered = readFileSync(join(out, `${p}.yaml`), 'utf8');
      expect(check(rendered, true), p).toBe('');
      const cfg: unknown = parseYaml(rendered);
      expect(dig(cfg, 'p2p.network_token')).toBe(token);
      expect(dig(cfg, 'users.0.ssh_authorized_keys')).toEqual(['ssh-ed25519 AAAAC3Nza+/= me@edge']);
      const script = dig(cfg, 'stages.network.0.files.0.content');
      expect(script).toContain(`SHA256_AARCH64="${sum}"`);
      expect(script).toContain('BASE_URL="https://github.com/spinframework/containerd-shim-spin/releases/download"');
    }
    // A second run reuses the token, so nodes rendered later join the same cluster.
    expect(runBash(join(KAIROS, 'render.sh'), ['-k', 'github:someone', '-o', out]).status).toBe(0);
    expect(readFileSync(join(out, 'network-token'), 'utf8').trim()).toBe(token);
    expect(readdirSync(out).sort()).toEqual(['control-plane.yaml', 'network-token', 'worker-amd64.yaml', 'worker-arm64.yaml']);
  });

  it('requires an SSH key and rejects a malformed sha256', () => {
    expect(runBash(join(KAIROS, 'render.sh'), ['-o', tempDir()]).status).toBe(2);
    expect(runBash(join(KAIROS, 'render.sh'), ['-k', 'github:x', '-o', tempDir(), '-x', 'abc']).status).toBe(2);
  });
});
