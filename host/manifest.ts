/**
 * `spin.toml` (manifest version 2): parsing, validation and normalization as Spin 3.x does it.
 *
 * Every table rejects unknown keys (Spin's `deny_unknown_fields`), except the few Spin itself leaves open
 * (`static_response`, `tool.*`, other trigger types), where unknown keys only warn. Normalization follows Spin:
 * trigger ids are generated (`<component>-<type>-trigger`, else `<type>-trigger<N>`) and inline components are
 * hoisted (`<trigger-id>-component`, else `inline-component<N>`). Templates in component `variables` and
 * `allowed_outbound_hosts` must reference declared application variables.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { debugChar, HostError } from './errors.ts';
import type { HostErrorCode } from './errors.ts';
import { parseAllowedHost } from './outbound-hosts.ts';
import { Router } from './routes.ts';
import { parseTemplate } from './template.ts';

/** An `[application] targets` / component `targets` entry: `"spin-up:3.3"`, `{ registry, id }` or `{ path }`. */
export type TargetRef = string | { registry: string; id: string } | { path: string };

export interface Application {
  name: string;
  version?: string;
  description?: string;
  authors: string[];
  targets: TargetRef[];
  /** `[application.trigger.<type>]` tables, kept as data (for `http`, only a `base` of `"/"` survives validation). */
  triggerSettings: Record<string, Record<string, unknown>>;
}

/** An application variable (`[variables]`). Exactly one of `required` and `default` is set. */
export interface VariableDecl {
  required: boolean;
  default?: string;
  secret: boolean;
  description?: string;
}

export type ComponentSource =
  | { kind: 'local'; path: string; absolutePath: string }
  | { kind: 'url'; url: string; digest: string }
  | { kind: 'registry'; registry?: string; package: string; version: string };

/** A `files` entry: a glob (same relative path in the guest) or a directory placement. */
export type FileMount = string | { source: string; destination: string };

export interface BuildConfig {
  /** Commands run in order (`command` may be one string or a list). */
  commands: string[];
  workdir?: string;
  watch: string[];
}

export interface Component {
  id: string;
  source: ComponentSource;
  description?: string;
  /** Component variables: name → template over application variables. */
  variables: Record<string, string>;
  /** WASI environment variables. */
  environment: Record<string, string>;
  files: FileMount[];
  excludeFiles: string[];
  /** Raw entries (may contain `{{ var }}`), including entries converted from deprecated `allowed_http_hosts`. */
  allowedOutboundHosts: string[];
  keyValueStores: string[];
  sqliteDatabases: string[];
  aiModels: string[];
  targets?: TargetRef[];
  build?: BuildConfig;
  tool: Record<string, Record<string, unknown>>;
  dependenciesInheritConfiguration: boolean;
  /** `dependencies`, kept as data after a shallow check. */
  dependencies: Record<string, unknown>;
}

export type HttpExecutor = { type: 'http' } | { type: 'wagi'; argv: string; entrypoint: string } | { type: 'wasip3-unstable' };

export interface StaticResponse {
  statusCode: number;
  headers: [string, string][];
  body?: string;
}

export interface HttpTrigger {
  /** Declared or generated trigger id. */
  id: string;
  /** The route as written, or `{ private: true }` (reachable only by service chaining). */
  route: string | { private: true };
  /** Component id (inline components are hoisted and referenced here); absent for static responses. */
  component?: string;
  staticResponse?: StaticResponse;
  executor: HttpExecutor;
  /** Position among the `[[trigger.http]]` tables. */
  index: number;
}

/** A trigger of a type this host does not run (`[[trigger.redis]]`, …), kept as data. */
export interface OtherTrigger {
  type: string;
  id: string;
  component?: string;
  config: Record<string, unknown>;
}

/** A validated, normalized manifest. */
export interface Manifest {
  /** Absolute path of the manifest file. */
  file: string;
  /** Directory of the manifest file: relative component sources and build dirs are relative to it. */
  dir: string;
  application: Application;
  variables: Record<string, VariableDecl>;
  triggers: HttpTrigger[];
  otherTriggers: OtherTrigger[];
  components: Record<string, Component>;
  /** Things Spin would log as warnings at load or startup, and features this host ignores. */
  warnings: string[];
}

type Table = Record<string, unknown>;

const MANIFEST_DOCS = 'https://spinframework.dev/v3/manifest-reference';

// ---------------------------------------------------------------------------------------------------------------
// Identifiers

/**
 * Why `id` is not a valid Spin identifier (`KebabId` for `-`, `SnakeId`/`LowerSnakeId` for `_`), or undefined.
 * Words are separated by `delim`, start with an ASCII letter, are alphanumeric and all-lower or all-upper case.
 */
export function identifierError(id: string, delim: '-' | '_', lowerOnly: boolean): string | undefined {
  if (id === '') return 'empty';
  const wrong = delim === '-' ? '_' : '-';
  if (id.includes(wrong)) return `words must be separated with ${debugChar(delim)}, not ${debugChar(wrong)}`;
  for (const word of id.split(delim)) {
    if (word === '') return `${debugChar(delim)}-separated words must not be empty`;
    const chars = [...word];
    const first = chars[0]!;
    if (!/^[A-Za-z]$/.test(first)) return `${debugChar(delim)}-separated words must start with an ASCII letter; got ${debugChar(first)}`;
    const upper = /[A-Z]/.test(first);
    for (const ch of chars.slice(1)) {
      if (/^[0-9]$/.test(ch)) continue;
      if (!/^[A-Za-z]$/.test(ch)) return `${debugChar(delim)}-separated words may only contain alphanumeric ASCII; got ${debugChar(ch)}`;
      if (/[A-Z]/.test(ch) !== upper) {
        return `${debugChar(delim)}-separated words must be all lowercase or all UPPERCASE; got ${JSON.stringify(word)}`;
      }
    }
    if (lowerOnly && upper) return `Lower-case identifiers must be all lowercase; got ${JSON.stringify(id)}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// TOML table reading with deny_unknown_fields semantics

/** Appends a key to a dotted path, quoting it as TOML would when it is not a bare key. */
export function keyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return parent === '' ? part : `${parent}.${part}`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number' || typeof value === 'bigint')
    return Number.isInteger(value) || typeof value === 'bigint' ? 'an integer' : 'a float';
  if (value instanceof TomlDate) return 'a date-time';
  if (Array.isArray(value)) return 'an array';
  return 'a table';
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof TomlDate);
}

/**
 * Reads TOML values for one file, throwing {@link HostError}s that name the file and the dotted key path.
 * Shared by the manifest and runtime-config parsers.
 */
export class TomlReader {
  readonly file: string;
  readonly invalidCode: HostErrorCode;
  readonly unknownKeyCode: HostErrorCode;

  constructor(file: string, invalidCode: HostErrorCode, unknownKeyCode: HostErrorCode) {
    this.file = file;
    this.invalidCode = invalidCode;
    this.unknownKeyCode = unknownKeyCode;
  }

  error(key: string, reason: string, hint?: string, code: HostErrorCode = this.invalidCode): HostError {
    return new HostError(reason, { code, file: this.file, key: key === '' ? undefined : key, hint });
  }

  /** Throws on keys outside `allowed`, naming the key and listing the allowed ones. */
  checkKeys(table: Table, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(table)) {
      if (!allowed.includes(key)) {
        throw this.error(
          keyPath(path, key),
          `unknown key \`${key}\``,
          allowed.length ? `allowed keys here: ${allowed.map((k) => `\`${k}\``).join(', ')}` : 'this table takes no keys',
          this.unknownKeyCode,
        );
      }
    }
  }

  /** Keys outside `allowed`, for tables where Spin ignores unknown keys. */
  extraKeys(table: Table, allowed: readonly string[]): string[] {
    return Object.keys(table).filter((k) => !allowed.includes(k));
  }

  expect(value: unknown, path: string, what: string): never {
    throw this.error(path, `expected ${what}, found ${describe(value)}`);
  }

  table(value: unknown, path: string): Table {
    return isTable(value) ? value : this.expect(value, path, 'a table');
  }

  optTable(parent: Table, key: string, path: string): Table | undefined {
    const v = parent[key];
    return v === undefined ? undefined : this.table(v, keyPath(path, key));
  }

  array(value: unknown, path: string): unknown[] {
    return Array.isArray(value) ? value : this.expect(value, path, 'an array');
  }

  string(value: unknown, path: string): string {
    return typeof value === 'string' ? value : this.expect(value, path, 'a string');
  }

  reqString(parent: Table, key: string, path: string): string {
    if (parent[key] === undefined) throw this.error(keyPath(path, key), `missing required key \`${key}\``);
    return this.string(parent[key], keyPath(path, key));
  }

  optString(parent: Table, key: string, path: string): string | undefined {
    const v = parent[key];
    return v === undefined ? undefined : this.string(v, keyPath(path, key));
  }

  optBool(parent: Table, key: string, path: string): boolean | undefined {
    const v = parent[key];
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : this.expect(v, keyPath(path, key), 'a boolean');
  }

  optInteger(parent: Table, key: string, path: string, min: number, max: number): number | undefined {
    const v = parent[key];
    if (v === undefined) return undefined;
    const p = keyPath(path, key);
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return this.expect(v, p, 'an integer');
    if (n < min || n > max) throw this.error(p, `${n} is out of range (${min}..=${max})`);
    return n;
  }

  stringArray(value: unknown, path: string): string[] {
    return this.array(value, path).map((item, i) => this.string(item, keyPath(path, i)));
  }

  optStringArray(parent: Table, key: string, path: string): string[] | undefined {
    const v = parent[key];
    return v === undefined ? undefined : this.stringArray(v, keyPath(path, key));
  }

  /** A table whose values are all strings, in declaration order. */
  optStringMap(parent: Table, key: string, path: string): Record<string, string> | undefined {
    const t = this.optTable(parent, key, path);
    if (!t) return undefined;
    const p = keyPath(path, key);
    // Null prototype: keys such as `__proto__` are ordinary names here.
    const out: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(t)) out[k] = this.string(v, keyPath(p, k));
    return out;
  }

  /** A table whose values are all tables (e.g. `tool.*`), kept as data. */
  optTableMap(parent: Table, key: string, path: string): Record<string, Record<string, unknown>> {
    const t = this.optTable(parent, key, path);
    const out: Record<string, Record<string, unknown>> = Object.create(null);
    if (!t) return out;
    const p = keyPath(path, key);
    for (const [k, v] of Object.entries(t)) out[k] = this.table(v, keyPath(p, k));
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

const TOP_KEYS = ['spin_manifest_version', 'application', 'variables', 'trigger', 'component'] as const;
const APPLICATION_KEYS = ['name', 'version', 'description', 'authors', 'targets', 'trigger', 'tool'] as const;
const VARIABLE_KEYS = ['description', 'required', 'default', 'secret'] as const;
const HTTP_TRIGGER_KEYS = ['id', 'component', 'route', 'static_response', 'executor'] as const;
const COMPONENT_KEYS = [
  'source',
  'description',
  'variables',
  'environment',
  'files',
  'exclude_files',
  'allowed_http_hosts',
  'allowed_outbound_hosts',
  'key_value_stores',
  'sqlite_databases',
  'ai_models',
  'targets',
  'build',
  'tool',
  'dependencies_inherit_configuration',
  'dependencies',
] as const;

/** Per-parse state: the reader plus the warnings collected so far. */
interface Ctx {
  r: TomlReader;
  warnings: string[];
  dir: string;
}

/**
 * Parses and validates a manifest.
 *
 * @param text the TOML source.
 * @param file the manifest path (used in messages as given, and resolved for `file`/`dir`).
 * @throws {HostError} `manifest-invalid`, `manifest-unknown-key`, `manifest-version`, `component-missing`,
 *   `template-invalid`, `variable-invalid`, `outbound-host-invalid` or `route-invalid`, naming file and key.
 */
export function parseManifest(text: string, file: string): Manifest {
  const absFile = resolve(file);
  const ctx: Ctx = { r: new TomlReader(file, 'manifest-invalid', 'manifest-unknown-key'), warnings: [], dir: dirname(absFile) };
  const { r } = ctx;

  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (cause) {
    if (cause instanceof TomlError) {
      throw new HostError(`invalid TOML: ${cause.message}`, {
        code: 'manifest-invalid',
        file,
        hint: 'fix the TOML syntax at the position shown',
        cause,
      });
    }
    throw cause;
  }

  checkVersion(ctx, doc);
  r.checkKeys(doc, '', TOP_KEYS);

  if (doc['application'] === undefined) {
    throw r.error('application', 'missing required table `[application]`', 'add `[application]` with at least `name = "..."`');
  }
  const application = parseApplication(ctx, r.table(doc['application'], 'application'));

  const variables: Record<string, VariableDecl> = Object.create(null);
  const varsTable = r.optTable(doc, 'variables', '') ?? {};
  for (const [name, value] of Object.entries(varsTable)) variables[name] = parseVariable(ctx, name, value);

  const components: Record<string, Component> = Object.create(null);
  const compTable = r.optTable(doc, 'component', '') ?? {};
  for (const [id, value] of Object.entries(compTable)) {
    const path = keyPath('component', id);
    const idErr = identifierError(id, '-', false);
    if (idErr) {
      throw r.error(
        path,
        `invalid component id \`${id}\`: ${idErr}`,
        'component ids are kebab-case: words of ASCII letters and digits, each starting with a letter, joined by "-"',
      );
    }
    components[id] = parseComponent(ctx, id, value, path);
  }

  if (doc['trigger'] === undefined) {
    throw r.error(
      'trigger',
      'missing required table `[trigger]`',
      'add at least one `[[trigger.http]]` table with `route` and `component`',
    );
  }
  const triggerTable = r.table(doc['trigger'], 'trigger');
  const { triggers, otherTriggers } = parseTriggers(ctx, triggerTable, components);

  validateDependencies(ctx, components);
  validateTemplates(ctx, variables, components);

  // Building the router validates route patterns and reports duplicates exactly as startup would.
  let router: Router;
  try {
    router = new Router({ triggers, components });
  } catch (err) {
    throw err instanceof HostError ? err.withContext({ file }) : err;
  }
  if (router.duplicates.length) {
    const lines = router.duplicates.map((d) => `  ${d.replacedKey}: ${d.route} (duplicate of ${d.effectiveKey})`);
    ctx.warnings.push(['The following component routes are duplicates and will never be used:', ...lines].join('\n'));
  }
  if (router.hasReservedRoute) {
    ctx.warnings.push('Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached');
  }

  return { file: absFile, dir: ctx.dir, application, variables, triggers, otherTriggers, components, warnings: ctx.warnings };
}

/**
 * Reads and parses a manifest file.
 *
 * @throws {HostError} `manifest-missing` when the file cannot be read, else as {@link parseManifest}.
 */
export async function loadManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new HostError('cannot read the manifest', {
      code: 'manifest-missing',
      file: path,
      hint: 'run from the application directory or pass the path to spin.toml',
      cause,
    });
  }
  return parseManifest(text, path);
}

function checkVersion({ r }: Ctx, doc: Table): void {
  const version = doc['spin_manifest_version'] ?? doc['spin_version'];
  const hint = `this host reads manifest version 2 only: set \`spin_manifest_version = 2\` and use the v2 layout (${MANIFEST_DOCS})`;
  if (version === '1' || version === 1) {
    throw r.error('spin_manifest_version', 'manifest version 1 is not supported', hint, 'manifest-version');
  }
  if (version === undefined) {
    throw r.error('spin_manifest_version', 'missing required key `spin_manifest_version`', hint, 'manifest-version');
  }
  if (version !== 2 && version !== 2n) {
    throw r.error(
      'spin_manifest_version',
      `invalid manifest version: ${typeof version === 'string' ? JSON.stringify(version) : String(version)}`,
      hint,
      'manifest-version',
    );
  }
}

function parseTargets(ctx: Ctx, value: unknown, path: string): TargetRef[] {
  const { r } = ctx;
  return r.array(value, path).map((item, i) => {
    const p = keyPath(path, i);
    if (typeof item === 'string') return item;
    const t = r.table(item, p);
    if ('path' in t) {
      r.checkKeys(t, p, ['path']);
      return { path: r.reqString(t, 'path', p) };
    }
    r.checkKeys(t, p, ['registry', 'id']);
    return { registry: r.reqString(t, 'registry', p), id: r.reqString(t, 'id', p) };
  });
}

function parseApplication(ctx: Ctx, t: Table): Application {
  const { r } = ctx;
  const path = 'application';
  r.checkKeys(t, path, APPLICATION_KEYS);
  const app: Application = {
    name: r.reqString(t, 'name', path),
    authors: r.optStringArray(t, 'authors', path) ?? [],
    targets: t['targets'] === undefined ? [] : parseTargets(ctx, t['targets'], keyPath(path, 'targets')),
    triggerSettings: r.optTableMap(t, 'trigger', path),
  };
  const version = r.optString(t, 'version', path);
  if (version) app.version = version;
  const description = r.optString(t, 'description', path);
  if (description) app.description = description;
  r.optTableMap(t, 'tool', path); // validated for shape, otherwise ignored as Spin does

  const http = app.triggerSettings['http'];
  if (http) {
    const p = 'application.trigger.http';
    r.checkKeys(http, p, ['base']);
    const base = r.optString(http, 'base', p);
    if (base === '/') {
      ctx.warnings.push(
        "This application has the deprecated trigger 'base' set to the default value '/'. This may be an error in the future!",
      );
    } else if (base !== undefined) {
      throw r.error(
        keyPath(p, 'base'),
        "This application is using the deprecated trigger 'base' field. The base must be prepended to each [[trigger.http]]'s 'route'.",
        `remove \`base\` and write each route as "${base.replace(/\/$/, '')}/..."`,
      );
    }
  }
  return app;
}

function parseVariable(ctx: Ctx, name: string, value: unknown): VariableDecl {
  const { r } = ctx;
  const path = keyPath('variables', name);
  const idErr = identifierError(name, '_', true);
  if (idErr) {
    throw r.error(
      path,
      `invalid variable name \`${name}\`: ${idErr}`,
      'variable names are lower_snake_case: lowercase ASCII words joined by "_", each starting with a letter',
      'variable-invalid',
    );
  }
  const t = r.table(value, path);
  r.checkKeys(t, path, VARIABLE_KEYS);
  const decl: VariableDecl = { required: r.optBool(t, 'required', path) ?? false, secret: r.optBool(t, 'secret', path) ?? false };
  const def = r.optString(t, 'default', path);
  if (def !== undefined) decl.default = def;
  const description = r.optString(t, 'description', path);
  if (description !== undefined) decl.description = description;
  if (decl.required === (def !== undefined)) {
    throw r.error(
      path,
      `invalid variable definition for \`${name}\`: must be \`required\` OR have a \`default\``,
      'set exactly one of `required = true` or `default = "..."`',
      'variable-invalid',
    );
  }
  return decl;
}

function labelList(ctx: Ctx, t: Table, key: string, path: string): string[] {
  const list = ctx.r.optStringArray(t, key, path) ?? [];
  list.forEach((label, i) => {
    if (identifierError(label, '-', false) && identifierError(label, '_', false)) {
      throw ctx.r.error(keyPath(keyPath(path, key), i), `invalid label ${JSON.stringify(label)}: expected kebab-case or snake_case`);
    }
  });
  return list;
}

function parseSource(ctx: Ctx, value: unknown, path: string): ComponentSource {
  const { r } = ctx;
  if (value === undefined) throw r.error(path, 'missing required key `source`', "set `source` to the path of the component's .wasm file");
  if (typeof value === 'string') return { kind: 'local', path: value, absolutePath: resolve(ctx.dir, value) };
  const t = r.table(value, path);
  const hint = 'use a path string, { url = "...", digest = "sha256:..." } or { registry = "...", package = "ns:name", version = "..." }';
  if ('url' in t || 'digest' in t) {
    r.checkKeys(t, path, ['url', 'digest']);
    const url = r.reqString(t, 'url', path);
    const digest = r.reqString(t, 'digest', path);
    if (!digest.startsWith('sha256:')) {
      throw r.error(keyPath(path, 'digest'), `invalid digest ${JSON.stringify(digest)}: must begin with 'sha256:'`, hint);
    }
    return { kind: 'url', url, digest };
  }
  if ('package' in t || 'version' in t || 'registry' in t) {
    r.checkKeys(t, path, ['registry', 'package', 'version']);
    const source: ComponentSource = {
      kind: 'registry',
      package: r.reqString(t, 'package', path),
      version: r.reqString(t, 'version', path),
    };
    const registry = r.optString(t, 'registry', path);
    if (registry !== undefined) source.registry = registry;
    return source;
  }
  throw r.error(path, 'unrecognized component source', hint);
}

function parseFiles(ctx: Ctx, value: unknown, path: string): FileMount[] {
  const { r } = ctx;
  return r.array(value, path).map((item, i) => {
    const p = keyPath(path, i);
    if (typeof item === 'string') return item;
    const t = r.table(item, p);
    r.checkKeys(t, p, ['source', 'destination']);
    const mount = { source: r.reqString(t, 'source', p), destination: r.reqString(t, 'destination', p) };
    if (!mount.destination.startsWith('/')) {
      throw r.error(
        keyPath(p, 'destination'),
        `destination ${JSON.stringify(mount.destination)} must be an absolute path`,
        'start the guest path with "/"',
      );
    }
    return mount;
  });
}

function parseBuild(ctx: Ctx, value: unknown, path: string): BuildConfig {
  const { r } = ctx;
  const t = r.table(value, path);
  r.checkKeys(t, path, ['command', 'workdir', 'watch']);
  const command = t['command'];
  if (command === undefined) throw r.error(keyPath(path, 'command'), 'missing required key `command`');
  const commands = typeof command === 'string' ? [command] : r.stringArray(command, keyPath(path, 'command'));
  const build: BuildConfig = { commands, watch: r.optStringArray(t, 'watch', path) ?? [] };
  const workdir = r.optString(t, 'workdir', path);
  if (workdir !== undefined) build.workdir = workdir;
  return build;
}

// `allowed_http_hosts` (deprecated) → `allowed_outbound_hosts`, as Spin's compat layer converts it.
function convertAllowedHttpHosts(ctx: Ctx, list: string[], path: string): string[] {
  if (list.includes('insecure:allow-all')) return ['http://*:*', 'https://*:*', 'http://self'];
  const out: string[] = [];
  list.forEach((text, i) => {
    let url: URL;
    try {
      url = new URL(text.includes('//') ? text : `http://${text}`);
    } catch {
      throw ctx.r.error(keyPath(path, i), `${text} isn't a valid host or host:port string`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw ctx.r.error(keyPath(path, i), `${text} isn't a valid host or host:port string`);
    }
    if (url.pathname.length > 1) throw ctx.r.error(keyPath(path, i), `${text} contains a path, should be host and optional port only`);
    if (url.hostname === 'self') {
      out.push('http://self');
    } else {
      const port = url.port ? `:${url.port}` : '';
      out.push(`http://${url.hostname}${port}`, `https://${url.hostname}${port}`);
    }
  });
  return out;
}

function parseComponent(ctx: Ctx, id: string, value: unknown, path: string): Component {
  const { r } = ctx;
  const t = r.table(value, path);
  r.checkKeys(t, path, COMPONENT_KEYS);

  const variables = r.optStringMap(t, 'variables', path) ?? {};
  for (const name of Object.keys(variables)) {
    const idErr = identifierError(name, '_', true);
    if (idErr) {
      throw r.error(
        keyPath(keyPath(path, 'variables'), name),
        `invalid variable name \`${name}\`: ${idErr}`,
        'variable names are lower_snake_case',
        'variable-invalid',
      );
    }
  }

  const allowedOutboundHosts = r.optStringArray(t, 'allowed_outbound_hosts', path) ?? [];
  const httpHosts = r.optStringArray(t, 'allowed_http_hosts', path);
  if (httpHosts?.length) {
    const converted = convertAllowedHttpHosts(ctx, httpHosts, keyPath(path, 'allowed_http_hosts'));
    const list = converted.map((h) => JSON.stringify(h)).join(', ');
    ctx.warnings.push(
      `Use of the deprecated field \`allowed_http_hosts\` - to fix, replace \`allowed_http_hosts\` with \`allowed_outbound_hosts = [${list}]\``,
    );
    allowedOutboundHosts.push(...converted);
  }

  const component: Component = {
    id,
    source: parseSource(ctx, t['source'], keyPath(path, 'source')),
    variables,
    environment: r.optStringMap(t, 'environment', path) ?? {},
    files: t['files'] === undefined ? [] : parseFiles(ctx, t['files'], keyPath(path, 'files')),
    excludeFiles: r.optStringArray(t, 'exclude_files', path) ?? [],
    allowedOutboundHosts,
    keyValueStores: labelList(ctx, t, 'key_value_stores', path),
    sqliteDatabases: labelList(ctx, t, 'sqlite_databases', path),
    aiModels: r.optStringArray(t, 'ai_models', path) ?? [],
    tool: r.optTableMap(t, 'tool', path),
    dependenciesInheritConfiguration: r.optBool(t, 'dependencies_inherit_configuration', path) ?? false,
    dependencies: r.optTable(t, 'dependencies', path) ?? {},
  };
  const description = r.optString(t, 'description', path);
  if (description) component.description = description;
  if (t['targets'] !== undefined) component.targets = parseTargets(ctx, t['targets'], keyPath(path, 'targets'));
  if (t['build'] !== undefined) component.build = parseBuild(ctx, t['build'], keyPath(path, 'build'));
  return component;
}

interface RawTrigger {
  type: string;
  table: Table;
  path: string;
  id: string;
  /** A component reference, or an inline component table still to hoist. */
  component?: string | Table;
}

function parseTriggers(
  ctx: Ctx,
  triggerTable: Table,
  components: Record<string, Component>,
): { triggers: HttpTrigger[]; otherTriggers: OtherTrigger[] } {
  const { r } = ctx;
  const raw: RawTrigger[] = [];
  for (const [type, list] of Object.entries(triggerTable)) {
    const typePath = keyPath('trigger', type);
    r.array(list, typePath).forEach((item, i) => {
      const path = keyPath(typePath, i);
      const table = r.table(item, path);
      const trigger: RawTrigger = { type, table, path, id: r.optString(table, 'id', path) ?? '' };
      const component = table['component'];
      if (component !== undefined) {
        if (typeof component === 'string') {
          const idErr = identifierError(component, '-', false);
          if (idErr) throw r.error(keyPath(path, 'component'), `invalid component id \`${component}\`: ${idErr}`);
          trigger.component = component;
        } else {
          trigger.component = r.table(component, keyPath(path, 'component'));
        }
      }
      raw.push(trigger);
    });
  }

  // Trigger ids: natural `<component>-<type>-trigger` for references, else `<type>-trigger<N>` (Spin's normalize).
  const taken = new Set(raw.map((t) => t.id));
  const counters = new Map<string, number>();
  for (const t of raw) {
    if (t.id !== '') continue;
    if (typeof t.component === 'string') {
      const candidate = `${t.component}-${t.type}-trigger`;
      if (!taken.has(candidate)) {
        t.id = candidate;
        taken.add(candidate);
        continue;
      }
    }
    let n = counters.get(t.type) ?? 1;
    while (taken.has(`${t.type}-trigger${n}`)) n++;
    t.id = `${t.type}-trigger${n}`;
    taken.add(t.id);
    counters.set(t.type, n);
  }

  // Inline components are hoisted under `<trigger-id>-component`, falling back to `inline-component<N>`.
  for (const t of raw) {
    if (!t.component || typeof t.component === 'string') continue;
    const componentPath = keyPath(t.path, 'component');
    let id = `${t.id}-component`;
    if (identifierError(id, '-', false) || Object.hasOwn(components, id)) {
      let n = 1;
      while (Object.hasOwn(components, `inline-component${n}`)) n++;
      id = `inline-component${n}`;
    }
    components[id] = parseComponent(ctx, id, t.component, componentPath);
    t.component = id;
  }

  const triggers: HttpTrigger[] = [];
  const otherTriggers: OtherTrigger[] = [];
  for (const t of raw) {
    if (t.type === 'http') {
      triggers.push(parseHttpTrigger(ctx, t, triggers.length, components));
    } else {
      const other: OtherTrigger = { type: t.type, id: t.id, config: t.table };
      if (typeof t.component === 'string') other.component = t.component;
      otherTriggers.push(other);
    }
  }
  const otherTypes = [...new Set(otherTriggers.map((t) => t.type))];
  for (const type of otherTypes) {
    ctx.warnings.push(`[[trigger.${type}]] triggers are not supported by this host and will not run (only [[trigger.http]] is served)`);
  }
  return { triggers, otherTriggers };
}

function parseHttpTrigger(ctx: Ctx, t: RawTrigger, index: number, components: Record<string, Component>): HttpTrigger {
  const { r } = ctx;
  const { table, path } = t;
  r.checkKeys(table, path, HTTP_TRIGGER_KEYS);

  const routeValue = table['route'];
  let route: HttpTrigger['route'];
  if (routeValue === undefined) {
    throw r.error(
      keyPath(path, 'route'),
      'missing required key `route`',
      'set `route = "/path"` (or `"/path/..."` for a prefix), or `route = { private = true }`',
    );
  } else if (typeof routeValue === 'string') {
    route = routeValue;
  } else {
    const rt = r.table(routeValue, keyPath(path, 'route'));
    r.checkKeys(rt, keyPath(path, 'route'), ['private']);
    const isPrivate = r.optBool(rt, 'private', keyPath(path, 'route'));
    if (isPrivate === undefined) throw r.error(keyPath(path, 'route'), 'missing required key `private`');
    if (!isPrivate) {
      throw r.error(
        keyPath(path, 'route'),
        `route must be a string pattern or '{ private = true }': '${typeof t.component === 'string' ? t.component : t.id}' has { private = false }`,
        'use `route = { private = true }` or a route string',
        'route-invalid',
      );
    }
    route = { private: true };
  }

  const trigger: HttpTrigger = { id: t.id, route, executor: parseExecutor(ctx, table['executor'], keyPath(path, 'executor')), index };
  const hasStatic = table['static_response'] !== undefined;
  if (t.component !== undefined && hasStatic) {
    throw r.error(
      path,
      `Triggers must specify either component or static_response - ${t.id} has both`,
      'remove one of `component` and `static_response`',
    );
  }
  if (t.component === undefined && !hasStatic) {
    throw r.error(
      path,
      `Triggers must specify either component or static_response - ${t.id} has neither`,
      'add `component = "<component-id>"`',
    );
  }
  if (typeof t.component === 'string') {
    if (!Object.hasOwn(components, t.component)) {
      throw new HostError(`trigger '${t.id}' uses component '${t.component}', which is not defined`, {
        code: 'component-missing',
        file: r.file,
        key: keyPath(path, 'component'),
        hint: `add a [component.${t.component}] table or fix the trigger's component id`,
      });
    }
    trigger.component = t.component;
  }
  if (hasStatic) trigger.staticResponse = parseStaticResponse(ctx, table['static_response'], keyPath(path, 'static_response'));
  if (trigger.executor.type !== 'http') {
    ctx.warnings.push(
      `trigger '${t.id}' uses executor '${trigger.executor.type}', which this host does not support (only wasi:http components run)`,
    );
  }
  return trigger;
}

function parseExecutor(ctx: Ctx, value: unknown, path: string): HttpExecutor {
  const { r } = ctx;
  if (value === undefined) return { type: 'http' };
  const t = r.table(value, path);
  const type = r.reqString(t, 'type', path);
  switch (type) {
    case 'http':
    case 'spin':
      r.checkKeys(t, path, ['type']);
      return { type: 'http' };
    case 'wasip3-unstable':
      r.checkKeys(t, path, ['type']);
      return { type: 'wasip3-unstable' };
    case 'wagi': {
      r.checkKeys(t, path, ['type', 'argv', 'entrypoint']);
      const entrypoint = r.optString(t, 'entrypoint', path) ?? '_start';
      if (entrypoint !== '_start') {
        throw r.error(keyPath(path, 'entrypoint'), "Wagi components cannot use the deprecated 'entrypoint' field", 'remove `entrypoint`');
      }
      return { type: 'wagi', argv: r.optString(t, 'argv', path) ?? '${SCRIPT_NAME} ${ARGS}', entrypoint };
    }
    default:
      throw r.error(
        keyPath(path, 'type'),
        `unknown executor type \`${type}\``,
        'use `http` (default), `spin`, `wagi` or `wasip3-unstable`',
      );
  }
}

function parseStaticResponse(ctx: Ctx, value: unknown, path: string): StaticResponse {
  const { r } = ctx;
  const t = r.table(value, path);
  // Spin ignores unknown keys here (no deny_unknown_fields), so only warn.
  const extra = r.extraKeys(t, ['status_code', 'headers', 'body']);
  if (extra.length) ctx.warnings.push(`${ctx.r.file}: ${path}: unknown keys ignored: ${extra.join(', ')}`);
  const headers = r.optStringMap(t, 'headers', path) ?? {};
  const response: StaticResponse = {
    statusCode: r.optInteger(t, 'status_code', path, 100, 999) ?? 200,
    headers: Object.entries(headers),
  };
  const body = r.optString(t, 'body', path);
  if (body !== undefined) response.body = body;
  return response;
}

const DEPENDENCY_FORMS: readonly { required: readonly string[]; optional: readonly string[] }[] = [
  { required: ['version'], optional: ['registry', 'package', 'export'] },
  { required: ['path'], optional: ['export'] },
  { required: ['url', 'digest'], optional: ['export'] },
  { required: ['component'], optional: ['export'] },
];

function validateDependencies(ctx: Ctx, components: Record<string, Component>): void {
  const { r } = ctx;
  for (const component of Object.values(components)) {
    const depsPath = keyPath(keyPath('component', component.id), 'dependencies');
    for (const [name, value] of Object.entries(component.dependencies)) {
      const p = keyPath(depsPath, name);
      const isPackage = /^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*(\/[A-Za-z][A-Za-z0-9-]*)?(@[0-9A-Za-z.+-]+)?$/.test(name);
      if (!isPackage && identifierError(name, '-', false)) {
        throw r.error(
          p,
          `invalid dependency name ${JSON.stringify(name)}`,
          'use "namespace:package[/interface][@version]" or a kebab-case plain name',
        );
      }
      if (typeof value === 'string') {
        if (!isPackage) throw r.error(p, `dependency ${JSON.stringify(name)} must specify a package name`);
        continue;
      }
      const t = r.table(value, p);
      const keys = Object.keys(t);
      const form = DEPENDENCY_FORMS.find(
        (f) => f.required.every((k) => keys.includes(k)) && keys.every((k) => f.required.includes(k) || f.optional.includes(k)),
      );
      if (!form) {
        throw r.error(
          p,
          'unrecognized dependency',
          'use "<semver>", { version, registry?, package?, export? }, { path, export? }, { url, digest, export? } or { component, export? }',
        );
      }
      if (!isPackage && form.required[0] === 'version' && t['package'] === undefined) {
        throw r.error(p, `dependency ${JSON.stringify(name)} must specify a package name`);
      }
      for (const k of keys) r.string(t[k], keyPath(p, k));
      if (form.required[0] === 'component') {
        const target = t['component'] as string;
        if (!Object.hasOwn(components, target)) {
          throw new HostError(`dependency ID ${target} does not exist`, {
            code: 'component-missing',
            file: r.file,
            key: keyPath(p, 'component'),
            hint: `add a [component.${target}] table`,
          });
        }
      }
    }
  }
}

// Component variables and allowed_outbound_hosts may only reference declared application variables.
function validateTemplates(ctx: Ctx, variables: Record<string, VariableDecl>, components: Record<string, Component>): void {
  const { r } = ctx;
  const declared = Object.keys(variables);
  const unknownHint = (name: string) =>
    `declare it under [variables] (e.g. \`${name} = { default = "..." }\`)${declared.length ? `; declared: ${declared.join(', ')}` : ''}`;
  for (const component of Object.values(components)) {
    const base = keyPath('component', component.id);
    for (const [name, value] of Object.entries(component.variables)) {
      const p = keyPath(keyPath(base, 'variables'), name);
      const template = parseTemplateAt(ctx, value, p);
      for (const ref of template.variables) {
        if (!Object.hasOwn(variables, ref)) {
          throw r.error(p, `invalid variable template: unknown variable ${JSON.stringify(ref)}`, unknownHint(ref), 'template-invalid');
        }
      }
    }
    component.allowedOutboundHosts.forEach((entry, i) => {
      const p = keyPath(keyPath(base, 'allowed_outbound_hosts'), i);
      const template = parseTemplateAt(ctx, entry, p);
      for (const ref of template.variables) {
        if (!Object.hasOwn(variables, ref)) {
          throw r.error(p, `invalid variable template: unknown variable ${JSON.stringify(ref)}`, unknownHint(ref), 'template-invalid');
        }
      }
      // Like Spin, templated entries are checked only when every referenced variable has a default.
      const defaults = template.variables.map((v) => variables[v]?.default);
      if (defaults.some((d) => d === undefined)) return;
      const rendered = template.render((name) => variables[name]!.default!);
      try {
        parseAllowedHost(rendered);
      } catch (err) {
        if (!(err instanceof HostError)) throw err;
        const reason = template.isLiteral
          ? err.reason
          : `using default variable value(s) with template ${JSON.stringify(template.toString())} results in invalid config: ${err.reason}`;
        throw new HostError(reason, { code: err.code, file: r.file, key: p, hint: err.hint, cause: err });
      }
    });
  }
}

function parseTemplateAt(ctx: Ctx, text: string, path: string): ReturnType<typeof parseTemplate> {
  try {
    return parseTemplate(text);
  } catch (err) {
    if (err instanceof HostError) throw err.withContext({ file: ctx.r.file, key: path });
    throw err;
  }
}
