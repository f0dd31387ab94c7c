import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import type { HostError } from '../../host/errors.ts';
import { identifierError, keyPath, loadManifest, parseManifest } from '../../host/manifest.ts';

const FILE = '/apps/demo/spin.toml';
const HEAD = `spin_manifest_version = 2
[application]
name = "demo"
`;

/** A manifest with one HTTP trigger routed to component `api`, plus `extra` TOML appended. */
function app(extra = '', component = 'source = "api.wasm"'): string {
  return `${HEAD}
[[trigger.http]]
route = "/api/..."
component = "api"

[component.api]
${component}
${extra}`;
}

function manifestError(text: string): HostError {
  try {
    parseManifest(text, FILE);
  } catch (err) {
    return err as HostError;
  }
  throw new Error('expected the manifest to be rejected');
}

describe('parseManifest: normalized result', () => {
  it('returns the normalized manifest', () => {
    const m = parseManifest(
      `spin_manifest_version = 2
[application]
name = "demo"
version = "1.2.3"
description = "A demo"
authors = ["Ada <ada@example.com>"]
targets = ["spin-up:3.3"]

[variables]
api_key = { required = true, secret = true }
greeting = { default = "hello", description = "What to say" }

[[trigger.http]]
route = "/api/..."
component = "api"

[component.api]
source = "dist/api.wasm"
description = "The API"
allowed_outbound_hosts = ["https://{{ greeting }}.example.com"]
key_value_stores = ["default", "my_store", "other-store"]
sqlite_databases = ["default"]
ai_models = ["llama2-chat"]
environment = { LOG = "debug" }
files = ["assets/*", { source = "static", destination = "/static" }]
exclude_files = ["assets/secret"]
[component.api.variables]
key = "{{ api_key }}"
message = "{{greeting}}, world"
[component.api.build]
command = ["npm install", "npm run build"]
workdir = "components/api"
watch = ["src/**/*.ts"]
[component.api.tool.edge-agents]
entry = "components/api/src/index.ts"
`,
      FILE,
    );
    expect(m.file).toBe(FILE);
    expect(m.dir).toBe('/apps/demo');
    expect(m.application).toEqual({
      name: 'demo',
      version: '1.2.3',
      description: 'A demo',
      authors: ['Ada <ada@example.com>'],
      targets: ['spin-up:3.3'],
      triggerSettings: {},
    });
    expect(m.variables).toEqual({
      api_key: { required: true, secret: true },
      greeting: { required: false, secret: false, default: 'hello', description: 'What to say' },
    });
    expect(m.triggers).toEqual([{ id: 'api-http-trigger', route: '/api/...', component: 'api', executor: { type: 'http' }, index: 0 }]);
    expect(m.otherTriggers).toEqual([]);
    expect(m.components['api']).toEqual({
      id: 'api',
      source: { kind: 'local', path: 'dist/api.wasm', absolutePath: '/apps/demo/dist/api.wasm' },
      description: 'The API',
      variables: { key: '{{ api_key }}', message: '{{greeting}}, world' },
      environment: { LOG: 'debug' },
      files: ['assets/*', { source: 'static', destination: '/static' }],
      excludeFiles: ['assets/secret'],
      allowedOutboundHosts: ['https://{{ greeting }}.example.com'],
      keyValueStores: ['default', 'my_store', 'other-store'],
      sqliteDatabases: ['default'],
      aiModels: ['llama2-chat'],
      build: { commands: ['npm install', 'npm run build'], workdir: 'components/api', watch: ['src/**/*.ts'] },
      tool: { 'edge-agents': { entry: 'components/api/src/index.ts' } },
      dependenciesInheritConfiguration: false,
      dependencies: {},
    });
    expect(m.warnings).toEqual([]);
  });

  it('parses every manifest in the repository, with unique trigger ids that name existing components', async () => {
    for (const file of Object.values(APPS)) {
      const m = await loadManifest(file);
      const ids = m.triggers.map((t) => t.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const t of m.triggers) if (t.component) expect(m.components[t.component], `${file}: ${t.id}`).toBeDefined();
    }
    expect((await loadManifest(APPS.main)).application.name).toBe('edge-agents');
  });
});

describe('parseManifest: manifest version', () => {
  it('rejects version 1 with a hint', () => {
    for (const v of ['"1"', '1']) {
      const err = manifestError(`spin_manifest_version = ${v}\nname = "x"\n`);
      expect(err.code).toBe('manifest-version');
      expect(err.reason).toBe('manifest version 1 is not supported');
      expect(err.hint).toContain('spin_manifest_version = 2');
    }
    expect(manifestError('spin_version = "1"\n').code).toBe('manifest-version');
  });

  it('rejects missing or other versions', () => {
    expect(manifestError('[application]\nname = "x"\n').reason).toBe('missing required key `spin_manifest_version`');
    expect(manifestError('spin_manifest_version = 3\n').reason).toBe('invalid manifest version: 3');
    expect(manifestError('spin_manifest_version = "2"\n').reason).toBe('invalid manifest version: "2"');
  });

  it('reports TOML syntax errors with the file', () => {
    const err = manifestError('spin_manifest_version = 2\n[application\n');
    expect(err.code).toBe('manifest-invalid');
    expect(err.file).toBe(FILE);
    expect(err.reason).toMatch(/^invalid TOML: /);
  });
});

describe('parseManifest: deny unknown fields', () => {
  it.each([
    ['top level', `bogus = 1\n${app()}`, 'bogus', 'bogus'],
    ['application', app().replace('name = "demo"', 'name = "demo"\nhomepage = "x"'), 'application.homepage', 'homepage'],
    ['component', app('', 'source = "a.wasm"\nallowed_hosts = []'), 'component.api.allowed_hosts', 'allowed_hosts'],
    ['trigger', app().replace('component = "api"', 'component = "api"\nmethod = "GET"'), 'trigger.http[0].method', 'method'],
    ['variable', `${app()}\n[variables]\nx = { default = "1", kind = "str" }\n`, 'variables.x.kind', 'kind'],
    ['build', app('[component.api.build]\ncommand = "make"\nenv = {}\n'), 'component.api.build.env', 'env'],
    ['source', app('', 'source = { url = "https://x/a.wasm", digest = "sha256:00", size = 1 }'), 'component.api.source.size', 'size'],
    [
      'files',
      app('', 'source = "a.wasm"\nfiles = [{ source = "a", destination = "/a", mode = "ro" }]'),
      'component.api.files[0].mode',
      'mode',
    ],
    ['route', app().replace('route = "/api/..."', 'route = { private = true, hidden = true }'), 'trigger.http[0].route.hidden', 'hidden'],
    [
      'executor',
      app().replace('component = "api"', 'component = "api"\nexecutor = { type = "http", argv = "x" }'),
      'trigger.http[0].executor.argv',
      'argv',
    ],
    [
      'http settings',
      app().replace('name = "demo"', 'name = "demo"\n[application.trigger.http]\nport = 80'),
      'application.trigger.http.port',
      'port',
    ],
  ])('rejects an unknown key in %s', (_where, text, key, name) => {
    const err = manifestError(text);
    expect(err.code).toBe('manifest-unknown-key');
    expect(err.key).toBe(key);
    expect(err.reason).toBe(`unknown key \`${name}\``);
    expect(err.hint).toMatch(/^allowed keys here: `/);
    expect(err.message).toContain(`${FILE}: ${key}: unknown key`);
  });

  it('lists the allowed keys', () => {
    const err = manifestError(`bogus = 1\n${app()}`);
    expect(err.hint).toBe('allowed keys here: `spin_manifest_version`, `application`, `variables`, `trigger`, `component`');
  });

  it('reports wrong types with the key path', () => {
    const err = manifestError(app('', 'source = "a.wasm"\nallowed_outbound_hosts = ["https://a", 3]'));
    expect(err.code).toBe('manifest-invalid');
    expect(err.key).toBe('component.api.allowed_outbound_hosts[1]');
    expect(err.reason).toBe('expected a string, found an integer');
    expect(manifestError(app('', 'source = "a.wasm"\nenvironment = { "A.B" = 1 }')).key).toBe('component.api.environment."A.B"');
    expect(manifestError(app('', 'source = 7')).reason).toBe('expected a table, found an integer');
  });

  it('requires [application] name, [trigger] and component source', () => {
    expect(manifestError('spin_manifest_version = 2\n[[trigger.http]]\nroute="/"\ncomponent="a"\n').key).toBe('application');
    expect(manifestError('spin_manifest_version = 2\n[application]\nversion = "1"\n').key).toBe('application.name');
    expect(manifestError(`${HEAD}\n[component.a]\nsource = "a.wasm"\n`).key).toBe('trigger');
    const err = manifestError(app('', 'description = "no source"'));
    expect(err.key).toBe('component.api.source');
    expect(err.reason).toBe('missing required key `source`');
  });

  it('ignores tool tables but checks they are tables', () => {
    expect(
      parseManifest(app().replace('name = "demo"', 'name = "demo"\n[application.tool.foo]\nanything = [1, 2]'), FILE).warnings,
    ).toEqual([]);
    expect(manifestError(app('', 'source = "a.wasm"\ntool = { x = 1 }')).key).toBe('component.api.tool.x');
  });
});

describe('parseManifest: application trigger settings', () => {
  it('warns for base = "/"', () => {
    const m = parseManifest(app().replace('name = "demo"', 'name = "demo"\n[application.trigger.http]\nbase = "/"'), FILE);
    expect(m.warnings).toEqual([
      "This application has the deprecated trigger 'base' set to the default value '/'. This may be an error in the future!",
    ]);
  });

  it('rejects any other base', () => {
    const err = manifestError(app().replace('name = "demo"', 'name = "demo"\n[application.trigger.http]\nbase = "/shop"'));
    expect(err.reason).toBe(
      "This application is using the deprecated trigger 'base' field. The base must be prepended to each [[trigger.http]]'s 'route'.",
    );
    expect(err.key).toBe('application.trigger.http.base');
    expect(err.hint).toContain('"/shop/..."');
  });

  it('keeps other trigger types’ settings as data', () => {
    const m = parseManifest(
      app().replace('name = "demo"', 'name = "demo"\n[application.trigger.redis]\naddress = "redis://localhost"'),
      FILE,
    );
    expect(m.application.triggerSettings).toEqual({ redis: { address: 'redis://localhost' } });
  });
});

describe('parseManifest: variables', () => {
  it('requires exactly one of required = true and default', () => {
    for (const decl of ['{}', '{ required = false }', '{ required = true, default = "x" }', '{ description = "d" }']) {
      const err = manifestError(`${app()}\n[variables]\nx = ${decl}\n`);
      expect(err.code).toBe('variable-invalid');
      expect(err.reason).toBe('invalid variable definition for `x`: must be `required` OR have a `default`');
      expect(err.key).toBe('variables.x');
    }
  });

  it('accepts required or default, and an empty default', () => {
    const m = parseManifest(`${app()}\n[variables]\na = { required = true }\nb = { default = "" }\n`, FILE);
    expect(m.variables['a']).toEqual({ required: true, secret: false });
    expect(m.variables['b']).toEqual({ required: false, secret: false, default: '' });
  });

  it('requires lower_snake names', () => {
    const cases: [string, string][] = [
      ['API_KEY', 'invalid variable name `API_KEY`: Lower-case identifiers must be all lowercase; got "API_KEY"'],
      ['api-key', "invalid variable name `api-key`: words must be separated with '_', not '-'"],
      ['a__b', "invalid variable name `a__b`: '_'-separated words must not be empty"],
      ['_a', "invalid variable name `_a`: '_'-separated words must not be empty"],
      ['a_1', "invalid variable name `a_1`: '_'-separated words must start with an ASCII letter; got '1'"],
    ];
    for (const [name, reason] of cases) {
      const err = manifestError(`${app()}\n[variables]\n"${name}" = { default = "x" }\n`);
      expect(err.reason).toBe(reason);
      expect(err.code).toBe('variable-invalid');
    }
  });
});

describe('parseManifest: http triggers', () => {
  it('generates trigger ids as Spin does', () => {
    const m = parseManifest(
      `${HEAD}
[[trigger.http]]
route = "/a"
component = "api"
[[trigger.http]]
route = "/b"
component = "api"
[[trigger.http]]
id = "http-trigger1"
route = "/c"
component = "api"
[[trigger.http]]
route = "/d"
static_response = { body = "d" }
[component.api]
source = "api.wasm"
`,
      FILE,
    );
    expect(m.triggers.map((t) => t.id)).toEqual(['api-http-trigger', 'http-trigger2', 'http-trigger1', 'http-trigger3']);
    expect(m.triggers.map((t) => t.index)).toEqual([0, 1, 2, 3]);
  });

  it('hoists inline components as <trigger-id>-component, else inline-component<N>', () => {
    const m = parseManifest(
      `${HEAD}
[[trigger.http]]
id = "web"
route = "/web/..."
component = { source = "web.wasm", description = "inline" }
[[trigger.http]]
route = "/x"
component = { source = "x.wasm" }
[[trigger.http]]
id = "taken"
route = "/y"
component = { source = "y.wasm" }
[[trigger.http]]
id = "Not_Kebab"
route = "/z"
component = { source = "z.wasm" }
[component.taken-component]
source = "t.wasm"
`,
      FILE,
    );
    expect(m.triggers.map((t) => [t.id, t.component])).toEqual([
      ['web', 'web-component'],
      ['http-trigger1', 'http-trigger1-component'],
      ['taken', 'inline-component1'],
      ['Not_Kebab', 'inline-component2'],
    ]);
    expect(m.components['web-component']?.description).toBe('inline');
    expect(m.components['inline-component2']?.source).toEqual({ kind: 'local', path: 'z.wasm', absolutePath: '/apps/demo/z.wasm' });
  });

  it('validates inline components with their trigger path', () => {
    const err = manifestError(`${HEAD}\n[[trigger.http]]\nroute = "/"\ncomponent = { source = "a.wasm", nope = 1 }\n`);
    expect(err.key).toBe('trigger.http[0].component.nope');
  });

  it('requires exactly one of component and static_response', () => {
    expect(manifestError(`${HEAD}\n[[trigger.http]]\nroute = "/"\n`).reason).toBe(
      'Triggers must specify either component or static_response - http-trigger1 has neither',
    );
    const both = manifestError(
      `${HEAD}\n[[trigger.http]]\nroute = "/"\ncomponent = "a"\nstatic_response = {}\n[component.a]\nsource = "a.wasm"\n`,
    );
    expect(both.reason).toBe('Triggers must specify either component or static_response - a-http-trigger has both');
  });

  it('requires referenced components to exist', () => {
    const err = manifestError(`${HEAD}\n[[trigger.http]]\nroute = "/"\ncomponent = "ghost"\n`);
    expect(err.code).toBe('component-missing');
    expect(err.key).toBe('trigger.http[0].component');
    expect(err.reason).toBe("trigger 'ghost-http-trigger' uses component 'ghost', which is not defined");
    expect(err.hint).toBe("add a [component.ghost] table or fix the trigger's component id");
  });

  it('parses static responses with defaults', () => {
    const m = parseManifest(
      `${HEAD}
[[trigger.http]]
route = "/ok"
static_response = {}
[[trigger.http]]
route = "/tea"
static_response = { status_code = 418, headers = { content-type = "text/plain", x-a = "b" }, body = "short and stout" }
`,
      FILE,
    );
    expect(m.triggers[0]?.staticResponse).toEqual({ statusCode: 200, headers: [] });
    expect(m.triggers[1]?.staticResponse).toEqual({
      statusCode: 418,
      headers: [
        ['content-type', 'text/plain'],
        ['x-a', 'b'],
      ],
      body: 'short and stout',
    });
    expect(manifestError(`${HEAD}\n[[trigger.http]]\nroute = "/"\nstatic_response = { status_code = 42 }\n`).key).toBe(
      'trigger.http[0].static_response.status_code',
    );
  });

  it('only warns for unknown static_response keys (Spin ignores them)', () => {
    const m = parseManifest(`${HEAD}\n[[trigger.http]]\nroute = "/"\nstatic_response = { status = 204 }\n`, FILE);
    expect(m.warnings).toEqual([`${FILE}: trigger.http[0].static_response: unknown keys ignored: status`]);
  });

  it('handles routes: required, private = true, private = false', () => {
    expect(manifestError(`${HEAD}\n[[trigger.http]]\ncomponent = "a"\n[component.a]\nsource = "a.wasm"\n`).key).toBe(
      'trigger.http[0].route',
    );
    const m = parseManifest(app().replace('route = "/api/..."', 'route = { private = true }'), FILE);
    expect(m.triggers[0]?.route).toEqual({ private: true });
    const err = manifestError(app().replace('route = "/api/..."', 'route = { private = false }'));
    expect(err.code).toBe('route-invalid');
    expect(err.reason).toBe("route must be a string pattern or '{ private = true }': 'api' has { private = false }");
  });

  it('parses executors', () => {
    const exec = (e: string) => parseManifest(app().replace('component = "api"', `component = "api"\nexecutor = ${e}`), FILE);
    expect(exec('{ type = "http" }').triggers[0]?.executor).toEqual({ type: 'http' });
    expect(exec('{ type = "spin" }').triggers[0]?.executor).toEqual({ type: 'http' });
    const wagi = exec('{ type = "wagi" }');
    expect(wagi.triggers[0]?.executor).toEqual({ type: 'wagi', argv: '${SCRIPT_NAME} ${ARGS}', entrypoint: '_start' });
    expect(wagi.warnings).toEqual([
      "trigger 'api-http-trigger' uses executor 'wagi', which this host does not support (only wasi:http components run)",
    ]);
    expect(exec('{ type = "wagi", argv = "x ${ARGS}" }').triggers[0]?.executor).toMatchObject({ argv: 'x ${ARGS}' });
    expect(exec('{ type = "wasip3-unstable" }').triggers[0]?.executor).toEqual({ type: 'wasip3-unstable' });
    expect(manifestError(app().replace('component = "api"', 'component = "api"\nexecutor = { type = "cgi" }')).key).toBe(
      'trigger.http[0].executor.type',
    );
    expect(
      manifestError(app().replace('component = "api"', 'component = "api"\nexecutor = { type = "wagi", entrypoint = "main" }')).code,
    ).toBe('manifest-invalid');
  });

  it('warns about duplicate and reserved routes', () => {
    const m = parseManifest(
      `${HEAD}
[[trigger.http]]
route = "/foo"
component = "a"
[[trigger.http]]
route = "/foo"
component = "b"
[[trigger.http]]
route = "/.well-known/spin/..."
component = "a"
[component.a]
source = "a.wasm"
[component.b]
source = "b.wasm"
`,
      FILE,
    );
    expect(m.warnings).toEqual([
      'The following component routes are duplicates and will never be used:\n  a: /foo (duplicate of b)',
      'Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached',
    ]);
    expect(m.triggers).toHaveLength(3);
  });

  it('rejects invalid route patterns at load', () => {
    const err = manifestError(app().replace('route = "/api/..."', 'route = "/files/*name"'));
    expect(err.code).toBe('route-invalid');
    expect(err.file).toBe(FILE);
    expect(err.reason).toBe(
      "Error parsing route /files/*name associated with component api: since there can only be one wildcard, it doesn't need a name. replace `*name` with `*`",
    );
  });
});

describe('parseManifest: other trigger types', () => {
  it('accepts them as data with a warning', () => {
    const m = parseManifest(
      `${app()}
[[trigger.redis]]
channel = "messages"
component = "api"
[[trigger.redis]]
channel = "other"
component = { source = "sub.wasm" }
[[trigger.cron]]
cron_expression = "* * * * *"
component = "api"
`,
      FILE,
    );
    expect(m.otherTriggers).toEqual([
      { type: 'redis', id: 'api-redis-trigger', component: 'api', config: { channel: 'messages', component: 'api' } },
      expect.objectContaining({ type: 'redis', id: 'redis-trigger1', component: 'redis-trigger1-component' }),
      expect.objectContaining({ type: 'cron', id: 'api-cron-trigger', component: 'api' }),
    ]);
    expect(m.components['redis-trigger1-component']).toBeDefined();
    expect(m.warnings).toEqual([
      '[[trigger.redis]] triggers are not supported by this host and will not run (only [[trigger.http]] is served)',
      '[[trigger.cron]] triggers are not supported by this host and will not run (only [[trigger.http]] is served)',
    ]);
  });
});

describe('parseManifest: components', () => {
  it('requires kebab-case ids', () => {
    const err = manifestError(
      `${HEAD}\n[[trigger.http]]\nroute = "/"\ncomponent = "a"\n[component.my_api]\nsource = "a.wasm"\n[component.a]\nsource = "a.wasm"\n`,
    );
    expect(err.key).toBe('component.my_api');
    expect(err.reason).toBe("invalid component id `my_api`: words must be separated with '-', not '_'");
    expect(manifestError(`${HEAD}\n[[trigger.http]]\nroute = "/"\ncomponent = "1api"\n`).reason).toBe(
      "invalid component id `1api`: '-'-separated words must start with an ASCII letter; got '1'",
    );
  });

  it('parses the three source forms', () => {
    const src = (s: string) => parseManifest(app('', `source = ${s}`), FILE).components['api']?.source;
    expect(src('"../shared/api.wasm"')).toEqual({ kind: 'local', path: '../shared/api.wasm', absolutePath: '/apps/shared/api.wasm' });
    expect(src('{ url = "https://example.com/a.wasm", digest = "sha256:abc" }')).toEqual({
      kind: 'url',
      url: 'https://example.com/a.wasm',
      digest: 'sha256:abc',
    });
    expect(src('{ registry = "ttl.sh", package = "user:app", version = "1.0.0" }')).toEqual({
      kind: 'registry',
      registry: 'ttl.sh',
      package: 'user:app',
      version: '1.0.0',
    });
    expect(src('{ package = "user:app", version = "1.0.0" }')).toEqual({ kind: 'registry', package: 'user:app', version: '1.0.0' });
    expect(manifestError(app('', 'source = { url = "https://x", digest = "md5:00" }')).reason).toBe(
      `invalid digest "md5:00": must begin with 'sha256:'`,
    );
    expect(manifestError(app('', 'source = { url = "https://x" }')).reason).toBe('missing required key `digest`');
    expect(manifestError(app('', 'source = { path = "x" }')).reason).toBe('unrecognized component source');
  });

  it('requires absolute file mount destinations', () => {
    const err = manifestError(app('', 'source = "a.wasm"\nfiles = [{ source = "static", destination = "static" }]'));
    expect(err.key).toBe('component.api.files[0].destination');
  });

  it('accepts a single build command', () => {
    const m = parseManifest(app('[component.api.build]\ncommand = "cargo build"\n'), FILE);
    expect(m.components['api']?.build).toEqual({ commands: ['cargo build'], watch: [] });
    expect(manifestError(app('[component.api.build]\nworkdir = "x"\n')).key).toBe('component.api.build.command');
  });

  it('requires kebab-case or snake_case store labels', () => {
    const err = manifestError(app('', 'source = "a.wasm"\nkey_value_stores = ["default", "My Store"]'));
    expect(err.key).toBe('component.api.key_value_stores[1]');
    expect(err.reason).toBe('invalid label "My Store": expected kebab-case or snake_case');
    expect(parseManifest(app('', 'source = "a.wasm"\nsqlite_databases = ["UPPER_case"]'), FILE).components['api']?.sqliteDatabases).toEqual(
      ['UPPER_case'],
    );
  });

  it('converts deprecated allowed_http_hosts with a warning', () => {
    const m = parseManifest(
      app(
        '',
        'source = "a.wasm"\nallowed_outbound_hosts = ["redis://r"]\nallowed_http_hosts = ["example.com", "https://api.test:8443", "self"]',
      ),
      FILE,
    );
    expect(m.components['api']?.allowedOutboundHosts).toEqual([
      'redis://r',
      'http://example.com',
      'https://example.com',
      'http://api.test:8443',
      'https://api.test:8443',
      'http://self',
    ]);
    expect(m.warnings).toEqual([
      'Use of the deprecated field `allowed_http_hosts` - to fix, replace `allowed_http_hosts` with `allowed_outbound_hosts = ["http://example.com", "https://example.com", "http://api.test:8443", "https://api.test:8443", "http://self"]`',
    ]);
    expect(
      parseManifest(app('', 'source = "a.wasm"\nallowed_http_hosts = ["insecure:allow-all"]'), FILE).components['api']
        ?.allowedOutboundHosts,
    ).toEqual(['http://*:*', 'https://*:*', 'http://self']);
  });

  it('checks dependencies shallowly', () => {
    const ok = parseManifest(
      app(`[component.api.dependencies]
"foo:bar/baz@0.1.0" = ">= 0.1.0"
"foo:qux" = { path = "qux.wasm" }
"foo:http/iface" = { url = "https://x/y.wasm", digest = "sha256:00", export = "e" }
"foo:app" = { component = "helper" }
plain-name = { version = "1.0.0", package = "foo:plain" }
[component.helper]
source = "helper.wasm"
`),
      FILE,
    );
    expect(Object.keys(ok.components['api']!.dependencies)).toEqual([
      'foo:bar/baz@0.1.0',
      'foo:qux',
      'foo:http/iface',
      'foo:app',
      'plain-name',
    ]);
    expect(manifestError(app('[component.api.dependencies]\n"foo:app" = { component = "ghost" }\n')).reason).toBe(
      'dependency ID ghost does not exist',
    );
    expect(manifestError(app('[component.api.dependencies]\n"foo:app" = { path = "a", version = "1" }\n')).reason).toBe(
      'unrecognized dependency',
    );
    expect(manifestError(app('[component.api.dependencies]\nplain-name = "0.1.0"\n')).reason).toBe(
      'dependency "plain-name" must specify a package name',
    );
    expect(manifestError(app('[component.api.dependencies]\n"Not Valid" = "0.1.0"\n')).reason).toBe('invalid dependency name "Not Valid"');
  });
});

describe('parseManifest: templates', () => {
  it('requires component variable templates to reference declared variables', () => {
    const err = manifestError(app('[component.api.variables]\nurl = "https://{{ host }}/x"\n'));
    expect(err.code).toBe('template-invalid');
    expect(err.key).toBe('component.api.variables.url');
    expect(err.reason).toBe('invalid variable template: unknown variable "host"');
    expect(err.hint).toContain('declare it under [variables]');
  });

  it('rejects unmatched braces with the key path', () => {
    const err = manifestError(`${app('[component.api.variables]\nurl = "{{ host"\n')}\n[variables]\nhost = { default = "h" }\n`);
    expect(err.code).toBe('template-invalid');
    expect(err.key).toBe('component.api.variables.url');
    expect(err.file).toBe(FILE);
  });

  it('validates literal allowed_outbound_hosts entries at load', () => {
    const err = manifestError(app('', 'source = "a.wasm"\nallowed_outbound_hosts = ["https://ok.example.com", "localhost:3000"]'));
    expect(err.code).toBe('outbound-host-invalid');
    expect(err.key).toBe('component.api.allowed_outbound_hosts[1]');
    expect(err.reason).toBe(`invalid allowed_outbound_hosts entry "localhost:3000": does not contain a scheme (e.g., 'http://' or '*://')`);
  });

  it('validates templated entries using defaults, and skips them when a variable is required', () => {
    const base = (decl: string, entry: string) =>
      `${app('', `source = "a.wasm"\nallowed_outbound_hosts = ["${entry}"]`)}\n[variables]\nhost = ${decl}\n`;
    expect(
      parseManifest(base('{ default = "localhost" }', 'redis://{{ host }}:6379'), FILE).components['api']?.allowedOutboundHosts,
    ).toEqual(['redis://{{ host }}:6379']);
    const err = manifestError(base('{ default = "localhost/path" }', 'http://{{host}}'));
    expect(err.reason).toBe(
      'using default variable value(s) with template "http://{{ host }}" results in invalid config: invalid allowed_outbound_hosts entry "http://localhost/path": host "localhost/path" must not include a path',
    );
    expect(err.key).toBe('component.api.allowed_outbound_hosts[0]');
    expect(parseManifest(base('{ required = true }', 'tcp://{{ host }}'), FILE).components['api']?.allowedOutboundHosts).toEqual([
      'tcp://{{ host }}',
    ]);
    expect(manifestError(base('{ default = "x" }', 'http://{{ other }}')).reason).toBe(
      'invalid variable template: unknown variable "other"',
    );
  });
});

describe('helpers', () => {
  it('identifierError follows Spin’s id rules', () => {
    expect(identifierError('my-component', '-', false)).toBeUndefined();
    expect(identifierError('API-v2', '-', false)).toBeUndefined();
    expect(identifierError('aPi', '-', false)).toBe(`'-'-separated words must be all lowercase or all UPPERCASE; got "aPi"`);
    expect(identifierError('a--b', '-', false)).toBe("'-'-separated words must not be empty");
    expect(identifierError('a.b', '-', false)).toBe("'-'-separated words may only contain alphanumeric ASCII; got '.'");
    expect(identifierError('', '-', false)).toBe('empty');
  });

  it('keyPath quotes non-bare keys', () => {
    expect(keyPath('', 'component')).toBe('component');
    expect(keyPath('component', 'my-api')).toBe('component.my-api');
    expect(keyPath('a', 'b.c')).toBe('a."b.c"');
    expect(keyPath('a', 2)).toBe('a[2]');
  });
});

describe('loadManifest', () => {
  it('reads a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    writeFileSync(join(dir, 'spin.toml'), app());
    const m = await loadManifest(join(dir, 'spin.toml'));
    expect(m.dir).toBe(dir);
    expect(m.components['api']?.source).toEqual({ kind: 'local', path: 'api.wasm', absolutePath: join(dir, 'api.wasm') });
  });

  it('reports a missing file', async () => {
    await expect(loadManifest('/nonexistent/spin.toml')).rejects.toMatchObject({
      code: 'manifest-missing',
      file: '/nonexistent/spin.toml',
    });
  });
});
