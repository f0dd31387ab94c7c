import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostError } from '../../host/errors.ts';
import { parseManifest } from '../../host/manifest.ts';
import type { VariablesProviderConfig } from '../../host/runtime-config.ts';
import { envVariableName, isValidVariableName, parseDotenv, VariableResolver, variableNameError } from '../../host/variables.ts';
import type { VariableResolverOptions } from '../../host/variables.ts';

const MANIFEST = parseManifest(
  `spin_manifest_version = 2
[application]
name = "vars"
[variables]
api_key = { required = true, secret = true }
greeting = { default = "hello" }
redis_host = { default = "localhost" }
empty = { default = "" }
[[trigger.http]]
route = "/..."
component = "test"
[component.test]
source = "test.wasm"
[component.test.variables]
variable = "value"
key = "{{ api_key }}"
message = "{{ greeting }}, {{greeting}}!"
blank = "{{ empty }}"
[component.other]
source = "other.wasm"
`,
  '/app/spin.toml',
);

/** An empty directory to use as cwd, so no stray .env is read. */
function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'vars-'));
}

function resolver(options: Partial<VariableResolverOptions> = {}): VariableResolver {
  return new VariableResolver({ manifest: MANIFEST, env: {}, cwd: emptyDir(), ...options });
}

describe('variable names', () => {
  it('accepts Spin’s good keys and rejects the bad ones', () => {
    for (const name of ['a', 'abc', 'a1b2c3', 'a_1', 'a_1_b_3']) expect(isValidVariableName(name)).toBe(true);
    for (const name of ['', 'aX', '1bc', '_x', 'x.y', 'x_', 'a__b', 'x-y']) expect(isValidVariableName(name)).toBe(false);
  });

  it('explains why, in Spin’s words and order', () => {
    expect(variableNameError('')).toBe('must not be empty');
    expect(variableNameError('invalid-name')).toBe(
      "invalid character '-'. Variable names may contain only lower-case letters, numbers, and underscores.",
    );
    expect(variableNameError('aX')).toBe(
      "invalid character 'X'. Variable names may contain only lower-case letters, numbers, and underscores.",
    );
    expect(variableNameError('4invalidname')).toBe('must start with a lowercase ASCII letter');
    expect(variableNameError('_x')).toBe('must start with a lowercase ASCII letter');
    expect(variableNameError('x_')).toBe('must end with a lowercase ASCII letter or digit');
    expect(variableNameError('a__b')).toBe('must not contain multiple consecutive underscores');
  });

  it('maps names to environment variables', () => {
    expect(envVariableName('api_key')).toBe('SPIN_VARIABLE_API_KEY');
    expect(envVariableName('api_key', 'MYAPP')).toBe('MYAPP_API_KEY');
  });
});

describe('VariableResolver.get', () => {
  it('follows the conformance variables test', () => {
    const r = resolver();
    expect(r.get('test', 'variable')).toEqual({ ok: 'value' });
    expect(r.get('test', 'non_existent')).toEqual({ err: { tag: 'undefined', val: 'no variable for "test"."non_existent"' } });
    expect(r.get('test', 'invalid-name')).toEqual({
      err: {
        tag: 'invalid-name',
        val: `"invalid-name": invalid character '-'. Variable names may contain only lower-case letters, numbers, and underscores.`,
      },
    });
    expect(r.get('test', 'invalid!name')).toEqual({
      err: {
        tag: 'invalid-name',
        val: `"invalid!name": invalid character '!'. Variable names may contain only lower-case letters, numbers, and underscores.`,
      },
    });
    expect(r.get('test', '4invalidname')).toEqual({
      err: { tag: 'invalid-name', val: '"4invalidname": must start with a lowercase ASCII letter' },
    });
  });

  it('renders templates over application variables', () => {
    const r = resolver();
    expect(r.get('test', 'message')).toEqual({ ok: 'hello, hello!' });
    expect(r.get('test', 'blank')).toEqual({ ok: '' });
  });

  it('scopes names to the component', () => {
    const r = resolver({ env: { SPIN_VARIABLE_GREETING: 'hi' } });
    expect(r.get('other', 'variable')).toEqual({ err: { tag: 'undefined', val: 'no variable for "other"."variable"' } });
    // Application variables are not visible directly.
    expect(r.get('test', 'greeting')).toEqual({ err: { tag: 'undefined', val: 'no variable for "test"."greeting"' } });
    expect(r.get('nope', 'variable')).toEqual({ err: { tag: 'undefined', val: 'no variable for component "nope"' } });
  });

  it('reports an unresolved required variable as a provider error', () => {
    expect(resolver().get('test', 'key')).toEqual({ err: { tag: 'provider', val: 'no provider resolved required variable "api_key"' } });
  });

  it('reads the environment on every call', () => {
    const env: Record<string, string | undefined> = {};
    const r = resolver({ env });
    expect(r.get('test', 'key')).toMatchObject({ err: { tag: 'provider' } });
    env['SPIN_VARIABLE_API_KEY'] = 'secret';
    expect(r.get('test', 'key')).toEqual({ ok: 'secret' });
  });

  it('resolves in Spin’s coded precedence: --variable, providers in order, env, .env, default', () => {
    const cwd = emptyDir();
    writeFileSync(join(cwd, '.env'), 'SPIN_VARIABLE_GREETING=from-dotenv\n');
    const providers: VariablesProviderConfig[] = [
      { type: 'static', values: { greeting: 'from-static' } },
      { type: 'env', prefix: 'MYAPP' },
    ];
    const env = { SPIN_VARIABLE_GREETING: 'from-env', MYAPP_GREETING: 'from-myapp' };
    const message = (opts: Partial<VariableResolverOptions>) => resolver({ cwd, ...opts }).get('test', 'message');
    expect(message({ env, providers, cliVariables: { greeting: 'from-cli' } })).toEqual({ ok: 'from-cli, from-cli!' });
    expect(message({ env, providers })).toEqual({ ok: 'from-static, from-static!' });
    expect(message({ env, providers: [...providers].reverse() })).toEqual({ ok: 'from-myapp, from-myapp!' });
    expect(message({ env, providers: [{ type: 'env', prefix: 'MYAPP' }] })).toEqual({ ok: 'from-myapp, from-myapp!' });
    expect(message({ env })).toEqual({ ok: 'from-env, from-env!' });
    expect(message({ env: {} })).toEqual({ ok: 'from-dotenv, from-dotenv!' });
    expect(resolver().get('test', 'message')).toEqual({ ok: 'hello, hello!' });
  });

  it('lets the real environment win over .env, even when empty', () => {
    const cwd = emptyDir();
    writeFileSync(join(cwd, '.env'), 'SPIN_VARIABLE_API_KEY=dotenv\n');
    expect(resolver({ cwd, env: { SPIN_VARIABLE_API_KEY: '' } }).get('test', 'key')).toEqual({ ok: '' });
    expect(resolver({ cwd }).get('test', 'key')).toEqual({ ok: 'dotenv' });
  });

  it('reads a dotenv file for a configured env provider only when dotenv_path is set', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, 'vars.env'), 'MYAPP_API_KEY=from-file\n');
    expect(resolver({ providers: [{ type: 'env', prefix: 'MYAPP' }], cwd: dir }).get('test', 'key')).toMatchObject({
      err: { tag: 'provider' },
    });
    expect(resolver({ providers: [{ type: 'env', prefix: 'MYAPP', dotenvPath: join(dir, 'vars.env') }] }).get('test', 'key')).toEqual({
      ok: 'from-file',
    });
    // A missing dotenv file is simply empty, as in Spin.
    expect(resolver({ providers: [{ type: 'env', dotenvPath: join(dir, 'missing.env') }] }).get('test', 'variable')).toEqual({
      ok: 'value',
    });
  });

  it('refuses providers this host cannot run', () => {
    for (const type of ['vault', 'azure_key_vault'] as const) {
      const err = (() => {
        try {
          resolver({ providers: [{ type, config: {} }] });
        } catch (e) {
          return e as HostError;
        }
        throw new Error('expected a HostError');
      })();
      expect(err).toBeInstanceOf(HostError);
      expect(err.code).toBe('unsupported');
      expect(err.reason).toBe(`the ${type} variables provider is not supported by this host`);
      expect(err.hint).toContain('SPIN_VARIABLE_');
    }
  });
});

describe('VariableResolver.getAll', () => {
  it('resolves every variable of a component, failing on the first error', () => {
    expect(resolver({ env: { SPIN_VARIABLE_API_KEY: 'k' } }).getAll('test')).toEqual({
      ok: [
        ['variable', 'value'],
        ['key', 'k'],
        ['message', 'hello, hello!'],
        ['blank', ''],
      ],
    });
    expect(resolver().getAll('test')).toEqual({ err: { tag: 'provider', val: 'no provider resolved required variable "api_key"' } });
    expect(resolver().getAll('other')).toEqual({ ok: [] });
  });
});

describe('VariableResolver.resolveStatic', () => {
  it('renders allowed_outbound_hosts templates (conformance outbound-redis-variable-permission)', () => {
    expect(resolver().resolveStatic('redis://{{ redis_host }}:6379')).toBe('redis://localhost:6379');
    expect(resolver({ env: { SPIN_VARIABLE_REDIS_HOST: '10.0.0.5' } }).resolveStatic('redis://{{ redis_host }}:6379')).toBe(
      'redis://10.0.0.5:6379',
    );
    expect(resolver().resolveStatic('https://example.com')).toBe('https://example.com');
  });

  it('throws for undeclared or unresolvable variables', () => {
    expect(() => resolver().resolveStatic('http://{{ nope }}')).toThrow(expect.objectContaining({ code: 'variable-invalid' }));
    expect(() => resolver().resolveStatic('http://{{ api_key }}')).toThrow(
      expect.objectContaining({ code: 'variable-unresolved', reason: 'no provider resolved required variable "api_key"' }),
    );
    expect(() => resolver().resolveStatic('http://{{ api_key')).toThrow(expect.objectContaining({ code: 'template-invalid' }));
  });
});

describe('VariableResolver.ensureRequiredResolvable', () => {
  it('passes when a provider can resolve every required variable', () => {
    expect(() => resolver({ env: { SPIN_VARIABLE_API_KEY: 'x' } }).ensureRequiredResolvable()).not.toThrow();
    expect(() => resolver({ cliVariables: { api_key: 'x' } }).ensureRequiredResolvable()).not.toThrow();
    expect(() => resolver({ providers: [{ type: 'static', values: { api_key: 'x' } }] }).ensureRequiredResolvable()).not.toThrow();
  });

  it('lists the required variables nobody provides', () => {
    expect(() => resolver().ensureRequiredResolvable()).toThrow(
      expect.objectContaining({
        code: 'variable-unresolved',
        reason: 'no provider resolved required variable(s): ["api_key"]',
        hint: 'set SPIN_VARIABLE_API_KEY in the environment or .env, or pass --variable api_key=<value>',
      }),
    );
  });
});

describe('parseDotenv', () => {
  it('parses dotenv syntax', () => {
    const parsed = parseDotenv(
      [
        '# a comment',
        '',
        'PLAIN=value',
        'export EXPORTED=yes',
        'SPACED = padded  ',
        'INLINE=value # comment',
        'HASH=a#b',
        "SINGLE='literal $PLAIN \\n'",
        'DOUBLE="line1\\nline2 \\"q\\""',
        'SUB=${PLAIN}-$EXPORTED',
        'MULTI="first',
        'second"',
        'EMPTY=',
      ].join('\n'),
      '.env',
    );
    expect(Object.fromEntries(parsed)).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'padded',
      INLINE: 'value',
      HASH: 'a#b',
      SINGLE: 'literal $PLAIN \\n',
      DOUBLE: 'line1\nline2 "q"',
      SUB: 'value-yes',
      MULTI: 'first\nsecond',
      EMPTY: '',
    });
  });

  it('substitutes from the environment first', () => {
    expect(parseDotenv('A=1\nB=$A', '.env', { A: 'env' }).get('B')).toBe('env');
  });

  it('rejects malformed lines', () => {
    expect(() => parseDotenv('OK=1\nnot a pair\n', '/app/.env')).toThrow(
      expect.objectContaining({ code: 'dotenv-invalid', file: '/app/.env', reason: 'cannot parse line 2: expected KEY=VALUE' }),
    );
    expect(() => parseDotenv('A="open', '.env')).toThrow(expect.objectContaining({ code: 'dotenv-invalid' }));
  });

  it('fails the resolver at construction for a malformed .env', () => {
    const cwd = emptyDir();
    writeFileSync(join(cwd, '.env'), 'garbage\n');
    expect(() => resolver({ cwd })).toThrow(expect.objectContaining({ code: 'dotenv-invalid' }));
  });
});
