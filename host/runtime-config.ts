/**
 * `runtime-config.toml` (`spin up --runtime-config-file`): where state, logs, key-value stores, SQLite databases,
 * LLM compute and variable providers live, parsed as Spin 3.x parses it.
 *
 * Paths are resolved the way Spin resolves them, which is not uniform: key-value `path`s and TLS files are
 * relative to the runtime-config file's directory, while SQLite `path`s, `state_dir`, `log_dir` and `dotenv_path`
 * are relative to the current directory. Unknown top-level keys are errors; the result holds absolute paths.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { debugString, HostError } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { keyPath, TomlReader } from './manifest.ts';

/** A key-value store. `path: null` is an in-memory store. */
export type KeyValueStoreConfig = { type: 'spin'; path: string | null } | { type: 'redis'; url: string };

/** A SQLite database. `path: null` is an in-memory database. */
export type SqliteDatabaseConfig = { type: 'spin'; path: string | null } | { type: 'libsql'; url: string; token: string };

export type LlmComputeConfig = { type: 'spin' } | { type: 'remote_http'; url: string; authToken: string; apiType: 'default' | 'open_ai' };

/** A `[[variables_provider]]` entry. Vault and Azure Key Vault are recognized but not run by this host. */
export type VariablesProviderConfig =
  | { type: 'env'; prefix?: string; dotenvPath?: string }
  | { type: 'static'; values: Record<string, string> }
  | { type: 'vault' | 'azure_key_vault'; config: Record<string, unknown> };

export interface ClientTlsConfig {
  componentIds: string[];
  hosts: string[];
  caUseWebpkiRoots: boolean;
  caRootsFile?: string;
  clientCertFile?: string;
  clientPrivateKeyFile?: string;
}

export interface RuntimeConfig {
  /** Absolute path of the file, or undefined when none was given (all defaults). */
  file: string | undefined;
  /** Absolute state directory, or null when unset (default stores in memory). */
  stateDir: string | null;
  /** Absolute directory for component stdio logs, or null when logging to files is off. */
  logDir: string | null;
  maxInstanceMemory?: number;
  /** Every defined store, `default` included. */
  keyValueStores: Record<string, KeyValueStoreConfig>;
  /** Every defined database, `default` included. */
  sqliteDatabases: Record<string, SqliteDatabaseConfig>;
  llmCompute?: LlmComputeConfig;
  /** Configured variable providers in file order (the built-in env provider is implied, not listed). */
  variablesProviders: VariablesProviderConfig[];
  /** `[outbound_http]` when present: `connectionPooling` is then false unless set. */
  outboundHttp?: { connectionPooling: boolean; maxConcurrentRequests?: number };
  /** `[outbound_networking] block_networks` entries (`private` or CIDR) when present. */
  outboundNetworking?: { blockNetworks: string[] };
  clientTls: ClientTlsConfig[];
  /** `[key_value_store.x: redis]`-style entries for Spin's `Using runtime config …` line, in file order. */
  summaries: string[];
  /** Keys Spin accepts but ignores (e.g. extra keys in a store table). */
  warnings: string[];
}

export interface RuntimeConfigOptions {
  /** The manifest's directory; the default state directory is `<manifestDir>/.spin`. */
  manifestDir?: string;
  /** Base for cwd-relative paths; defaults to `process.cwd()`. */
  cwd?: string;
  /** `--state-dir`: overrides the file's `state_dir`; `""` means unset (in-memory). */
  stateDir?: string;
  /** `--log-dir`: overrides the file's `log_dir`; `""` turns file logging off. */
  logDir?: string;
}

type Table = Record<string, unknown>;

const TOP_KEYS = [
  'state_dir',
  'log_dir',
  'max_instance_memory',
  'key_value_store',
  'sqlite_database',
  'llm_compute',
  'variables_provider',
  'config_provider',
  'outbound_http',
  'outbound_networking',
  'client_tls',
] as const;

const DOCS = 'https://spinframework.dev/v3/dynamic-configuration';

/**
 * Parses runtime config text (`undefined` for "no file": every default applies).
 *
 * @param file the file the text came from; relative key-value paths resolve against its directory.
 * @throws {HostError} `runtime-config-invalid`, `runtime-config-unknown-key` or `unsupported` (Azure Cosmos DB and
 *   DynamoDB key-value stores), naming the file and key.
 */
export function parseRuntimeConfig(text: string | undefined, file: string | undefined, options: RuntimeConfigOptions = {}): RuntimeConfig {
  const cwd = options.cwd ?? process.cwd();
  const shownFile = file ?? 'runtime-config.toml';
  const r = new TomlReader(shownFile, 'runtime-config-invalid', 'runtime-config-unknown-key');
  let doc: Table = {};
  if (text !== undefined) {
    try {
      doc = parseToml(text) as Table;
    } catch (cause) {
      if (cause instanceof TomlError) {
        throw new HostError(`invalid TOML: ${cause.message}`, {
          code: 'runtime-config-invalid',
          file: shownFile,
          hint: 'fix the TOML syntax at the position shown',
          cause,
        });
      }
      throw cause;
    }
  }
  const unknown = Object.keys(doc).filter((k) => !(TOP_KEYS as readonly string[]).includes(k));
  if (unknown.length) {
    throw r.error(
      '',
      `unused runtime config key(s): ${unknown.join(', ')}`,
      `allowed top-level keys: ${TOP_KEYS.join(', ')} (${DOCS})`,
      'runtime-config-unknown-key',
    );
  }

  const fileDir = file === undefined ? undefined : dirname(resolve(cwd, file));
  const warnings: string[] = [];
  const summaries: string[] = [];
  const ignoreExtra = (t: Table, path: string, allowed: readonly string[]) => {
    const extra = r.extraKeys(t, allowed);
    if (extra.length) warnings.push(`${shownFile}: ${path}: unknown keys ignored: ${extra.join(', ')}`);
  };

  // `null` (set to "") is a decision, not a missing value: only `undefined` falls back to the default.
  const explicitState = dirSetting(r, options.stateDir, doc, 'state_dir', cwd);
  const stateDir =
    explicitState !== undefined ? explicitState : options.manifestDir === undefined ? null : join(options.manifestDir, '.spin');
  const explicitLog = dirSetting(r, options.logDir, doc, 'log_dir', cwd);
  const logDir = explicitLog !== undefined ? explicitLog : stateDir === null ? null : join(stateDir, 'logs');

  const config: RuntimeConfig = {
    file: file === undefined ? undefined : resolve(cwd, file),
    stateDir,
    logDir,
    keyValueStores: Object.create(null),
    sqliteDatabases: Object.create(null),
    variablesProviders: [],
    clientTls: [],
    summaries,
    warnings,
  };
  const maxMemory = r.optInteger(doc, 'max_instance_memory', '', 0, Number.MAX_SAFE_INTEGER);
  if (maxMemory !== undefined) config.maxInstanceMemory = maxMemory;

  // [key_value_store.<label>]
  for (const [label, value] of Object.entries(r.optTable(doc, 'key_value_store', '') ?? {})) {
    const path = keyPath('key_value_store', label);
    const t = r.table(value, path);
    const type = r.reqString(t, 'type', path);
    summaries.push(`[key_value_store.${label}: ${type}]`);
    if (type === 'spin') {
      ignoreExtra(t, path, ['type', 'path']);
      const p = r.optString(t, 'path', path);
      config.keyValueStores[label] = {
        type: 'spin',
        path: p === undefined ? null : fileDir === undefined ? resolve(cwd, p) : resolve(fileDir, p),
      };
    } else if (type === 'redis') {
      ignoreExtra(t, path, ['type', 'url']);
      config.keyValueStores[label] = { type: 'redis', url: r.reqString(t, 'url', path) };
    } else if (type === 'azure_cosmos' || type === 'aws_dynamo') {
      throw new HostError(`key-value store type '${type}' is not supported by this host`, {
        code: 'unsupported',
        file: shownFile,
        key: keyPath(path, 'type'),
        hint: 'use type = "spin" (SQLite file) or type = "redis" for local runs',
      });
    } else {
      throw r.error(
        keyPath(path, 'type'),
        `the store type '${type}' was not registered with the config resolver`,
        'use type = "spin" or "redis" (Spin also knows "azure_cosmos" and "aws_dynamo")',
      );
    }
  }
  if (!Object.hasOwn(config.keyValueStores, 'default')) {
    config.keyValueStores['default'] = { type: 'spin', path: stateDir === null ? null : join(stateDir, 'sqlite_key_value.db') };
  }

  // [sqlite_database.<label>]
  for (const [label, value] of Object.entries(r.optTable(doc, 'sqlite_database', '') ?? {})) {
    const path = keyPath('sqlite_database', label);
    const t = r.table(value, path);
    const type = r.reqString(t, 'type', path);
    summaries.push(`[sqlite_database.${label}: ${type}]`);
    if (type === 'spin') {
      r.checkKeys(t, path, ['type', 'path']);
      const p = r.optString(t, 'path', path);
      config.sqliteDatabases[label] = { type: 'spin', path: p === undefined ? null : resolve(cwd, p) };
    } else if (type === 'libsql') {
      r.checkKeys(t, path, ['type', 'url', 'token']);
      const url = r.reqString(t, 'url', path);
      if (!url.startsWith('https://') && !url.startsWith('http://')) {
        throw r.error(
          keyPath(path, 'url'),
          `unexpected libSQL URL '${url}': URL does not start with 'https://' or 'http://'`,
          'Spin only talks to libSQL databases over HTTP(S)',
        );
      }
      config.sqliteDatabases[label] = { type: 'libsql', url, token: r.reqString(t, 'token', path) };
    } else {
      throw r.error(keyPath(path, 'type'), `Unknown database kind: ${type}`, 'use type = "spin" or "libsql"');
    }
  }
  if (!Object.hasOwn(config.sqliteDatabases, 'default')) {
    config.sqliteDatabases['default'] = { type: 'spin', path: stateDir === null ? null : join(stateDir, 'sqlite_db.db') };
  }

  // [llm_compute]
  const llm = r.optTable(doc, 'llm_compute', '');
  if (llm) {
    const path = 'llm_compute';
    const type = r.reqString(llm, 'type', path);
    summaries.push(`[llm_compute: ${type}]`);
    if (type === 'spin') {
      ignoreExtra(llm, path, ['type']);
      config.llmCompute = { type: 'spin' };
    } else if (type === 'remote_http') {
      ignoreExtra(llm, path, ['type', 'url', 'auth_token', 'api_type']);
      const url = r.reqString(llm, 'url', path);
      if (!URL.canParse(url)) throw r.error(keyPath(path, 'url'), `invalid URL ${JSON.stringify(url)}`);
      const apiType = r.optString(llm, 'api_type', path) ?? 'default';
      if (apiType !== 'default' && apiType !== 'open_ai') {
        throw r.error(keyPath(path, 'api_type'), `unknown variant \`${apiType}\`, expected \`open_ai\` or \`default\``);
      }
      config.llmCompute = { type: 'remote_http', url, authToken: r.reqString(llm, 'auth_token', path), apiType };
    } else {
      throw r.error(keyPath(path, 'type'), `unknown variant \`${type}\`, expected \`spin\` or \`remote_http\``);
    }
  }

  // [[variables_provider]] (alias [[config_provider]]; Spin reads one and rejects the other as unused)
  if (doc['variables_provider'] !== undefined && doc['config_provider'] !== undefined) {
    throw r.error(
      'config_provider',
      'unused runtime config key(s): config_provider',
      'use only [[variables_provider]] (config_provider is its old name)',
      'runtime-config-unknown-key',
    );
  }
  const providersKey = doc['variables_provider'] !== undefined ? 'variables_provider' : 'config_provider';
  if (doc[providersKey] !== undefined) {
    r.array(doc[providersKey], providersKey).forEach((item, i) => {
      const path = keyPath(providersKey, i);
      const t = r.table(item, path);
      config.variablesProviders.push(parseProvider(r, t, path, cwd, ignoreExtra));
    });
  }

  // [outbound_http]
  const http = r.optTable(doc, 'outbound_http', '');
  if (http) {
    r.checkKeys(http, 'outbound_http', ['connection_pooling', 'max_concurrent_requests']);
    config.outboundHttp = { connectionPooling: r.optBool(http, 'connection_pooling', 'outbound_http') ?? false };
    const max = r.optInteger(http, 'max_concurrent_requests', 'outbound_http', 0, Number.MAX_SAFE_INTEGER);
    if (max !== undefined) config.outboundHttp.maxConcurrentRequests = max;
  }

  // [outbound_networking]
  const networking = r.optTable(doc, 'outbound_networking', '');
  if (networking) {
    r.checkKeys(networking, 'outbound_networking', ['block_networks']);
    const blockNetworks = r.optStringArray(networking, 'block_networks', 'outbound_networking') ?? [];
    blockNetworks.forEach((net, i) => {
      if (net !== 'private' && !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(net) && !/^[0-9a-fA-F.:]+$/.test(net)) {
        throw r.error(
          keyPath(keyPath('outbound_networking', 'block_networks'), i),
          `invalid value ${debugString(net)}, expected an IP network in CIDR notation or the keyword 'private'`,
        );
      }
    });
    config.outboundNetworking = { blockNetworks };
  }

  // [[client_tls]]
  if (doc['client_tls'] !== undefined) {
    r.array(doc['client_tls'], 'client_tls').forEach((item, i) => {
      const path = keyPath('client_tls', i);
      const t = r.table(item, path);
      r.checkKeys(t, path, [
        'component_ids',
        'hosts',
        'ca_use_webpki_roots',
        'ca_roots_file',
        'client_cert_file',
        'client_private_key_file',
      ]);
      const componentIds = r.optStringArray(t, 'component_ids', path) ?? [];
      const hosts = r.optStringArray(t, 'hosts', path) ?? [];
      if (componentIds.length === 0) throw r.error(keyPath(path, 'component_ids'), "'component_ids' list may not be empty");
      if (hosts.length === 0) throw r.error(keyPath(path, 'hosts'), "'hosts' list may not be empty");
      const rel = (key: string) => {
        const p = r.optString(t, key, path);
        return p === undefined ? undefined : resolve(fileDir ?? cwd, p);
      };
      const caRootsFile = rel('ca_roots_file');
      const clientCertFile = rel('client_cert_file');
      const clientPrivateKeyFile = rel('client_private_key_file');
      if ((clientCertFile === undefined) !== (clientPrivateKeyFile === undefined)) {
        throw r.error(
          path,
          clientCertFile
            ? 'client_cert_file specified without client_private_key_file'
            : 'client_private_key_file specified without client_cert_file',
        );
      }
      const tls: ClientTlsConfig = {
        componentIds,
        hosts,
        caUseWebpkiRoots: r.optBool(t, 'ca_use_webpki_roots', path) ?? caRootsFile === undefined,
      };
      if (caRootsFile) tls.caRootsFile = caRootsFile;
      if (clientCertFile) tls.clientCertFile = clientCertFile;
      if (clientPrivateKeyFile) tls.clientPrivateKeyFile = clientPrivateKeyFile;
      config.clientTls.push(tls);
    });
  }

  return config;
}

// An explicit directory: the CLI flag wins over the file; "" means unset. Undefined when neither sets it.
function dirSetting(r: TomlReader, flag: string | undefined, doc: Table, key: string, cwd: string): string | null | undefined {
  const value = flag ?? r.optString(doc, key, '');
  if (value === undefined) return undefined;
  return value === '' ? null : resolve(cwd, value);
}

function parseProvider(
  r: TomlReader,
  t: Table,
  path: string,
  cwd: string,
  ignoreExtra: (t: Table, path: string, allowed: readonly string[]) => void,
): VariablesProviderConfig {
  const type = r.reqString(t, 'type', path);
  switch (type) {
    case 'env': {
      r.checkKeys(t, path, ['type', 'prefix', 'dotenv_path']);
      const provider: VariablesProviderConfig = { type: 'env' };
      const prefix = r.optString(t, 'prefix', path);
      if (prefix !== undefined) provider.prefix = prefix;
      const dotenv = r.optString(t, 'dotenv_path', path);
      if (dotenv !== undefined) provider.dotenvPath = isAbsolute(dotenv) ? dotenv : resolve(cwd, dotenv);
      return provider;
    }
    case 'static': {
      ignoreExtra(t, path, ['type', 'values']);
      if (t['values'] === undefined) {
        throw r.error(keyPath(path, 'values'), 'missing required key `values`', 'give the values as a table: values = { name = "value" }');
      }
      return { type: 'static', values: r.optStringMap(t, 'values', path) ?? {} };
    }
    case 'vault':
      r.checkKeys(t, path, ['type', 'url', 'token', 'mount', 'prefix']);
      for (const key of ['url', 'token', 'mount']) r.reqString(t, key, path);
      return { type: 'vault', config: t };
    case 'azure_key_vault':
      r.checkKeys(t, path, ['type', 'vault_url', 'client_id', 'client_secret', 'tenant_id', 'authority_host']);
      r.reqString(t, 'vault_url', path);
      return { type: 'azure_key_vault', config: t };
    default:
      throw r.error(
        keyPath(path, 'type'),
        `unknown variant \`${type}\`, expected one of \`azure_key_vault\`, \`static\`, \`vault\`, \`env\``,
      );
  }
}

/**
 * Reads and parses a runtime-config file; with no file, returns the defaults.
 *
 * @throws {HostError} `runtime-config-missing` when the file cannot be read, else as {@link parseRuntimeConfig}.
 */
export async function loadRuntimeConfig(file: string | undefined, options: RuntimeConfigOptions = {}): Promise<RuntimeConfig> {
  if (file === undefined) return parseRuntimeConfig(undefined, undefined, options);
  let text: string;
  try {
    text = await readFile(resolve(options.cwd ?? process.cwd(), file), 'utf8');
  } catch (cause) {
    throw new HostError(`failed to read runtime config file '${file}'`, {
      code: 'runtime-config-missing',
      file,
      hint: 'check the --runtime-config-file path',
      cause,
    });
  }
  return parseRuntimeConfig(text, file, options);
}

/**
 * Spin's startup check: every `key_value_stores` and `sqlite_databases` label a component lists must be `default`
 * or defined in the runtime config.
 *
 * @throws {HostError} `store-label-unknown` with Spin's wording.
 */
export function checkStoreLabels(
  manifest: Pick<Manifest, 'components' | 'file'>,
  config: Pick<RuntimeConfig, 'keyValueStores' | 'sqliteDatabases'>,
): void {
  const hint = `define it in a runtime config file passed with --runtime-config-file, or fix the label (${DOCS})`;
  for (const component of Object.values(manifest.components)) {
    component.keyValueStores.forEach((label, i) => {
      if (!Object.hasOwn(config.keyValueStores, label)) {
        throw new HostError(`unknown key_value_stores label ${debugString(label)} for component ${debugString(component.id)}`, {
          code: 'store-label-unknown',
          file: manifest.file,
          key: keyPath(keyPath(keyPath('component', component.id), 'key_value_stores'), i),
          hint: `[key_value_store.${label}]: ${hint}`,
        });
      }
    });
  }
  const missing: string[] = [];
  for (const component of Object.values(manifest.components)) {
    for (const label of component.sqliteDatabases) {
      if (!Object.hasOwn(config.sqliteDatabases, label)) missing.push(`- Component ${component.id} uses database '${label}'`);
    }
  }
  if (missing.length) {
    throw new HostError(
      [
        'One or more components use SQLite databases which are not defined.',
        'Check the spelling, or pass a runtime configuration file that defines these stores.',
        'See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-configuration',
        'Details:',
        ...missing,
      ].join('\n'),
      { code: 'store-label-unknown', file: manifest.file },
    );
  }
}

/**
 * Spin's first startup line, `Using runtime config [key_value_store.x: redis], … from "<file>"`, or undefined
 * when the file configures no stores, databases or LLM.
 */
export function runtimeConfigSummary(config: Pick<RuntimeConfig, 'summaries' | 'file'>): string | undefined {
  if (config.summaries.length === 0) return undefined;
  const from = config.file === undefined ? '' : `from ${debugString(config.file)}`;
  return `Using runtime config ${config.summaries.join(', ')} ${from}`;
}
