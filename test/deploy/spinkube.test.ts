/** scripts/spinkube.ts: spinkube/ is reproducible from spin.toml, and the generator's decisions on a full app. */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DeployConfigError,
  GENERATED_HEADER,
  ingressPath,
  plan,
  readAppManifest,
  readDeployConfig,
  render,
} from '../../scripts/spinkube.ts';
import type { DeployConfig, PlannedApp } from '../../scripts/spinkube.ts';
import { FULL_MANIFEST, ROOT, removeTemps, runScript, tempDir, yamlDocs, yamlText } from './helpers.ts';

afterAll(removeTemps);

const config = (): DeployConfig => readDeployConfig(readFileSync(join(ROOT, 'deploy', 'spinkube.config.json'), 'utf8'));
const fullManifest = () => readAppManifest(readFileSync(FULL_MANIFEST, 'utf8'));
const manifestWith = (extra: string) => readAppManifest(`${readFileSync(FULL_MANIFEST, 'utf8')}\n${extra}`);
const app = (apps: PlannedApp[], id: string): PlannedApp => {
  const a = apps.find((x) => x.id === id);
  if (!a) throw new Error(`no SpinApp for ${id}`);
  return a;
};
const value = (a: PlannedApp, name: string) => a.variables.find((v) => v.name === name);

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const full = join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

describe('spinkube/ in the repository', () => {
  it('is exactly what the generator produces from spin.toml', () => {
    const out = tempDir();
    const r = runScript('spinkube.ts', ['--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const generated = tree(out);
    const committed = tree(join(ROOT, 'spinkube'));
    expect([...committed.keys()].sort()).toEqual([...generated.keys()].sort());
    for (const [path, text] of generated) expect(committed.get(path), path).toBe(text);
  });

  it('passes --check, and --check fails with a summary once a file is edited, added or missing', () => {
    expect(runScript('spinkube.ts', ['--check']).status).toBe(0);
    const out = tempDir();
    expect(runScript('spinkube.ts', ['--out', out]).status).toBe(0);
    const app = join(out, 'apps', 'api.yaml');
    writeFileSync(app, readFileSync(app, 'utf8').replace('maxReplicas: 4', 'maxReplicas: 9'));
    writeFileSync(join(out, 'apps', 'old.yaml'), `${GENERATED_HEADER}\nkind: x\n`);
    const r = runScript('spinkube.ts', ['--check', '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/changed\s+apps\/api\.yaml \(\+1 -1 lines\)/);
    expect(r.stderr).toMatch(/stale\s+apps\/old\.yaml/);
    expect(r.stderr).toContain('npm run spinkube');
    // Regenerating repairs the tree and removes the stale generated file.
    expect(runScript('spinkube.ts', ['--out', out]).status).toBe(0);
    expect(existsSync(join(out, 'apps', 'old.yaml'))).toBe(false);
    expect(runScript('spinkube.ts', ['--check', '--out', out]).status).toBe(0);
  });

  it('every file starts with the generated header', () => {
    for (const [path, text] of tree(join(ROOT, 'spinkube'))) expect(text.startsWith(GENERATED_HEADER), path).toBe(true);
  });

  it('takes the image from the config, EDGE_AGENTS_IMAGE, or --image, with [application].version', () => {
    const version = /^version = "([^"]+)"/m.exec(readFileSync(join(ROOT, 'spin.toml'), 'utf8'))?.[1];
    const spinApp = yamlDocs(join(ROOT, 'spinkube', 'apps', 'api.yaml'))[0] as { spec: { image: string } };
    expect(spinApp.spec.image).toBe(config().image.replace('{version}', version ?? ''));

    const out = tempDir();
    expect(runScript('spinkube.ts', ['--out', out], { EDGE_AGENTS_IMAGE: 'ghcr.io/acme/edge-agents:{version}' }).status).toBe(0);
    expect(readFileSync(join(out, 'apps', 'api.yaml'), 'utf8')).toContain(`image: ghcr.io/acme/edge-agents:${version ?? ''}`);
    expect(runScript('spinkube.ts', ['--out', out, '--image', 'registry.local:5000/e/a@sha256:' + 'a'.repeat(64)]).status).toBe(0);
    expect(readFileSync(join(out, 'apps', 'api.yaml'), 'utf8')).toContain('image: registry.local:5000/e/a@sha256:');
    const bad = runScript('spinkube.ts', ['--out', out, '--image', 'ghcr.io/OWNER/edge-agents']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('not a lowercase OCI reference');
  });
});

describe('generator on the full app (test/deploy/fixtures/full-spin.toml)', () => {
  const p = plan(fullManifest(), config());

  it('gives every public component its own SpinApp, and the private sandbox none', () => {
    expect(p.apps.map((a) => a.id)).toEqual(['a2a', 'agent-coder', 'api', 'llm-router', 'mcp', 'rag', 'ui']);
    expect(p.apps.every((a) => a.name === `edge-agents-${a.id}` && a.namespace === 'edge-ai-agents')).toBe(true);
  });

  it('retains the private sandbox in the SpinApps that call it, keeping its spin.internal URL', () => {
    expect(app(p.apps, 'agent-coder').components).toEqual(['agent-coder', 'sandbox']);
    expect(app(p.apps, 'mcp').components).toEqual(['mcp', 'sandbox']);
    expect(app(p.apps, 'rag').components).toEqual(['rag']);
    expect(value(app(p.apps, 'agent-coder'), 'sandbox_url')).toBeUndefined();
  });

  it('points component-to-component URLs at cluster Services, secrets at the Secret, self at the gateway', () => {
    const coder = app(p.apps, 'agent-coder');
    expect(value(coder, 'router_url')).toEqual({
      name: 'router_url',
      value: 'http://edge-agents-llm-router.edge-ai-agents.svc.cluster.local',
    });
    expect(value(coder, 'rag_url')).toEqual({ name: 'rag_url', value: 'http://edge-agents-rag.edge-ai-agents.svc.cluster.local' });
    expect(value(app(p.apps, 'rag'), 'database_url')).toEqual({
      name: 'database_url',
      valueFrom: { secretKeyRef: { name: 'edge-agents-secrets', key: 'database_url' } },
    });
    expect(value(app(p.apps, 'api'), 'api_keys')).toEqual({
      name: 'api_keys',
      valueFrom: { secretKeyRef: { name: 'edge-agents-secrets', key: 'api_keys', optional: true } },
    });
    expect(value(app(p.apps, 'a2a'), 'agents_url')).toEqual({ name: 'agents_url', value: 'http://traefik.kube-system.svc.cluster.local' });
    expect(value(app(p.apps, 'llm-router'), 'localai_url')).toEqual({
      name: 'localai_url',
      value: 'http://local-ai.edge-ai-inference.svc.cluster.local:8080',
    });
    // cloud_llm_url keeps its manifest default (an internet host), so the router may leave the cluster.
    expect(value(app(p.apps, 'llm-router'), 'cloud_llm_url')).toBeUndefined();
    expect(p.apps.filter((a) => a.internetEgress).map((a) => a.id)).toEqual(['llm-router']);
  });

  it('puts every KV label on Redis, each in its pinned database', () => {
    const files = render(p);
    const secret = yamlText(files.get('runtime-config.yaml') ?? '')[0] as { stringData: Record<string, string> };
    const toml = secret.stringData['runtime-config.toml'] ?? '';
    for (const [label, db] of [
      ['agents', 0],
      ['memory', 1],
      ['router', 2],
      ['tasks', 3],
    ] as const) {
      expect(toml).toContain(`[key_value_store.${label}]\ntype = "redis"\nurl = "redis://redis.edge-ai-data.svc.cluster.local:6379/${db}"`);
    }
  });

  it('routes the public routes through one Ingress, most specific first by Ingress rules', () => {
    const files = render(p);
    const docs = yamlText(files.get('gateway.yaml') ?? '') as { kind: string; spec: Record<string, unknown> }[];
    const ingress = docs.find((d) => d.kind === 'Ingress') as unknown as {
      spec: { rules: { http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] } }[] };
    };
    const paths = (ingress.spec.rules[0]?.http.paths ?? []).map((x) => `${x.pathType} ${x.path} -> ${x.backend.service.name}`);
    expect(paths).toContain('Prefix / -> edge-agents-ui');
    expect(paths).toContain('Exact /.well-known/agent-card.json -> edge-agents-a2a');
    expect(paths).toContain('Prefix /agents/coder -> edge-agents-agent-coder');
    expect(paths).toContain('Exact /mcp -> edge-agents-mcp');
    expect(paths.some((x) => x.includes('sandbox'))).toBe(false);
    expect(docs.filter((d) => d.kind === 'Service').every((d) => d.spec.type === 'ExternalName')).toBe(true);
  });

  it('applies per-component settings: globs, exact ids, arch pools, fixed replicas', () => {
    const c = config();
    c.components['agent-coder'] = { arch: 'arm64' };
    c.components.ui = { replicas: 2 };
    const q = plan(fullManifest(), c);
    expect(app(q.apps, 'agent-coder').arch).toBe('arm64');
    expect(app(q.apps, 'agent-coder').settings.autoscaling).toEqual({ minReplicas: 1, maxReplicas: 20, cpuUtilization: 70 });
    const files = render(q);
    const coder = yamlText(files.get('apps/agent-coder.yaml') ?? '') as { kind: string; spec: Record<string, unknown> }[];
    expect(coder[0]?.spec.executor).toBe('edge-agents-arm64');
    const ui = yamlText(files.get('apps/ui.yaml') ?? '') as { kind: string; spec: Record<string, unknown> }[];
    expect(ui.map((d) => d.kind)).toEqual(['SpinApp']);
    expect(ui[0]?.spec.replicas).toBe(2);
    expect(ui[0]?.spec.enableAutoscaling).toBeUndefined();
  });

  it('maps Spin routes to Ingress paths', () => {
    expect(ingressPath('/...')).toEqual({ path: '/', pathType: 'Prefix' });
    expect(ingressPath('/health')).toEqual({ path: '/health', pathType: 'Exact' });
    expect(ingressPath('/api/v1/agents/...')).toEqual({ path: '/api/v1/agents', pathType: 'Prefix' });
    expect(ingressPath('/agents/:kind/chat')).toEqual({ path: '/agents', pathType: 'Prefix' });
  });
});

describe('generator refuses what cannot run on SpinKube', () => {
  const fails = (fn: () => unknown, message: RegExp | typeof DeployConfigError) => expect(fn).toThrow(message);

  it('wildcard service chaining', () => {
    const m = manifestWith(
      '[component.ui2]\nsource = "x.wasm"\nallowed_outbound_hosts = ["http://*.spin.internal"]\n[[trigger.http]]\nroute = "/ui2"\ncomponent = "ui2"\n',
    );
    fails(() => plan(m, config()), /wildcard service chaining/);
  });

  it('a spin.internal default naming no component', () => {
    const text = readFileSync(FULL_MANIFEST, 'utf8').replace(
      'a2a_url = { default = "http://a2a.spin.internal" }',
      'a2a_url = { default = "http://agents.spin.internal" }',
    );
    fails(() => plan(readAppManifest(text), config()), /names no component.*variables\.a2a_url/);
  });

  it('a localhost default with no in-cluster value', () => {
    const text = readFileSync(FULL_MANIFEST, 'utf8').replace(
      'rag_url = { default = "http://rag.spin.internal" }',
      'rag_url = { default = "http://localhost:3000" }',
    );
    fails(() => plan(readAppManifest(text), config()), /pod itself/);
  });

  it('a required variable with no value', () => {
    const text = readFileSync(FULL_MANIFEST, 'utf8').replace(
      'cloud_llm_url = { default = "https://api.openai.com" }',
      'cloud_llm_url = { required = true }',
    );
    fails(() => plan(readAppManifest(text), config()), /required and has no in-cluster value/);
  });

  it('two components on the same Ingress path', () => {
    const m = manifestWith('[component.mcp2]\nsource = "x.wasm"\n[[trigger.http]]\nroute = "/mcp"\ncomponent = "mcp2"\n');
    fails(() => render(plan(m, config())), /both map to Ingress path Exact \/mcp/);
  });

  it('a config that does not match its schema', () => {
    const text = readFileSync(join(ROOT, 'deploy', 'spinkube.config.json'), 'utf8').replace('"minReplicas": 1', '"minReplicas": 0');
    fails(() => readDeployConfig(text), DeployConfigError);
  });

  it('scale to zero without an event trigger', () => {
    const c = config();
    c.components.api = { keda: { minReplicaCount: 0 } };
    fails(() => render(plan(fullManifest(), c)), /needs an event trigger/);
  });
});
