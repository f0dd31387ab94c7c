/**
 * Validates the deployment offline: `spinkube/`, `k3s/` and `kairos/`, without a cluster or kubectl.
 *
 *   node scripts/validate-deploy.ts [--root DIR]
 *
 * - every YAML file parses (all documents);
 * - SpinApp / SpinAppExecutor against the project's JSON Schemas (deploy/schemas/), plus the rules spin-operator's
 *   admission webhook enforces (executor in the same namespace, replicas vs autoscaling, annotations vs
 *   createDeployment, invocationLimits.memory <= the memory limit, exactly one of runtimeClassName/spinImage);
 * - core objects with kubernetes-models, KEDA ScaledObjects with @kubernetes-models/keda, K3s HelmChart(Config)
 *   against deploy/schemas/k3s-helm.schema.json;
 * - references: namespaces, Secrets/ConfigMaps/PVCs, Service selectors and ports, Ingress backends, HPA targets,
 *   executor → RuntimeClass, cluster URLs → Services, kustomizations (resources, secretGenerator, patches);
 * - spin.toml against the SpinApps: every variable a component reads has a correct in-cluster value, every
 *   component-to-component URL is allowed by its allowed_outbound_hosts, KV labels exist in the runtime config;
 * - spinkube/ is what scripts/spinkube.ts generates;
 * - Kairos configs: header, deploy/schemas/kairos-cloud-config.schema.json, placeholders, network tokens, node
 *   labels that the RuntimeClasses select, and the manifests the control plane embeds equal k3s/.
 *
 * Exits 1 and lists the problems when anything fails.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ConfigMap, Namespace, PersistentVolumeClaim, Pod, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  DeployConfigError,
  GENERATED_HEADER,
  SPIN_INTERNAL,
  diffTree,
  formatDiff,
  generate,
  isClean,
  publicComponents,
  readAppManifest,
  readGeneratedTree,
  referencedVariables,
  renderTemplate,
  splitUrl,
  templateVariables,
} from './spinkube.ts';
import type { AppManifest } from './spinkube.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA_DIR = join(ROOT, 'deploy', 'schemas');

export interface Problem {
  file: string;
  message: string;
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (isTable(o) ? o[k] : undefined), v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** One Kubernetes object read from a file. */
export interface K8sObject {
  file: string;
  index: number;
  obj: Table;
}

export const describe = (o: K8sObject): string => `${str(o.obj.kind) ?? '?'}/${str(get(o.obj, 'metadata', 'name')) ?? '?'}`;
const nsOf = (o: Table): string | undefined => str(get(o, 'metadata', 'namespace'));
const nameOf = (o: Table): string | undefined => str(get(o, 'metadata', 'name'));
const kindOf = (o: Table): string => `${str(o.apiVersion) ?? ''} ${str(o.kind) ?? ''}`;

// ---------------------------------------------------------------------------------------------------------------
// YAML

/** Parses every document of a YAML file; empty documents are skipped. */
export function parseYamlDocuments(file: string, text: string): { docs: unknown[]; problems: Problem[] } {
  const docs: unknown[] = [];
  const problems: Problem[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push({ file, message: `document ${i + 1}: ${e.message}` });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) docs.push(value);
  });
  return { docs, problems };
}

function listFiles(dir: string, ext: RegExp): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) {
      if (entry !== 'out' && entry !== 'node_modules') out.push(...listFiles(full, ext));
    } else if (ext.test(entry)) out.push(full);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Schemas and models

let ajvCache: { spinApp: ValidateFunction; executor: ValidateFunction; helm: ValidateFunction; kairos: ValidateFunction } | undefined;

function validators(): NonNullable<typeof ajvCache> {
  if (ajvCache) return ajvCache;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const int = (min: number, max: number) => ({
    type: 'number' as const,
    validate: (n: number) => Number.isInteger(n) && n >= min && n <= max,
  });
  ajv.addFormat('int32', int(-(2 ** 31), 2 ** 31 - 1));
  ajv.addFormat('int64', int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  ajv.addFormat('int-or-string', { validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  const load = (name: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(join(SCHEMA_DIR, name), 'utf8')) as object);
  ajvCache = {
    spinApp: load('spinapp.schema.json'),
    executor: load('spinappexecutor.schema.json'),
    helm: load('k3s-helm.schema.json'),
    kairos: load('kairos-cloud-config.schema.json'),
  };
  return ajvCache;
}

function schemaErrors(validate: ValidateFunction, value: unknown): string[] {
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  // oneOf/anyOf report every branch; keep the specific messages when there are any.
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  return (specific.length > 0 ? specific : errors).map((e) => {
    const extra =
      e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'` : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
}

type Validatable = new (data: unknown) => { validate(): void };
const MODELS: Record<string, Validatable> = {
  'v1 Namespace': Namespace as unknown as Validatable,
  'v1 Service': Service as unknown as Validatable,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim as unknown as Validatable,
  'v1 ConfigMap': ConfigMap as unknown as Validatable,
  'v1 Secret': Secret as unknown as Validatable,
  'apps/v1 Deployment': Deployment as unknown as Validatable,
  'apps/v1 StatefulSet': StatefulSet as unknown as Validatable,
  'node.k8s.io/v1 RuntimeClass': RuntimeClass as unknown as Validatable,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as Validatable,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy as unknown as Validatable,
  'networking.k8s.io/v1 Ingress': Ingress as unknown as Validatable,
  'keda.sh/v1alpha1 ScaledObject': ScaledObject as unknown as Validatable,
};
const CLUSTER_SCOPED = new Set(['v1 Namespace', 'node.k8s.io/v1 RuntimeClass']);
/** Namespaces that exist on every K3s cluster. */
const BUILTIN_NAMESPACES = new Set(['kube-system', 'default']);
/** RuntimeClasses K3s creates itself (packaged runtimes.yaml) that executors may use. */
const BUILTIN_RUNTIME_CLASSES = new Set(['spin', 'wasmtime', 'wasmedge']);

function modelErrors(model: Validatable, obj: Table): string[] {
  try {
    new model(obj).validate();
    return [];
  } catch (err) {
    return [(err instanceof Error ? err.message : String(err)).slice(0, 600)];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Quantities

const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** Parses a Kubernetes resource quantity ("128Mi", "0.5", "1e3", 64) into a number; null when invalid. */
export function parseQuantity(q: unknown): number | null {
  if (typeof q === 'number') return Number.isFinite(q) ? q : null;
  if (typeof q !== 'string') return null;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([KMGTPE]i|[numkMGTPE])|[eE]([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)))?$/.exec(q);
  if (!m) return null;
  const base = Number(m[1]);
  if (m[3] !== undefined) return base * 10 ** Number(m[3]);
  return base * (SUFFIX[m[2] ?? ''] ?? 1);
}

// ---------------------------------------------------------------------------------------------------------------
// SpinApp webhook rules

/** What spin-operator's validating webhooks reject, for one SpinApp, given all executors of the deployment. */
export function spinAppWebhookErrors(app: Table, executors: K8sObject[]): string[] {
  const errors: string[] = [];
  const spec = isTable(app.spec) ? app.spec : {};
  const ns = nsOf(app);
  const executorName = str(spec.executor);
  let executor: Table | undefined;
  if (!executorName) errors.push('spec.executor must be set (the operator only defaults it when an executor exists)');
  else {
    executor = executors.find((e) => nameOf(e.obj) === executorName && nsOf(e.obj) === ns)?.obj;
    if (!executor) errors.push(`spec.executor: SpinAppExecutor '${executorName}' does not exist in namespace '${ns ?? '(none)'}'`);
  }
  const autoscaling = spec.enableAutoscaling === true;
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 0;
  if (autoscaling && replicas !== 0) errors.push('spec.replicas cannot be set when enableAutoscaling is true');
  if (!autoscaling && replicas < 1) errors.push('spec.replicas must be >= 1 unless enableAutoscaling is true (unset means 0)');
  if (executor && get(executor, 'spec', 'createDeployment') !== true) {
    for (const key of ['deploymentAnnotations', 'podAnnotations']) {
      if (isTable(spec[key]) && Object.keys(spec[key]).length > 0) {
        errors.push(`spec.${key} cannot be set: executor '${executorName}' does not create Deployments`);
      }
    }
  }
  const limits = get(spec, 'invocationLimits');
  if (isTable(limits) && 'memory' in limits) {
    const invocation = parseQuantity(limits.memory);
    if (invocation === null) errors.push(`spec.invocationLimits.memory '${String(limits.memory)}' is not a quantity (e.g. 128Mi)`);
    else {
      const limit = get(spec, 'resources', 'limits', 'memory');
      const request = get(spec, 'resources', 'requests', 'memory');
      const [bound, what] = limit !== undefined ? [limit, 'limit'] : [request, 'request'];
      const boundValue = parseQuantity(bound);
      if (bound !== undefined && boundValue !== null && invocation > boundValue) {
        errors.push(`spec.invocationLimits.memory ${String(limits.memory)} is greater than the memory ${what} ${String(bound)}`);
      }
    }
  }
  return errors;
}

/** Webhook rules of a SpinAppExecutor. */
export function executorWebhookErrors(executor: Table): string[] {
  const config = get(executor, 'spec', 'deploymentConfig');
  if (get(executor, 'spec', 'createDeployment') !== true && config === undefined) return [];
  const n = [get(config, 'runtimeClassName'), get(config, 'spinImage')].filter((v) => typeof v === 'string' && v !== '').length;
  return n === 1 ? [] : ['spec.deploymentConfig must set exactly one of runtimeClassName and spinImage'];
}

// ---------------------------------------------------------------------------------------------------------------
// Object validation

interface ServiceInfo {
  ports: number[];
  external?: string;
}

/** Services a set of objects provides, keyed `<name>.<namespace>`; SpinApps count (the operator creates them). */
export function serviceIndex(objs: K8sObject[]): Map<string, ServiceInfo> {
  const index = new Map<string, ServiceInfo>([['traefik.kube-system', { ports: [80, 443] }]]);
  for (const { obj } of objs) {
    const key = `${nameOf(obj) ?? ''}.${nsOf(obj) ?? ''}`;
    if (kindOf(obj) === 'v1 Service') {
      const ext = str(get(obj, 'spec', 'externalName'));
      const info: ServiceInfo = { ports: arr(get(obj, 'spec', 'ports')).map((p) => Number(get(p, 'port'))) };
      if (ext) info.external = ext;
      index.set(key, info);
    }
    if (kindOf(obj) === 'core.spinkube.dev/v1alpha1 SpinApp') index.set(key, { ports: [80] });
  }
  return index;
}

const DEFAULT_PORTS: Record<string, number> = {
  http: 80,
  https: 443,
  redis: 6379,
  rediss: 6379,
  postgres: 5432,
  postgresql: 5432,
  mysql: 3306,
};

/** Checks that a `scheme://<svc>.<ns>.svc.cluster.local[:port]` URL names a Service and one of its ports. */
export function clusterUrlError(url: string, services: Map<string, ServiceInfo>): string | null {
  const u = splitUrl(url);
  if (!u || !u.host.endsWith('.svc.cluster.local')) return null;
  const key = u.host.slice(0, -'.svc.cluster.local'.length);
  const svc = services.get(key);
  if (!svc) return `${url}: no Service '${key}' in the deployment`;
  const port = u.port !== null ? Number(u.port) : DEFAULT_PORTS[u.scheme];
  if (port !== undefined && !svc.ports.includes(port))
    return `${url}: Service '${key}' has no port ${port} (ports ${svc.ports.join(', ')})`;
  return null;
}

/** Validates objects one by one and against each other (references within the set). */
export function validateObjects(objs: K8sObject[], extra: { namespaces?: Iterable<string> } = {}): Problem[] {
  const problems: Problem[] = [];
  const push = (o: K8sObject, message: string) => problems.push({ file: o.file, message: `${describe(o)}: ${message}` });
  const v = validators();
  const executors = objs.filter((o) => kindOf(o.obj) === 'core.spinkube.dev/v1alpha1 SpinAppExecutor');
  const namespaces = new Set([...BUILTIN_NAMESPACES, ...(extra.namespaces ?? [])]);
  for (const { obj } of objs) {
    if (kindOf(obj) === 'v1 Namespace') namespaces.add(nameOf(obj) ?? '');
    if (kindOf(obj) === 'helm.cattle.io/v1 HelmChart' && get(obj, 'spec', 'createNamespace') === true) {
      namespaces.add(str(get(obj, 'spec', 'targetNamespace')) ?? '');
    }
  }
  const byKindNs = (kind: string, ns: string | undefined, name: string | undefined) =>
    objs.find((o) => kindOf(o.obj) === kind && nsOf(o.obj) === ns && nameOf(o.obj) === name);
  const services = serviceIndex(objs);
  const seen = new Map<string, K8sObject>();

  for (const o of objs) {
    const { obj } = o;
    const kind = kindOf(obj);
    const name = nameOf(obj);
    const ns = nsOf(obj);
    if (!name) push(o, 'metadata.name is missing');
    const id = `${kind} ${ns ?? ''} ${name ?? ''}`;
    const dup = seen.get(id);
    if (dup) push(o, `defined twice (also in ${dup.file})`);
    seen.set(id, o);
    if (CLUSTER_SCOPED.has(kind)) {
      if (ns !== undefined) push(o, `is cluster-scoped but sets metadata.namespace`);
    } else if (ns === undefined) push(o, 'metadata.namespace is missing (the kustomizations do not set one)');
    else if (!namespaces.has(ns)) push(o, `namespace '${ns}' is not created by k3s/ (or K3s)`);

    const model = MODELS[kind];
    if (kind === 'core.spinkube.dev/v1alpha1 SpinApp') {
      for (const e of schemaErrors(v.spinApp, obj)) push(o, e);
      for (const e of spinAppWebhookErrors(obj, executors)) push(o, e);
      const volumes = get(obj, 'spec', 'volumes');
      if (Array.isArray(volumes)) {
        for (const e of modelErrors(Pod as unknown as Validatable, {
          metadata: { name: 'volumes' },
          spec: { containers: [{ name: 'c', image: 'x' }], volumes },
        }))
          push(o, `spec.volumes: ${e}`);
      }
      for (const vr of arr(get(obj, 'spec', 'variables'))) {
        const value = str(get(vr, 'value'));
        const err = value ? clusterUrlError(value, services) : null;
        if (err) push(o, `variable ${str(get(vr, 'name')) ?? '?'}: ${err}`);
        const ref = get(vr, 'valueFrom', 'secretKeyRef');
        if (isTable(ref) && ref.optional !== true) {
          const secret = byKindNs('v1 Secret', ns, str(ref.name));
          if (!secret)
            push(o, `variable ${str(get(vr, 'name')) ?? '?'}: Secret '${str(ref.name) ?? ''}' is not in namespace '${ns ?? ''}'`);
          else if (!isTable(secret.obj.stringData) || !(String(ref.key) in secret.obj.stringData)) {
            if (!isTable(secret.obj.data) || !(String(ref.key) in secret.obj.data))
              push(o, `variable ${str(get(vr, 'name')) ?? '?'}: Secret '${String(ref.name)}' has no key '${String(ref.key)}'`);
          }
        }
      }
      const rc = str(get(obj, 'spec', 'runtimeConfig', 'loadFromSecret'));
      if (rc) {
        const secret = byKindNs('v1 Secret', ns, rc);
        if (!secret) push(o, `runtimeConfig.loadFromSecret: Secret '${rc}' is not in namespace '${ns ?? ''}'`);
        else if (typeof get(secret.obj, 'stringData', 'runtime-config.toml') !== 'string')
          push(o, `Secret '${rc}' has no stringData 'runtime-config.toml'`);
      }
    } else if (kind === 'core.spinkube.dev/v1alpha1 SpinAppExecutor') {
      for (const e of schemaErrors(v.executor, obj)) push(o, e);
      for (const e of executorWebhookErrors(obj)) push(o, e);
      const rc = str(get(obj, 'spec', 'deploymentConfig', 'runtimeClassName'));
      if (rc && !BUILTIN_RUNTIME_CLASSES.has(rc) && !byKindNs('node.k8s.io/v1 RuntimeClass', undefined, rc)) {
        push(o, `runtimeClassName '${rc}' is not defined (and is not one K3s creates)`);
      }
    } else if (kind === 'helm.cattle.io/v1 HelmChart' || kind === 'helm.cattle.io/v1 HelmChartConfig') {
      for (const e of schemaErrors(v.helm, obj)) push(o, e);
      const values = get(obj, 'spec', 'valuesContent');
      if (typeof values === 'string') {
        try {
          parseYaml(values);
        } catch (err) {
          push(o, `spec.valuesContent is not YAML: ${(err as Error).message}`);
        }
      }
    } else if (model) {
      for (const e of modelErrors(model, obj)) push(o, e);
    } else {
      push(o, `no validator for ${kind.trim() || 'an object without apiVersion/kind'}`);
      continue;
    }

    if (kind === 'apps/v1 Deployment' || kind === 'apps/v1 StatefulSet') {
      const selector = get(obj, 'spec', 'selector', 'matchLabels');
      const labels = get(obj, 'spec', 'template', 'metadata', 'labels');
      if (isTable(selector) && Object.entries(selector).some(([k, val]) => get(labels, k) !== val))
        push(o, 'spec.selector does not match the pod template labels');
      const pod = get(obj, 'spec', 'template', 'spec');
      for (const vol of arr(get(pod, 'volumes'))) {
        const claim = str(get(vol, 'persistentVolumeClaim', 'claimName'));
        if (claim && !byKindNs('v1 PersistentVolumeClaim', ns, claim)) push(o, `volume uses PVC '${claim}', which is not defined`);
        const cm = str(get(vol, 'configMap', 'name'));
        if (cm && !byKindNs('v1 ConfigMap', ns, cm)) push(o, `volume uses ConfigMap '${cm}', which is not defined`);
      }
      for (const c of [...arr(get(pod, 'containers')), ...arr(get(pod, 'initContainers'))]) {
        for (const ef of arr(get(c, 'envFrom'))) {
          const cm = str(get(ef, 'configMapRef', 'name'));
          const sec = str(get(ef, 'secretRef', 'name'));
          if (cm && !byKindNs('v1 ConfigMap', ns, cm)) push(o, `envFrom ConfigMap '${cm}' is not defined`);
          if (sec && !byKindNs('v1 Secret', ns, sec)) push(o, `envFrom Secret '${sec}' is not defined`);
        }
      }
    }
    if (kind === 'v1 Service') {
      const selector = get(obj, 'spec', 'selector');
      if (isTable(selector)) {
        const match = objs.some(
          (w) =>
            (kindOf(w.obj) === 'apps/v1 Deployment' || kindOf(w.obj) === 'apps/v1 StatefulSet') &&
            nsOf(w.obj) === ns &&
            Object.entries(selector).every(([k, val]) => get(w.obj, 'spec', 'template', 'metadata', 'labels', k) === val),
        );
        if (!match) push(o, 'selects no pods of a Deployment/StatefulSet in its namespace');
      }
      const ext = str(get(obj, 'spec', 'externalName'));
      if (ext?.endsWith('.svc.cluster.local') && !services.has(ext.slice(0, -'.svc.cluster.local'.length))) {
        push(o, `externalName ${ext} names no Service in the deployment`);
      }
    }
    if (kind === 'networking.k8s.io/v1 Ingress') {
      for (const rule of arr(get(obj, 'spec', 'rules'))) {
        for (const p of arr(get(rule, 'http', 'paths'))) {
          const svc = str(get(p, 'backend', 'service', 'name'));
          const port = get(p, 'backend', 'service', 'port', 'number');
          const info = services.get(`${svc ?? ''}.${ns ?? ''}`);
          if (!info) push(o, `path ${String(get(p, 'path'))}: backend Service '${svc ?? ''}' is not in namespace '${ns ?? ''}'`);
          else if (typeof port === 'number' && !info.ports.includes(port))
            push(o, `path ${String(get(p, 'path'))}: Service '${svc ?? ''}' has no port ${port}`);
        }
      }
    }
    if (kind === 'autoscaling/v2 HorizontalPodAutoscaler' || kind === 'keda.sh/v1alpha1 ScaledObject') {
      const target = str(get(obj, 'spec', 'scaleTargetRef', 'name'));
      const app = byKindNs('core.spinkube.dev/v1alpha1 SpinApp', ns, target);
      if (!app && !byKindNs('apps/v1 Deployment', ns, target))
        push(o, `scaleTargetRef: no SpinApp or Deployment '${target ?? ''}' in '${ns ?? ''}'`);
      if (app && get(app.obj, 'spec', 'enableAutoscaling') !== true)
        push(o, `scales SpinApp '${target ?? ''}', which does not set enableAutoscaling (the operator would reset replicas)`);
      if (str(get(obj, 'spec', 'scaleTargetRef', 'kind')) && str(get(obj, 'spec', 'scaleTargetRef', 'kind')) !== 'Deployment')
        push(o, 'scaleTargetRef must be the Deployment (SpinApp has no scale subresource)');
    }
    if (kind === 'networking.k8s.io/v1 NetworkPolicy') {
      const walk = (v2: unknown): void => {
        if (Array.isArray(v2)) v2.forEach(walk);
        else if (isTable(v2)) {
          const target = get(v2, 'namespaceSelector', 'matchLabels', 'kubernetes.io/metadata.name');
          if (typeof target === 'string' && !namespaces.has(target)) push(o, `selects namespace '${target}', which is not created`);
          Object.values(v2).forEach(walk);
        }
      };
      walk(obj.spec);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// spin.toml ⇄ SpinApps

/** Does a Spin allowed_outbound_hosts entry (already substituted) allow this URL? */
export function hostAllowed(entry: string, url: string): boolean {
  const e = splitUrl(entry);
  const u = splitUrl(url);
  if (!e || !u) return false;
  if (e.scheme !== '*' && e.scheme !== u.scheme) return false;
  const hostOk = e.host === '*' || e.host === u.host || (e.host.startsWith('*.') && u.host.endsWith(e.host.slice(1)));
  if (!hostOk) return false;
  const port = (p: string | null, scheme: string) => (p !== null ? p : String(DEFAULT_PORTS[scheme] ?? ''));
  return e.port === '*' || port(e.port, e.scheme === '*' ? u.scheme : e.scheme) === port(u.port, u.scheme);
}

const isInternalHost = (host: string): boolean =>
  host.endsWith('.svc.cluster.local') || host.endsWith(SPIN_INTERNAL) || host === 'self' || host === 'self.alt';

/** Checks the SpinApps against spin.toml: coverage, variables, outbound hosts, checks, KV labels. */
export function crossCheckManifest(manifest: AppManifest, objs: K8sObject[], file = 'spin.toml'): Problem[] {
  const problems: Problem[] = [];
  const apps = objs.filter((o) => kindOf(o.obj) === 'core.spinkube.dev/v1alpha1 SpinApp');
  const services = serviceIndex(objs);
  const pub = publicComponents(manifest);
  const withHttp = new Set(manifest.httpRoutes.map((r) => r.component));
  const images = new Set(apps.map((a) => str(get(a.obj, 'spec', 'image'))));
  if (images.size > 1)
    problems.push({ file, message: `SpinApps use different images (${[...images].join(', ')}); one artifact serves all` });

  for (const id of manifest.components.keys()) {
    if (!pub.has(id) && !manifest.nonHttpTriggered.has(id)) continue;
    const own = apps.filter((a) => arr(get(a.obj, 'spec', 'components'))[0] === id);
    if (own.length !== 1)
      problems.push({ file, message: `component '${id}' has ${own.length} SpinApps (components[0] = '${id}'); expected 1` });
  }

  for (const a of apps) {
    const push = (message: string) => problems.push({ file: a.file, message: `${describe(a)}: ${message}` });
    const components = arr(get(a.obj, 'spec', 'components')).filter((c): c is string => typeof c === 'string');
    const provided = new Map<string, string | null>(); // null: from a Secret, value unknown offline
    for (const vr of arr(get(a.obj, 'spec', 'variables'))) {
      const name = str(get(vr, 'name'));
      if (name) provided.set(name, str(get(vr, 'value')) ?? null);
    }
    if (get(a.obj, 'spec', 'checks') !== undefined && !components.some((c) => withHttp.has(c))) {
      push('has checks but none of its components has an HTTP trigger, so nothing answers the probe');
    }
    for (const name of provided.keys()) {
      if (!manifest.variables.has(name)) push(`sets variable '${name}', which spin.toml does not declare`);
    }
    const kvLabels = new Set<string>();
    for (const cid of components) {
      const comp = manifest.components.get(cid);
      if (!comp) {
        push(`component '${cid}' is not in spin.toml`);
        continue;
      }
      comp.keyValueStores.forEach((l) => kvLabels.add(l));
      const valueOf = (v: string): string | null | undefined => (provided.has(v) ? provided.get(v) : manifest.variables.get(v)?.default);
      for (const v of referencedVariables(comp)) {
        if (provided.has(v)) continue;
        const declared = manifest.variables.get(v);
        if (!declared) {
          push(`'${cid}' uses {{ ${v} }}, which spin.toml does not declare`);
          continue;
        }
        if (declared.default === undefined) {
          push(`'${cid}' needs variable '${v}' (no default) and the SpinApp does not set it`);
          continue;
        }
        const host = splitUrl(declared.default)?.host ?? '';
        if (host.endsWith(SPIN_INTERNAL) && !components.includes(host.slice(0, -SPIN_INTERNAL.length))) {
          push(
            `'${cid}' reads '${v}' = ${declared.default}, but '${host.slice(0, -SPIN_INTERNAL.length)}' is not in this SpinApp: set the variable to its cluster Service`,
          );
        } else if (host === 'localhost' || host === '127.0.0.1' || host === 'self' || host === 'self.alt') {
          push(`'${cid}' reads '${v}' = ${declared.default}, which does not reach other SpinApps in the cluster: set the variable`);
        }
      }
      // Outbound hosts after substitution; entries that depend on a Secret value cannot be resolved offline.
      const allowed: string[] = [];
      for (const entry of comp.allowedOutboundHosts) {
        let unknown = false;
        const resolved = renderTemplate(entry, (v) => {
          const value = valueOf(v);
          if (value === null || value === undefined) unknown = true;
          return value ?? '';
        });
        if (!unknown) allowed.push(resolved);
        const host = splitUrl(resolved)?.host ?? '';
        if (
          !unknown &&
          templateVariables(entry).length === 0 &&
          host.endsWith(SPIN_INTERNAL) &&
          !components.includes(host.slice(0, -SPIN_INTERNAL.length))
        ) {
          push(`'${cid}' chains to ${entry}, but that component is not in this SpinApp`);
        }
        if (!unknown && host) {
          const err = clusterUrlError(resolved, services);
          if (err) push(`'${cid}' allowed_outbound_hosts: ${err}`);
        }
      }
      // Component-to-component calls: URL-valued component variables pointing inside the cluster.
      for (const [cv, template] of Object.entries(comp.variables)) {
        let unknown = false;
        const value = renderTemplate(template, (v) => {
          const x = valueOf(v);
          if (x === null || x === undefined) unknown = true;
          return x ?? '';
        });
        const u = splitUrl(value);
        if (unknown || !u || !isInternalHost(u.host)) continue;
        if (!allowed.some((e) => hostAllowed(e, value)))
          push(`'${cid}' calls ${value} (variable ${cv}) but allowed_outbound_hosts does not allow it`);
        if (u.host.endsWith(SPIN_INTERNAL) && !components.includes(u.host.slice(0, -SPIN_INTERNAL.length))) {
          push(`'${cid}' calls ${value} (variable ${cv}), but that component is not in this SpinApp`);
        }
      }
    }
    // Runtime config: every KV label the components use must be configured, on a Service that exists.
    const rcName = str(get(a.obj, 'spec', 'runtimeConfig', 'loadFromSecret'));
    if (kvLabels.size > 0 && !rcName)
      push(`components use key-value labels (${[...kvLabels].join(', ')}) but runtimeConfig.loadFromSecret is not set`);
    if (rcName) {
      const secret = objs.find((o) => kindOf(o.obj) === 'v1 Secret' && nameOf(o.obj) === rcName && nsOf(o.obj) === nsOf(a.obj));
      const toml = str(get(secret?.obj, 'stringData', 'runtime-config.toml'));
      if (toml !== undefined) {
        let rc: Table = {};
        try {
          rc = parseToml(toml) as Table;
        } catch (err) {
          push(`runtime config in Secret '${rcName}' is not TOML: ${(err as Error).message}`);
        }
        const stores = isTable(rc.key_value_store) ? rc.key_value_store : {};
        for (const label of kvLabels) {
          const store = stores[label];
          if (!isTable(store)) push(`key-value label '${label}' is not in runtime config '${rcName}' (Spin would refuse to start)`);
          else if (store.type === 'redis') {
            const err = typeof store.url === 'string' ? clusterUrlError(store.url, services) : 'no url';
            if (err) push(`key-value label '${label}': ${err}`);
          }
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Kustomizations

function readEnvFile(path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    out.set(eq === -1 ? t : t.slice(0, eq), eq === -1 ? '' : t.slice(eq + 1));
  }
  return out;
}

interface Build {
  objects: K8sObject[];
  problems: Problem[];
  files: Set<string>;
}

/** Loads a kustomization the way `kubectl apply -k` would (resources, secretGenerator, delete patches). */
export function buildKustomization(dir: string, root: string, stack: string[] = []): Build {
  const build: Build = { objects: [], problems: [], files: new Set() };
  const kfile = join(dir, 'kustomization.yaml');
  const rel = (p: string) => relative(root, p);
  if (!existsSync(kfile)) {
    build.problems.push({ file: rel(dir), message: 'no kustomization.yaml' });
    return build;
  }
  if (stack.includes(kfile)) {
    build.problems.push({ file: rel(kfile), message: 'kustomization cycle' });
    return build;
  }
  build.files.add(kfile);
  const { docs, problems } = parseYamlDocuments(rel(kfile), readFileSync(kfile, 'utf8'));
  build.problems.push(...problems);
  const k = docs[0];
  if (!isTable(k) || k.kind !== 'Kustomization' || k.apiVersion !== 'kustomize.config.k8s.io/v1beta1') {
    build.problems.push({ file: rel(kfile), message: 'not a kustomize.config.k8s.io/v1beta1 Kustomization' });
    return build;
  }
  const known = new Set(['apiVersion', 'kind', 'resources', 'secretGenerator', 'patches']);
  for (const key of Object.keys(k))
    if (!known.has(key)) build.problems.push({ file: rel(kfile), message: `unsupported kustomization field '${key}'` });
  for (const r of arr(k.resources)) {
    if (typeof r !== 'string') continue;
    const path = resolve(dir, r);
    if (!existsSync(path)) build.problems.push({ file: rel(kfile), message: `resource ${r} does not exist` });
    else if (statSync(path).isDirectory()) {
      const sub = buildKustomization(path, root, [...stack, kfile]);
      build.objects.push(...sub.objects);
      build.problems.push(...sub.problems);
      sub.files.forEach((f) => build.files.add(f));
    } else {
      build.files.add(path);
      const parsed = parseYamlDocuments(rel(path), readFileSync(path, 'utf8'));
      build.problems.push(...parsed.problems);
      parsed.docs.forEach((d, index) => {
        if (isTable(d)) build.objects.push({ file: rel(path), index, obj: d });
        else build.problems.push({ file: rel(path), message: `document ${index + 1} is not an object` });
      });
    }
  }
  for (const g of arr(k.secretGenerator)) {
    const name = str(get(g, 'name'));
    const data: Record<string, string> = {};
    for (const env of arr(get(g, 'envs'))) {
      const path = resolve(dir, String(env));
      if (!existsSync(path)) {
        build.problems.push({ file: rel(kfile), message: `secretGenerator ${name ?? '?'}: ${String(env)} does not exist` });
        continue;
      }
      build.files.add(path);
      for (const [key, value] of readEnvFile(path)) data[key] = value;
    }
    if (get(g, 'options', 'disableNameSuffixHash') !== true) {
      build.problems.push({
        file: rel(kfile),
        message: `secretGenerator ${name ?? '?'}: other manifests refer to it by name, so set options.disableNameSuffixHash`,
      });
    }
    const secret: Table = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: get(g, 'namespace') },
      type: 'Opaque',
      stringData: data,
    };
    build.objects.push({ file: rel(kfile), index: -1, obj: secret });
  }
  for (const p of arr(k.patches)) {
    let patch: unknown;
    try {
      patch = parseYaml(String(get(p, 'patch') ?? ''));
    } catch (err) {
      build.problems.push({ file: rel(kfile), message: `patch is not YAML: ${(err as Error).message}` });
      continue;
    }
    const target = build.objects.findIndex(
      (o) => kindOf(o.obj) === kindOf(patch as Table) && nameOf(o.obj) === nameOf(patch as Table) && nsOf(o.obj) === nsOf(patch as Table),
    );
    if (target === -1)
      build.problems.push({
        file: rel(kfile),
        message: `patch targets ${kindOf(patch as Table)} ${nameOf(patch as Table) ?? ''}, which is not in the resources`,
      });
    else if (get(patch, '$patch') === 'delete') build.objects.splice(target, 1);
    else build.problems.push({ file: rel(kfile), message: 'only $patch: delete patches are supported by this checker' });
  }
  return build;
}

// ---------------------------------------------------------------------------------------------------------------
// Kairos

export const KAIROS_PLACEHOLDERS = ['NETWORK_TOKEN', 'SSH_AUTHORIZED_KEY', 'SHIM_SHA256_X86_64', 'SHIM_SHA256_AARCH64', 'SHIM_BASE_URL'];
const KAIROS_HEADERS = ['#cloud-config', '#kairos-config', '#node-config'];

/** Decodes a Kairos/edgevpn network token and checks its structure. */
export function decodeNetworkToken(token: string): { config?: Table; errors: string[] } {
  const errors: string[] = [];
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || token.length % 4 !== 0) return { errors: ['network token is not standard base64'] };
  let config: unknown;
  try {
    config = parseYaml(Buffer.from(token, 'base64').toString('utf8'));
  } catch (err) {
    return { errors: [`network token does not decode to YAML: ${(err as Error).message}`] };
  }
  if (!isTable(config)) return { errors: ['network token does not decode to a YAML mapping'] };
  for (const which of ['dht', 'crypto']) {
    const otp = get(config, 'otp', which);
    const key = get(otp, 'key');
    const length = get(otp, 'length');
    const interval = get(otp, 'interval');
    if (!Number.isInteger(interval) || (interval as number) <= 0) errors.push(`otp.${which}.interval must be a positive integer`);
    if (!Number.isInteger(length) || (length as number) <= 0) errors.push(`otp.${which}.length must be a positive integer`);
    if (typeof key !== 'string' || !/^[A-Za-z0-9]+$/.test(key)) errors.push(`otp.${which}.key must be [A-Za-z0-9]+`);
    else if (key.length !== length) errors.push(`otp.${which}.key has ${key.length} characters, length says ${String(length)}`);
  }
  for (const field of ['room', 'rendezvous', 'mdns']) {
    if (typeof config[field] !== 'string' || (config[field] as string).length < 16) errors.push(`${field} must be a random string`);
  }
  if (!Number.isInteger(config.max_message_size) || (config.max_message_size as number) <= 0)
    errors.push('max_message_size must be a positive integer');
  return { config, errors };
}

/** Node labels a Kairos config gives its node (`--node-label=k=v` in k3s / k3s-agent args). */
export function kairosNodeLabels(config: unknown): Map<string, string> {
  const labels = new Map<string, string>();
  for (const block of ['k3s', 'k3s-agent']) {
    for (const a of arr(get(config, block, 'args'))) {
      const m = /^--node-label[= ]"?([^=\s"]+)=([^"\s]*)"?$/.exec(String(a));
      if (m) labels.set(m[1] as string, m[2] as string);
    }
  }
  return labels;
}

/** Validates one Kairos cloud-config. Placeholders (`@NAME@`) are allowed unless `rendered`. */
export function validateKairosConfig(
  file: string,
  text: string,
  options: { rendered?: boolean } = {},
): { problems: Problem[]; config?: Table } {
  const problems: Problem[] = [];
  const push = (message: string) => problems.push({ file, message });
  const first = text.split('\n', 1)[0]?.trim() ?? '';
  if (!KAIROS_HEADERS.includes(first)) push(`first line must be ${KAIROS_HEADERS.join(' or ')} (Kairos ignores the file otherwise)`);
  for (const m of text.matchAll(/@([A-Z0-9_]+)@/g)) {
    if (options.rendered) push(`placeholder @${m[1] ?? ''}@ is not filled in`);
    else if (!KAIROS_PLACEHOLDERS.includes(m[1] ?? ''))
      push(`unknown placeholder @${m[1] ?? ''}@ (render.sh fills ${KAIROS_PLACEHOLDERS.join(', ')})`);
  }
  const { docs, problems: parseProblems } = parseYamlDocuments(file, text);
  problems.push(...parseProblems);
  if (docs.length !== 1 || !isTable(docs[0])) {
    if (parseProblems.length === 0) push('must be exactly one YAML mapping');
    return { problems };
  }
  const config = docs[0];
  for (const e of schemaErrors(validators().kairos, config)) push(e);
  const token = str(get(config, 'p2p', 'network_token'));
  if (token !== undefined && !/^@[A-Z0-9_]+@$/.test(token))
    for (const e of decodeNetworkToken(token).errors) push(`p2p.network_token: ${e}`);
  if (get(config, 'k3s') !== undefined && get(config, 'k3s-agent') !== undefined)
    push('sets both k3s and k3s-agent; a node is a server or an agent');
  if (get(config, 'p2p', 'role') === 'worker' && get(config, 'k3s-agent', 'enabled') !== true)
    push('p2p worker without k3s-agent.enabled: true (Kairos then ignores k3s-agent.args)');
  // Embedded manifests must parse; K3s applies them blindly.
  for (const steps of Object.values(isTable(config.stages) ? config.stages : {})) {
    for (const step of arr(steps)) {
      for (const f of arr(get(step, 'files'))) {
        const path = str(get(f, 'path')) ?? '';
        const content = str(get(f, 'content'));
        if (content !== undefined && /\.ya?ml$/.test(path)) {
          for (const p of parseYamlDocuments(`${file} (${path})`, content).problems) problems.push(p);
        }
      }
    }
  }
  return { problems, config };
}

/** Files written by Kairos stages, path → content. */
export function kairosStageFiles(config: unknown): Map<string, string> {
  const files = new Map<string, string>();
  for (const steps of Object.values(isTable(get(config, 'stages')) ? (get(config, 'stages') as Table) : {})) {
    for (const step of arr(steps)) {
      for (const f of arr(get(step, 'files'))) {
        const path = str(get(f, 'path'));
        const content = str(get(f, 'content'));
        if (path && content !== undefined) files.set(path, content);
      }
    }
  }
  return files;
}

const K3S_MANIFESTS = '/var/lib/rancher/k3s/server/manifests/';

// ---------------------------------------------------------------------------------------------------------------
// Everything

/** Validates spinkube/, k3s/ and kairos/ under `root` against `root`/spin.toml. */
export function validateRepo(root: string = ROOT, options: { onWarning?: (message: string) => void } = {}): Problem[] {
  const problems: Problem[] = [];
  const rel = (p: string) => relative(root, p);

  // 1. Every YAML file parses.
  const yamlFiles = ['spinkube', 'k3s', 'kairos'].flatMap((d) => listFiles(join(root, d), /\.ya?ml$/));
  for (const f of yamlFiles) problems.push(...parseYamlDocuments(rel(f), readFileSync(f, 'utf8')).problems);

  // 2. Kustomizations and their objects. spinkube/ and k3s/ are applied to the same cluster, so references
  //    between them are checked on the union; the KEDA overlay is checked on its own build.
  const k3s = buildKustomization(join(root, 'k3s'), root);
  const spinkube = buildKustomization(join(root, 'spinkube'), root);
  problems.push(...k3s.problems, ...spinkube.problems);
  const all = [...k3s.objects, ...spinkube.objects];
  problems.push(...validateObjects(all));
  const covered = new Set([...k3s.files, ...spinkube.files]);
  for (const kfile of listFiles(join(root, 'spinkube'), /^kustomization\.yaml$/)) {
    const dir = dirname(kfile);
    if (dir === join(root, 'spinkube')) continue;
    const overlay = buildKustomization(dir, root);
    problems.push(...overlay.problems);
    overlay.files.forEach((f) => covered.add(f));
    const own = overlay.objects.filter((o) => !spinkube.objects.includes(o) && o.file.startsWith(rel(dir)));
    problems.push(...validateObjects([...k3s.objects, ...overlay.objects]).filter((p) => own.some((o) => o.file === p.file)));
    const hpaAndKeda = overlay.objects.filter(
      (o) => kindOf(o.obj).endsWith('HorizontalPodAutoscaler') || kindOf(o.obj).endsWith('ScaledObject'),
    );
    const targets = hpaAndKeda.map((o) => `${nsOf(o.obj) ?? ''}/${str(get(o.obj, 'spec', 'scaleTargetRef', 'name')) ?? ''}`);
    for (const t of new Set(targets)) {
      if (targets.filter((x) => x === t).length > 1)
        problems.push({ file: rel(kfile), message: `Deployment ${t} is scaled by both an HPA and a ScaledObject` });
    }
  }
  for (const f of [...listFiles(join(root, 'spinkube'), /\.yaml$/), ...listFiles(join(root, 'k3s'), /\.(ya?ml|env)$/)]) {
    if (!covered.has(f)) problems.push({ file: rel(f), message: 'not referenced by any kustomization.yaml, so never applied' });
  }

  // 3. spin.toml ⇄ SpinApps, and spinkube/ is what the generator produces.
  const manifestPath = join(root, 'spin.toml');
  try {
    const manifest = readAppManifest(readFileSync(manifestPath, 'utf8'));
    problems.push(...crossCheckManifest(manifest, all, rel(manifestPath)));
    const configPath = join(root, 'deploy', 'spinkube.config.json');
    const { files } = generate({ manifestPath, configPath });
    const diff = diffTree(files, readGeneratedTree(join(root, 'spinkube')));
    if (!isClean(diff)) problems.push({ file: 'spinkube', message: formatDiff(diff, 'spinkube/') });
  } catch (err) {
    if (!(err instanceof DeployConfigError)) throw err;
    problems.push({ file: rel(manifestPath), message: err.message });
  }
  for (const f of listFiles(join(root, 'spinkube'), /\.yaml$/)) {
    if (!readFileSync(f, 'utf8').startsWith(GENERATED_HEADER))
      problems.push({ file: rel(f), message: 'is not generated by scripts/spinkube.ts (hand edits are overwritten)' });
  }
  for (const { obj } of all) {
    const image = str(get(obj, 'spec', 'image'));
    if (kindOf(obj) === 'core.spinkube.dev/v1alpha1 SpinApp' && image?.startsWith('registry.invalid/')) {
      options.onWarning?.(
        `SpinApp image ${image} is a placeholder: set "image" in deploy/spinkube.config.json (or EDGE_AGENTS_IMAGE) before deploying`,
      );
      break;
    }
  }

  // 4. k3s/ secrets agree with each other (the Postgres password is set once, in two Secrets).
  const secret = (ns: string, name: string) =>
    all.find((o) => kindOf(o.obj) === 'v1 Secret' && nsOf(o.obj) === ns && nameOf(o.obj) === name)?.obj;
  const pg = secret('edge-ai-data', 'postgres-credentials');
  const dbUrl = str(get(secret('edge-ai-agents', 'edge-agents-secrets'), 'stringData', 'database_url'));
  if (pg && dbUrl) {
    const m = /^postgres(?:ql)?:\/\/([^:@/]+):([^@/]*)@([^/:]+)(?::([0-9]+))?\/(.+)$/.exec(dbUrl);
    const want = [get(pg, 'stringData', 'POSTGRES_USER'), get(pg, 'stringData', 'POSTGRES_PASSWORD'), get(pg, 'stringData', 'POSTGRES_DB')];
    if (!m) problems.push({ file: 'k3s/secrets/agents.env', message: 'database_url is not postgres://user:password@host[:port]/db' });
    else {
      if (m[1] !== want[0] || decodeURIComponent(m[2] ?? '') !== want[1] || m[5] !== want[2]) {
        problems.push({ file: 'k3s/secrets/agents.env', message: 'database_url user/password/db differ from k3s/secrets/postgres.env' });
      }
      const err = clusterUrlError(`postgres://${m[3] ?? ''}${m[4] ? `:${m[4]}` : ''}`, serviceIndex(all));
      if (err) problems.push({ file: 'k3s/secrets/agents.env', message: `database_url: ${err}` });
    }
  }
  const redis = all.find((o) => kindOf(o.obj) === 'apps/v1 Deployment' && nameOf(o.obj) === 'redis');
  if (redis) {
    const args = arr(get(redis.obj, 'spec', 'template', 'spec', 'containers')).flatMap((c) => arr(get(c, 'args')).map(String));
    const i = args.indexOf('--databases');
    const databases = i === -1 ? 16 : Number(args[i + 1]);
    for (const o of all) {
      const toml = str(get(o.obj, 'stringData', 'runtime-config.toml'));
      for (const m of toml?.matchAll(/redis:\/\/redis\.[^"]*\/([0-9]+)"/g) ?? []) {
        if (Number(m[1]) >= databases)
          problems.push({
            file: o.file,
            message: `Redis database ${m[1] ?? ''} does not exist (redis runs with --databases ${databases})`,
          });
      }
    }
  }

  // 5. Kairos profiles.
  // Labels every RuntimeClass selects besides the arch (which K3s sets): every node must carry them.
  const requiredLabels = new Map<string, string>();
  for (const o of all) {
    if (kindOf(o.obj) !== 'node.k8s.io/v1 RuntimeClass') continue;
    const selector = get(o.obj, 'scheduling', 'nodeSelector');
    for (const [k, val] of Object.entries(isTable(selector) ? selector : {}))
      if (k !== 'kubernetes.io/arch') requiredLabels.set(k, String(val));
  }
  const embeddedExpected = new Map<string, unknown[]>();
  for (const f of ['traefik-config.yaml', 'spin-operator.yaml']) {
    const path = join(root, 'k3s', f);
    if (existsSync(path)) embeddedExpected.set(f, parseYamlDocuments(f, readFileSync(path, 'utf8')).docs);
  }
  const shimScripts = new Map<string, string>();
  for (const f of listFiles(join(root, 'kairos'), /\.ya?ml$/)) {
    const { problems: kp, config } = validateKairosConfig(rel(f), readFileSync(f, 'utf8'));
    problems.push(...kp);
    if (!config) continue;
    const labels = kairosNodeLabels(config);
    for (const [k, val] of requiredLabels) {
      if (labels.get(k) !== val)
        problems.push({
          file: rel(f),
          message: `node lacks label ${k}=${val}, which the RuntimeClasses select, so no SpinApp would run on it`,
        });
    }
    const files = kairosStageFiles(config);
    const script = files.get('/usr/local/bin/edge-agents-install-shim');
    if (!script)
      problems.push({ file: rel(f), message: 'no stage installs containerd-shim-spin-v2 (/usr/local/bin/edge-agents-install-shim)' });
    else shimScripts.set(rel(f), script);
    for (const [path, content] of files) {
      if (!path.startsWith(K3S_MANIFESTS)) continue;
      const docs = parseYamlDocuments(path, content).docs;
      const match = [...embeddedExpected.entries()].find(([, expected]) => JSON.stringify(expected) === JSON.stringify(docs));
      if (!match)
        problems.push({
          file: rel(f),
          message: `${path} differs from every k3s/ file it should copy (${[...embeddedExpected.keys()].join(', ')})`,
        });
    }
    if (get(config, 'k3s') !== undefined) {
      const embedded = new Set(
        [...files.keys()]
          .filter((p) => p.startsWith(K3S_MANIFESTS))
          .map((p) => JSON.stringify(parseYamlDocuments(p, files.get(p) ?? '').docs)),
      );
      for (const [name, docs] of embeddedExpected) {
        if (!embedded.has(JSON.stringify(docs))) problems.push({ file: rel(f), message: `server does not auto-deploy k3s/${name}` });
      }
    }
  }
  if (new Set(shimScripts.values()).size > 1)
    problems.push({ file: 'kairos', message: `the shim install script differs between ${[...shimScripts.keys()].join(', ')}` });
  for (const s of ['generate-token.sh', 'render.sh']) {
    const path = join(root, 'kairos', s);
    if (!existsSync(path)) problems.push({ file: rel(path), message: 'missing' });
    else if ((statSync(path).mode & 0o111) === 0) problems.push({ file: rel(path), message: 'is not executable' });
  }
  return problems;
}

function main(argv: string[]): number {
  let root = ROOT;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root') root = resolve(argv[++i] ?? '.');
    else {
      process.stderr.write('usage: node scripts/validate-deploy.ts [--root DIR]\n');
      return 2;
    }
  }
  const problems = validateRepo(root, { onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
  for (const p of problems) process.stderr.write(`${p.file}: ${p.message}\n`);
  if (problems.length > 0) {
    process.stderr.write(`\n${problems.length} problem(s) in the deployment\n`);
    return 1;
  }
  process.stdout.write('deployment OK: spinkube/, k3s/, kairos/\n');
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
