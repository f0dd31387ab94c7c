import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostError } from '../../host/errors.ts';
import { parseManifest } from '../../host/manifest.ts';
import { checkStoreLabels, loadRuntimeConfig, parseRuntimeConfig, runtimeConfigSummary } from '../../host/runtime-config.ts';
import type { RuntimeConfigOptions } from '../../host/runtime-config.ts';

const FILE = '/etc/app/runtime-config.toml';
const OPTS: RuntimeConfigOptions = { manifestDir: '/srv/app', cwd: '/work/cwd' };

const parse = (text: string, options: RuntimeConfigOptions = OPTS) => parseRuntimeConfig(text, FILE, options);

function configError(text: string): HostError {
  try {
    parse(text);
  } catch (err) {
    return err as HostError;
  }
  throw new Error('expected the runtime config to be rejected');
}

describe('defaults', () => {
  it('uses <manifest dir>/.spin for state, logs and the default stores', () => {
    const c = parseRuntimeConfig(undefined, undefined, OPTS);
    expect(c).toEqual({
      file: undefined,
      stateDir: '/srv/app/.spin',
      logDir: '/srv/app/.spin/logs',
      keyValueStores: { default: { type: 'spin', path: '/srv/app/.spin/sqlite_key_value.db' } },
      sqliteDatabases: { default: { type: 'spin', path: '/srv/app/.spin/sqlite_db.db' } },
      variablesProviders: [],
      clientTls: [],
      summaries: [],
      warnings: [],
    });
    expect(parse('').stateDir).toBe('/srv/app/.spin');
  });

  it('has no state dir (in-memory defaults) without a manifest dir', () => {
    const c = parseRuntimeConfig(undefined, undefined, { cwd: '/x' });
    expect(c.stateDir).toBeNull();
    expect(c.logDir).toBeNull();
    expect(c.keyValueStores['default']).toEqual({ type: 'spin', path: null });
    expect(c.sqliteDatabases['default']).toEqual({ type: 'spin', path: null });
  });
});

describe('state_dir, log_dir, max_instance_memory', () => {
  it('resolves explicit directories against the current directory', () => {
    const c = parse('state_dir = "state"\nlog_dir = "/var/log/app"\nmax_instance_memory = 10485760\n');
    expect(c.stateDir).toBe('/work/cwd/state');
    expect(c.logDir).toBe('/var/log/app');
    expect(c.maxInstanceMemory).toBe(10485760);
    expect(c.keyValueStores['default']).toEqual({ type: 'spin', path: '/work/cwd/state/sqlite_key_value.db' });
    expect(parse('state_dir = "state"').logDir).toBe('/work/cwd/state/logs');
  });

  it('treats "" as unset: in-memory stores, no log files', () => {
    const c = parse('state_dir = ""\n');
    expect(c.stateDir).toBeNull();
    expect(c.logDir).toBeNull();
    expect(c.keyValueStores['default']).toEqual({ type: 'spin', path: null });
    expect(parse('log_dir = ""').logDir).toBeNull();
    expect(parse('log_dir = ""').stateDir).toBe('/srv/app/.spin');
  });

  it('lets --state-dir / --log-dir override the file', () => {
    const c = parse('state_dir = "from-file"\nlog_dir = "logs-from-file"\n', { ...OPTS, stateDir: '/flag/state', logDir: '' });
    expect(c.stateDir).toBe('/flag/state');
    expect(c.logDir).toBeNull();
    expect(parse('', { ...OPTS, stateDir: '' }).stateDir).toBeNull();
  });

  it('checks types', () => {
    expect(configError('max_instance_memory = "lots"').reason).toBe('expected an integer, found a string');
    expect(configError('max_instance_memory = -1').key).toBe('max_instance_memory');
    expect(configError('state_dir = 1').key).toBe('state_dir');
  });
});

describe('unknown keys', () => {
  it('rejects unknown top-level keys with Spin’s message', () => {
    const err = configError('baz = "/baz"\n[qux]\n');
    expect(err.code).toBe('runtime-config-unknown-key');
    expect(err.reason).toBe('unused runtime config key(s): baz, qux');
    expect(err.file).toBe(FILE);
    expect(err.hint).toContain('key_value_store');
  });

  it('reports TOML syntax errors', () => {
    expect(configError('[key_value_store').code).toBe('runtime-config-invalid');
  });
});

describe('[key_value_store.<label>]', () => {
  it('resolves spin store paths against the runtime-config file’s directory', () => {
    const c = parse(`
[key_value_store.relative]
type = "spin"
path = "data/kv.db"
[key_value_store.absolute]
type = "spin"
path = "/tmp/kv.db"
[key_value_store.memory]
type = "spin"
[key_value_store.cache]
type = "redis"
url = "redis://localhost:6379"
`);
    expect(c.keyValueStores).toEqual({
      relative: { type: 'spin', path: '/etc/app/data/kv.db' },
      absolute: { type: 'spin', path: '/tmp/kv.db' },
      memory: { type: 'spin', path: null },
      cache: { type: 'redis', url: 'redis://localhost:6379' },
      default: { type: 'spin', path: '/srv/app/.spin/sqlite_key_value.db' },
    });
    expect(c.summaries).toEqual([
      '[key_value_store.relative: spin]',
      '[key_value_store.absolute: spin]',
      '[key_value_store.memory: spin]',
      '[key_value_store.cache: redis]',
    ]);
  });

  it('lets the file redefine the default store', () => {
    expect(parse('[key_value_store.default]\ntype = "redis"\nurl = "redis://r"\n').keyValueStores['default']).toEqual({
      type: 'redis',
      url: 'redis://r',
    });
  });

  it('refuses Azure Cosmos DB and DynamoDB stores with a hint', () => {
    for (const type of ['azure_cosmos', 'aws_dynamo']) {
      const err = configError(`[key_value_store.remote]\ntype = "${type}"\n`);
      expect(err.code).toBe('unsupported');
      expect(err.key).toBe('key_value_store.remote.type');
      expect(err.reason).toBe(`key-value store type '${type}' is not supported by this host`);
      expect(err.hint).toContain('"redis"');
    }
  });

  it('rejects unknown store types and missing fields', () => {
    expect(configError('[key_value_store.x]\ntype = "etcd"\n').reason).toBe(
      "the store type 'etcd' was not registered with the config resolver",
    );
    expect(configError('[key_value_store.x]\npath = "a"\n').reason).toBe('missing required key `type`');
    expect(configError('[key_value_store.x]\ntype = "redis"\n').key).toBe('key_value_store.x.url');
  });

  it('warns about keys Spin ignores in store tables', () => {
    expect(parse('[key_value_store.x]\ntype = "spin"\nfile = "a.db"\n').warnings).toEqual([
      `${FILE}: key_value_store.x: unknown keys ignored: file`,
    ]);
  });
});

describe('[sqlite_database.<label>]', () => {
  it('resolves spin paths against the current directory', () => {
    const c = parse(`
[sqlite_database.local]
type = "spin"
path = "db/local.db"
[sqlite_database.memory]
type = "spin"
[sqlite_database.remote]
type = "libsql"
url = "https://example.turso.io"
token = "t0k"
`);
    expect(c.sqliteDatabases).toEqual({
      local: { type: 'spin', path: '/work/cwd/db/local.db' },
      memory: { type: 'spin', path: null },
      remote: { type: 'libsql', url: 'https://example.turso.io', token: 't0k' },
      default: { type: 'spin', path: '/srv/app/.spin/sqlite_db.db' },
    });
  });

  it('rejects unknown kinds, unknown keys and non-HTTP libSQL URLs', () => {
    expect(configError('[sqlite_database.x]\ntype = "postgres"\n').reason).toBe('Unknown database kind: postgres');
    expect(configError('[sqlite_database.x]\ntype = "spin"\nfile = "a"\n').code).toBe('runtime-config-unknown-key');
    expect(configError('[sqlite_database.x]\ntype = "libsql"\nurl = "libsql://db"\ntoken = "t"\n').reason).toContain(
      "URL does not start with 'https://' or 'http://'",
    );
    expect(configError('[sqlite_database.x]\ntype = "libsql"\nurl = "https://db"\n').key).toBe('sqlite_database.x.token');
  });
});

describe('[llm_compute]', () => {
  it('parses spin and remote_http', () => {
    expect(parse('[llm_compute]\ntype = "spin"\n').llmCompute).toEqual({ type: 'spin' });
    expect(parse('[llm_compute]\ntype = "remote_http"\nurl = "http://localhost:8080"\nauth_token = "abc"\n').llmCompute).toEqual({
      type: 'remote_http',
      url: 'http://localhost:8080',
      authToken: 'abc',
      apiType: 'default',
    });
    expect(
      parse('[llm_compute]\ntype = "remote_http"\nurl = "http://x"\nauth_token = "a"\napi_type = "open_ai"\n').llmCompute,
    ).toMatchObject({ apiType: 'open_ai' });
    expect(parse('[llm_compute]\ntype = "spin"\n').summaries).toEqual(['[llm_compute: spin]']);
  });

  it('validates fields', () => {
    expect(configError('[llm_compute]\ntype = "gpu"\n').key).toBe('llm_compute.type');
    expect(configError('[llm_compute]\ntype = "remote_http"\nurl = "x"\nauth_token = "a"\n').reason).toBe('invalid URL "x"');
    expect(configError('[llm_compute]\ntype = "remote_http"\nurl = "http://x"\n').key).toBe('llm_compute.auth_token');
    expect(configError('[llm_compute]\ntype = "remote_http"\nurl = "http://x"\nauth_token = "a"\napi_type = "anthropic"\n').key).toBe(
      'llm_compute.api_type',
    );
  });
});

describe('[[variables_provider]]', () => {
  it('parses env, static, vault and azure_key_vault providers in order', () => {
    const c = parse(`
[[variables_provider]]
type = "env"
prefix = "MYAPP"
dotenv_path = "config/.env"
[[variables_provider]]
type = "env"
[[variables_provider]]
type = "static"
values = { api_key = "k", region = "eu" }
[[variables_provider]]
type = "vault"
url = "http://vault:8200"
token = "root"
mount = "secret"
[[variables_provider]]
type = "azure_key_vault"
vault_url = "https://x.vault.azure.net/"
`);
    expect(c.variablesProviders).toEqual([
      { type: 'env', prefix: 'MYAPP', dotenvPath: '/work/cwd/config/.env' },
      { type: 'env' },
      { type: 'static', values: { api_key: 'k', region: 'eu' } },
      { type: 'vault', config: { type: 'vault', url: 'http://vault:8200', token: 'root', mount: 'secret' } },
      { type: 'azure_key_vault', config: { type: 'azure_key_vault', vault_url: 'https://x.vault.azure.net/' } },
    ]);
  });

  it('accepts the [[config_provider]] alias, but not both', () => {
    expect(parse('[[config_provider]]\ntype = "env"\nprefix = "P"\n').variablesProviders).toEqual([{ type: 'env', prefix: 'P' }]);
    const err = configError('[[config_provider]]\ntype = "env"\n[[variables_provider]]\ntype = "env"\n');
    expect(err.reason).toBe('unused runtime config key(s): config_provider');
  });

  it('validates provider tables', () => {
    expect(configError('[[variables_provider]]\ntype = "env"\npath = ".env"\n').key).toBe('variables_provider[0].path');
    expect(configError('[[variables_provider]]\ntype = "keychain"\n').reason).toBe(
      'unknown variant `keychain`, expected one of `azure_key_vault`, `static`, `vault`, `env`',
    );
    expect(configError('[[variables_provider]]\ntype = "static"\n').key).toBe('variables_provider[0].values');
    expect(configError('[[variables_provider]]\ntype = "static"\nvalues = { a = 1 }\n').key).toBe('variables_provider[0].values.a');
    expect(configError('[[variables_provider]]\ntype = "vault"\nurl = "u"\n').key).toBe('variables_provider[0].token');
  });
});

describe('outbound settings', () => {
  it('keeps [outbound_http], [outbound_networking] and [[client_tls]] as data', () => {
    const c = parse(`
[outbound_http]
max_concurrent_requests = 16
[outbound_networking]
block_networks = ["private", "1.1.1.1/32"]
[[client_tls]]
component_ids = ["api"]
hosts = ["internal.example.com:8443"]
ca_roots_file = "certs/ca.pem"
client_cert_file = "certs/client.pem"
client_private_key_file = "/abs/client.key"
`);
    expect(c.outboundHttp).toEqual({ connectionPooling: false, maxConcurrentRequests: 16 });
    expect(c.outboundNetworking).toEqual({ blockNetworks: ['private', '1.1.1.1/32'] });
    expect(c.clientTls).toEqual([
      {
        componentIds: ['api'],
        hosts: ['internal.example.com:8443'],
        caUseWebpkiRoots: false,
        caRootsFile: '/etc/app/certs/ca.pem',
        clientCertFile: '/etc/app/certs/client.pem',
        clientPrivateKeyFile: '/abs/client.key',
      },
    ]);
    expect(parse('[outbound_http]\nconnection_pooling = true\n').outboundHttp).toEqual({ connectionPooling: true });
    expect(parse('').outboundHttp).toBeUndefined();
  });

  it('validates them', () => {
    expect(configError('[outbound_http]\npool = true\n').code).toBe('runtime-config-unknown-key');
    expect(configError('[outbound_networking]\nblock_networks = ["intranet"]\n').key).toBe('outbound_networking.block_networks[0]');
    expect(configError('[[client_tls]]\ncomponent_ids = []\nhosts = ["a"]\n').reason).toBe("'component_ids' list may not be empty");
    expect(configError('[[client_tls]]\ncomponent_ids = ["a"]\nhosts = ["h"]\nclient_cert_file = "c.pem"\n').reason).toBe(
      'client_cert_file specified without client_private_key_file',
    );
  });
});

describe('checkStoreLabels', () => {
  const manifest = parseManifest(
    `spin_manifest_version = 2
[application]
name = "labels"
[[trigger.http]]
route = "/..."
component = "api"
[component.api]
source = "api.wasm"
key_value_stores = ["default", "agents"]
sqlite_databases = ["default", "analytics"]
`,
    '/srv/app/spin.toml',
  );

  it('accepts default and labels defined in runtime config', () => {
    const c = parse('[key_value_store.agents]\ntype = "spin"\n[sqlite_database.analytics]\ntype = "spin"\n');
    expect(() => checkStoreLabels(manifest, c)).not.toThrow();
  });

  it('rejects an undefined key-value label with Spin’s message', () => {
    const c = parse('[sqlite_database.analytics]\ntype = "spin"\n');
    expect(() => checkStoreLabels(manifest, c)).toThrow(
      expect.objectContaining({
        code: 'store-label-unknown',
        reason: 'unknown key_value_stores label "agents" for component "api"',
        key: 'component.api.key_value_stores[1]',
        file: '/srv/app/spin.toml',
      }),
    );
  });

  it('rejects undefined SQLite labels with Spin’s message', () => {
    const c = parse('[key_value_store.agents]\ntype = "spin"\n');
    expect(() => checkStoreLabels(manifest, c)).toThrow(
      expect.objectContaining({
        reason: [
          'One or more components use SQLite databases which are not defined.',
          'Check the spelling, or pass a runtime configuration file that defines these stores.',
          'See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-configuration',
          'Details:',
          "- Component api uses database 'analytics'",
        ].join('\n'),
      }),
    );
  });
});

describe('runtimeConfigSummary', () => {
  it('formats Spin’s first startup line', () => {
    const c = parse('[key_value_store.cache]\ntype = "redis"\nurl = "redis://r"\n[llm_compute]\ntype = "spin"\n');
    expect(runtimeConfigSummary(c)).toBe(`Using runtime config [key_value_store.cache: redis], [llm_compute: spin] from "${FILE}"`);
    expect(runtimeConfigSummary(parse('state_dir = "x"'))).toBeUndefined();
  });
});

describe('loadRuntimeConfig', () => {
  it('reads a file and resolves key-value paths next to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-'));
    writeFileSync(join(dir, 'runtime-config.toml'), '[key_value_store.agents]\ntype = "spin"\npath = "agents.db"\n');
    const c = await loadRuntimeConfig(join(dir, 'runtime-config.toml'), { manifestDir: dir });
    expect(c.file).toBe(join(dir, 'runtime-config.toml'));
    expect(c.keyValueStores['agents']).toEqual({ type: 'spin', path: join(dir, 'agents.db') });
  });

  it('returns defaults without a file and fails on a missing one', async () => {
    expect((await loadRuntimeConfig(undefined, { manifestDir: '/m' })).stateDir).toBe('/m/.spin');
    await expect(loadRuntimeConfig('/nonexistent/rc.toml')).rejects.toMatchObject({ code: 'runtime-config-missing' });
  });
});
