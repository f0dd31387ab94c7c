/**
 * scripts/validate-deploy.ts: the committed deployment is valid, and each check rejects what the cluster (API
 * server, spin-operator webhook, Spin) would reject.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clusterUrlError,
  crossCheckManifest,
  hostAllowed,
  parseQuantity,
  parseYamlDocuments,
  serviceIndex,
  validateObjects,
  validateRepo,
} from '../../scripts/validate-deploy.ts';
import type { K8sObject, Problem } from '../../scripts/validate-deploy.ts';
import { readAppManifest } from '../../scripts/spinkube.ts';
import { DELETE, FULL_MANIFEST, ROOT, clone, deploymentObjects, dig, edit, makeRepo, removeTemps, runScript } from './helpers.ts';

afterAll(removeTemps);

const messages = (ps: Problem[]) => ps.map((p) => `${p.file}: ${p.message}`);

describe('the committed deployment', () => {
  it('every YAML file under spinkube/, k3s/ and kairos/ parses, every document', () => {
    const files = ['spinkube', 'k3s', 'kairos'].flatMap((d) => listYaml(join(ROOT, d)));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(parseYamlDocuments(f, readFileSync(f, 'utf8')).problems, f).toEqual([]);
  });

  it('validates without problems (validate-deploy exits 0)', () => {
    expect(messages(validateRepo(ROOT))).toEqual([]);
    const r = runScript('validate-deploy.ts', []);
    expect(r.status, r.stderr).toBe(0);
  });

  it('also validates when spinkube/ is generated from the full app', () => {
    const repo = makeRepo(FULL_MANIFEST);
    expect(messages(validateRepo(repo))).toEqual([]);
  });

  it('contains the kinds the deployment needs', () => {
    const kinds = new Set(deploymentObjects(ROOT).map((o) => String(o.obj.kind)));
    for (const k of [
      'SpinApp',
      'SpinAppExecutor',
      'RuntimeClass',
      'HorizontalPodAutoscaler',
      'Secret',
      'Namespace',
      'Deployment',
      'Service',
      'PersistentVolumeClaim',
      'ConfigMap',
      'NetworkPolicy',
      'Ingress',
      'HelmChart',
      'HelmChartConfig',
    ]) {
      expect(kinds, k).toContain(k);
    }
  });
});

// A valid deployment to break, object by object.
const repo = makeRepo(FULL_MANIFEST);
const objects = deploymentObjects(repo);
const find = (kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.obj.kind === kind && (x.obj.metadata as { name?: string }).name === name);
  if (!o) throw new Error(`${kind}/${name} not found`);
  return o;
};
/** Validates the deployment with one object replaced by `mutate(copy)`. */
function withBroken(kind: string, name: string, mutate: (obj: unknown) => void): string[] {
  const target = find(kind, name);
  const broken = clone(target);
  mutate(broken.obj);
  return messages(validateObjects(objects.map((o) => (o === target ? broken : o))));
}

describe('SpinApp checks', () => {
  const coder = 'edge-agents-agent-coder';

  it('accept the generated SpinApps', () => {
    expect(messages(validateObjects(objects))).toEqual([]);
  });

  it('flag a missing executor', () => {
    const errs = withBroken('SpinApp', coder, (o) => edit(o, 'spec.executor', DELETE));
    expect(errs.join('\n')).toMatch(/must have required property 'executor'/);
    expect(errs.join('\n')).toMatch(/spec\.executor must be set/);
  });

  it('flag replicas given as a string', () => {
    const errs = withBroken('SpinApp', coder, (o) => {
      edit(o, 'spec.enableAutoscaling', DELETE);
      edit(o, 'spec.replicas', '2');
    });
    expect(errs.join('\n')).toMatch(/\/spec\/replicas must be integer/);
  });

  it('flag replicas 0, and replicas together with autoscaling', () => {
    expect(
      withBroken('SpinApp', coder, (o) => {
        edit(o, 'spec.enableAutoscaling', DELETE);
        edit(o, 'spec.replicas', 0);
      }).join('\n'),
    ).toMatch(/replicas must be >= 1/);
    expect(withBroken('SpinApp', coder, (o) => edit(o, 'spec.replicas', 2)).join('\n')).toMatch(/cannot be set when enableAutoscaling/);
  });

  it('flag components: []', () => {
    expect(withBroken('SpinApp', coder, (o) => edit(o, 'spec.components', [])).join('\n')).toMatch(
      /\/spec\/components must NOT have fewer than 1 items/,
    );
  });

  it('flag a check without httpGet.path', () => {
    expect(withBroken('SpinApp', coder, (o) => edit(o, 'spec.checks.readiness.httpGet.path', DELETE)).join('\n')).toMatch(
      /\/spec\/checks\/readiness\/httpGet must have required property 'path'/,
    );
  });

  it('flag invocationLimits.memory above the memory limit, or not a quantity', () => {
    expect(withBroken('SpinApp', coder, (o) => edit(o, 'spec.invocationLimits.memory', '1Gi')).join('\n')).toMatch(
      /invocationLimits\.memory 1Gi is greater than the memory limit 384Mi/,
    );
    expect(withBroken('SpinApp', coder, (o) => edit(o, 'spec.invocationLimits.memory', 'lots')).join('\n')).toMatch(/is not a quantity/);
  });

  it('flag an executor that is not in the SpinApp namespace', () => {
    const errs = withBroken('SpinApp', coder, (o) => edit(o, 'spec.executor', 'containerd-shim-spin'));
    expect(errs.join('\n')).toMatch(/SpinAppExecutor 'containerd-shim-spin' does not exist in namespace 'edge-ai-agents'/);
    const moved = withBroken('SpinApp', coder, (o) => edit(o, 'metadata.namespace', 'edge-ai-data'));
    expect(moved.join('\n')).toMatch(/does not exist in namespace 'edge-ai-data'/);
  });

  it('flag fields the API server would prune (nodeSelector does not exist on SpinApps)', () => {
    expect(withBroken('SpinApp', coder, (o) => edit(o, 'spec.nodeSelector', { 'kubernetes.io/arch': 'arm64' })).join('\n')).toMatch(
      /must NOT have additional properties 'nodeSelector'/,
    );
  });

  it('flag pod annotations with an executor that creates no Deployment', () => {
    const errs = messages(
      validateObjects(
        objects.map((o) => {
          if (o.obj.kind === 'SpinAppExecutor' && (o.obj.metadata as { name: string }).name === 'edge-agents-any') {
            const c = clone(o);
            edit(c.obj, 'spec', { createDeployment: false });
            return c;
          }
          if (o.obj.kind === 'SpinApp' && (o.obj.metadata as { name: string }).name === coder) {
            const c = clone(o);
            edit(c.obj, 'spec.podAnnotations', { a: 'b' });
            return c;
          }
          return o;
        }),
      ),
    );
    expect(errs.join('\n')).toMatch(/spec\.podAnnotations cannot be set: executor 'edge-agents-any' does not create Deployments/);
  });

  it('flag a secret variable whose Secret key does not exist', () => {
    expect(
      withBroken('SpinApp', 'edge-agents-rag', (o) => edit(o, 'spec.variables.0.valueFrom.secretKeyRef.key', 'nope')).join('\n'),
    ).toMatch(/Secret 'edge-agents-secrets' has no key 'nope'/);
  });

  it('flag a cluster URL that names no Service or port', () => {
    expect(
      withBroken('SpinApp', coder, (o) =>
        edit(o, 'spec.variables.0.value', 'http://edge-agents-nope.edge-ai-agents.svc.cluster.local'),
      ).join('\n'),
    ).toMatch(/no Service 'edge-agents-nope\.edge-ai-agents'/);
  });
});

describe('SpinAppExecutor, RuntimeClass and core object checks', () => {
  it('flag an executor with both or neither of runtimeClassName and spinImage', () => {
    expect(
      withBroken('SpinAppExecutor', 'edge-agents-arm64', (o) => edit(o, 'spec.deploymentConfig.spinImage', 'ghcr.io/x/spin:1')).join('\n'),
    ).toMatch(/exactly one of runtimeClassName and spinImage/);
    expect(
      withBroken('SpinAppExecutor', 'edge-agents-arm64', (o) => edit(o, 'spec.deploymentConfig.runtimeClassName', DELETE)).join('\n'),
    ).toMatch(/exactly one of runtimeClassName and spinImage/);
  });

  it('flag an executor whose RuntimeClass is not defined', () => {
    expect(
      withBroken('SpinAppExecutor', 'edge-agents-arm64', (o) => edit(o, 'spec.deploymentConfig.runtimeClassName', 'wasmtime-spin-v2')).join(
        '\n',
      ),
    ).toMatch(/runtimeClassName 'wasmtime-spin-v2' is not defined/);
  });

  it('flag a RuntimeClass without handler (kubernetes-models)', () => {
    expect(withBroken('RuntimeClass', 'edge-agents-arm64', (o) => edit(o, 'handler', DELETE)).join('\n')).toMatch(
      /required property '?handler/,
    );
  });

  it('flag core objects with wrong types (kubernetes-models)', () => {
    expect(withBroken('Deployment', 'redis', (o) => edit(o, 'spec.replicas', '1')).join('\n')).toMatch(/replicas must be integer/);
    expect(withBroken('HorizontalPodAutoscaler', 'edge-agents-api', (o) => edit(o, 'spec.maxReplicas', DELETE)).join('\n')).toMatch(
      /maxReplicas/,
    );
    expect(withBroken('Ingress', 'edge-agents', (o) => edit(o, 'spec.rules.0.http.paths.0.pathType', 7)).join('\n')).toMatch(
      /pathType must be string/,
    );
    expect(withBroken('NetworkPolicy', 'default-deny', (o) => edit(o, 'spec.policyTypes', 'Ingress')).join('\n')).toMatch(
      /policyTypes must be array/,
    );
  });

  it('flag broken references between objects', () => {
    expect(withBroken('Service', 'postgres', (o) => edit(o, 'spec.selector', { app: 'pg' })).join('\n')).toMatch(/selects no pods/);
    expect(withBroken('HorizontalPodAutoscaler', 'edge-agents-api', (o) => edit(o, 'spec.scaleTargetRef.name', 'api')).join('\n')).toMatch(
      /no SpinApp or Deployment 'api'/,
    );
    expect(
      withBroken('Ingress', 'edge-agents', (o) => edit(o, 'spec.rules.0.http.paths.0.backend.service.port.number', 8080)).join('\n'),
    ).toMatch(/has no port 8080/);
    expect(withBroken('Deployment', 'local-ai', (o) => edit(o, 'metadata.namespace', 'edge-ai-nope')).join('\n')).toMatch(
      /namespace 'edge-ai-nope' is not created/,
    );
    expect(
      withBroken('Deployment', 'postgres', (o) => edit(o, 'spec.template.spec.containers.0.envFrom.0.secretRef.name', 'pg')).join('\n'),
    ).toMatch(/envFrom Secret 'pg'/);
  });

  it('flag a ScaledObject with no target (@kubernetes-models/keda)', () => {
    const so: K8sObject = {
      file: 'x.yaml',
      index: 0,
      obj: {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'x', namespace: 'edge-ai-agents' },
        spec: { triggers: [] },
      },
    };
    expect(messages(validateObjects([...objects, so])).join('\n')).toMatch(/required property '?scaleTargetRef/);
  });

  it('flag kinds it cannot validate', () => {
    const o: K8sObject = {
      file: 'x.yaml',
      index: 0,
      obj: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' } },
    };
    expect(messages(validateObjects([o])).join('\n')).toMatch(/no validator for v1 Pod/);
  });
});

describe('spin.toml ⇄ SpinApps cross-check', () => {
  const manifest = readAppManifest(readFileSync(FULL_MANIFEST, 'utf8'));
  const cross = (objs: K8sObject[], m = manifest) => messages(crossCheckManifest(m, objs)).join('\n');
  const without = (kind: string, name: string, mutate: (obj: unknown) => void) => {
    const target = find(kind, name);
    const broken = clone(target);
    mutate(broken.obj);
    return objects.map((o) => (o === target ? broken : o));
  };

  it('accepts the generated SpinApps', () => {
    expect(cross(objects)).toBe('');
  });

  it('flags a spin.internal default the SpinApp does not override', () => {
    const objs = without('SpinApp', 'edge-agents-agent-coder', (o) =>
      edit(
        o,
        'spec.variables',
        (dig(o, 'spec.variables') as { name: string }[]).filter((v) => v.name !== 'router_url'),
      ),
    );
    expect(cross(objs)).toMatch(/reads 'router_url' = http:\/\/llm-router\.spin\.internal, but 'llm-router' is not in this SpinApp/);
  });

  it('flags a private component that is called but not retained', () => {
    const objs = without('SpinApp', 'edge-agents-mcp', (o) => edit(o, 'spec.components', ['mcp']));
    expect(cross(objs)).toMatch(/'mcp' reads 'sandbox_url' = http:\/\/sandbox\.spin\.internal, but 'sandbox' is not in this SpinApp/);
  });

  it('flags a call that allowed_outbound_hosts does not allow', () => {
    const text = readFileSync(FULL_MANIFEST, 'utf8').replace(
      'allowed_outbound_hosts = ["{{ database_url }}", "{{ router_url }}"]',
      'allowed_outbound_hosts = ["{{ database_url }}"]',
    );
    expect(cross(objects, readAppManifest(text))).toMatch(
      /'rag' calls http:\/\/edge-agents-llm-router\.edge-ai-agents\.svc\.cluster\.local \(variable router_url\) but allowed_outbound_hosts does not allow it/,
    );
  });

  it('flags a component without a SpinApp, and checks on a SpinApp without HTTP trigger', () => {
    const objs = objects.filter((o) => !(o.obj.kind === 'SpinApp' && (o.obj.metadata as { name: string }).name === 'edge-agents-ui'));
    expect(cross(objs)).toMatch(/component 'ui' has 0 SpinApps/);
    const text = readFileSync(FULL_MANIFEST, 'utf8').replace(
      '[[trigger.http]]\nroute = "/mcp"\ncomponent = "mcp"',
      '[[trigger.redis]]\nchannel = "mcp"\ncomponent = "mcp"',
    );
    const noHttp = without('SpinApp', 'edge-agents-mcp', (o) => edit(o, 'spec.components', ['mcp']));
    expect(cross(noHttp, readAppManifest(text))).toMatch(/has checks but none of its components has an HTTP trigger/);
  });

  it('flags a KV label missing from the runtime config', () => {
    const objs = without('Secret', 'edge-agents-runtime-config', (o) => {
      const data = dig(o, 'stringData') as Record<string, string>;
      data['runtime-config.toml'] = String(data['runtime-config.toml']).replace('[key_value_store.tasks]', '[key_value_store.other]');
    });
    expect(cross(objs)).toMatch(/key-value label 'tasks' is not in runtime config/);
  });
});

describe('helpers', () => {
  it('parse quantities like the API server', () => {
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity(64)).toBe(64);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseQuantity('12 Mi')).toBeNull();
    expect(parseQuantity('Mi')).toBeNull();
  });

  it('match allowed_outbound_hosts like Spin', () => {
    expect(
      hostAllowed('http://edge-agents-rag.edge-ai-agents.svc.cluster.local', 'http://edge-agents-rag.edge-ai-agents.svc.cluster.local/x'),
    ).toBe(true);
    expect(hostAllowed('http://a.svc.cluster.local', 'http://a.svc.cluster.local:8080')).toBe(false);
    expect(hostAllowed('http://a.svc.cluster.local:*', 'http://a.svc.cluster.local:8080')).toBe(true);
    expect(hostAllowed('https://*.example.com', 'https://api.example.com')).toBe(true);
    expect(hostAllowed('*://a:80', 'http://a')).toBe(true);
    expect(hostAllowed('https://a', 'http://a')).toBe(false);
  });

  it('resolve cluster URLs to Services and ports', () => {
    const services = serviceIndex(objects);
    expect(clusterUrlError('redis://redis.edge-ai-data.svc.cluster.local:6379/3', services)).toBeNull();
    expect(clusterUrlError('http://local-ai.edge-ai-inference.svc.cluster.local', services)).toMatch(/no port 80/);
    expect(clusterUrlError('https://api.openai.com', services)).toBeNull();
  });
});

describe('repository-level checks', () => {
  it('flag mismatched Postgres credentials, an unreferenced file, and a stale spinkube/', () => {
    const r = makeRepo(FULL_MANIFEST);
    const env = join(r, 'k3s', 'secrets', 'postgres.env');
    writeFileSync(env, readFileSync(env, 'utf8').replace('POSTGRES_PASSWORD=change-me', 'POSTGRES_PASSWORD=s3cret'));
    writeFileSync(join(r, 'k3s', 'extra.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n');
    const app = join(r, 'spinkube', 'apps', 'api.yaml');
    writeFileSync(app, readFileSync(app, 'utf8').replace('maxReplicas: 4', 'maxReplicas: 5'));
    const errs = messages(validateRepo(r)).join('\n');
    expect(errs).toMatch(/database_url user\/password\/db differ/);
    expect(errs).toMatch(/k3s\/extra\.yaml: not referenced by any kustomization/);
    expect(errs).toMatch(/changed\s+apps\/api\.yaml/);
  });
});

function listYaml(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const full = join(dir, e);
    if (statSync(full).isDirectory()) {
      if (e !== 'out') out.push(...listYaml(full));
    } else if (/\.ya?ml$/.test(e)) out.push(full);
  }
  return out;
}
