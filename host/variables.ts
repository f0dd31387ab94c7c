/**
 * Application and component variables (`fermyon:spin/variables`, `wasi:config/store`), resolved as Spin 3.x
 * resolves them.
 *
 * A component variable is a template over application variables. An application variable comes from the first
 * provider that has it, in the order Spin's code queries them (which differs from its docs): `--variable` values,
 * then runtime-config `[[variables_provider]]` entries in file order, then the built-in environment provider
 * (`SPIN_VARIABLE_<NAME>`, falling back to `./.env`), then the manifest `default`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { debugChar, debugString, HostError } from './errors.ts';
import type { Manifest, VariableDecl } from './manifest.ts';
import type { VariablesProviderConfig } from './runtime-config.ts';
import { parseTemplate } from './template.ts';
import type { Template } from './template.ts';

/** `fermyon:spin/variables.error` as jco represents it. */
export type VariableError = { tag: 'invalid-name' | 'undefined' | 'provider' | 'other'; val: string };
export type VariableResult = { ok: string } | { err: VariableError };

/** The environment-variable prefix Spin's env provider uses unless configured otherwise. */
export const DEFAULT_ENV_PREFIX = 'SPIN_VARIABLE';

/**
 * Why `name` is not a valid variable name, in Spin's words, or undefined. Valid names match `^[a-z][a-z0-9_]*$`,
 * have no `__` and end with a letter or digit.
 */
export function variableNameError(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  for (const ch of name) {
    if (!/^[a-z0-9_]$/.test(ch)) {
      return `invalid character ${debugChar(ch)}. Variable names may contain only lower-case letters, numbers, and underscores.`;
    }
  }
  if (!/^[a-z]/.test(name)) return 'must start with a lowercase ASCII letter';
  if (!/[a-z0-9]$/.test(name)) return 'must end with a lowercase ASCII letter or digit';
  if (name.includes('__')) return 'must not contain multiple consecutive underscores';
  return undefined;
}

/** True when `name` is a valid variable name (see {@link variableNameError}). */
export function isValidVariableName(name: string): boolean {
  return variableNameError(name) === undefined;
}

/** The environment variable Spin's env provider reads for `name`. */
export function envVariableName(name: string, prefix = DEFAULT_ENV_PREFIX): string {
  return `${prefix}_${name.replace(/[a-z]/g, (c) => c.toUpperCase())}`;
}

/** One source of application variable values. */
interface Provider {
  get(name: string): string | undefined;
  /** Spin's `may_resolve`: used only by the startup check for required variables. */
  mayResolve(name: string): boolean;
}

class StaticProvider implements Provider {
  readonly #values: ReadonlyMap<string, string>;
  constructor(values: Readonly<Record<string, string>>) {
    this.#values = new Map(Object.entries(values));
  }
  get(name: string): string | undefined {
    return this.#values.get(name);
  }
  mayResolve(name: string): boolean {
    return this.#values.has(name);
  }
}

class EnvProvider implements Provider {
  readonly #prefix: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #dotenv: ReadonlyMap<string, string>;
  constructor(prefix: string, env: Readonly<Record<string, string | undefined>>, dotenvPath: string | undefined) {
    this.#prefix = prefix;
    this.#env = env;
    this.#dotenv = dotenvPath === undefined ? new Map() : readDotenv(dotenvPath, env);
  }
  get(name: string): string | undefined {
    const key = envVariableName(name, this.#prefix);
    // The real environment wins over the .env file, even when set to "".
    return this.#env[key] ?? this.#dotenv.get(key);
  }
  mayResolve(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

// Like Spin (dotenvy), a missing .env file is simply empty.
function readDotenv(path: string, env: Readonly<Record<string, string | undefined>>): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new HostError('cannot read the dotenv file', { code: 'dotenv-invalid', file: path, cause: err });
  }
  return parseDotenv(text, path, env);
}

/**
 * Parses a `.env` file as dotenvy does: `KEY=value` lines, optional `export `, `#` comments, single quotes
 * (literal), double quotes (escapes, may span lines), and `$VAR` / `${VAR}` substitution outside single quotes
 * (from the environment first, then earlier entries).
 *
 * @throws {HostError} `dotenv-invalid` naming the line.
 */
export function parseDotenv(text: string, file: string, env: Readonly<Record<string, string | undefined>> = {}): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  const substitute = (value: string) =>
    value.replace(/\$(?:\{([A-Za-z0-9_.]*)\}|([A-Za-z0-9_]+))/g, (_m, braced: string | undefined, bare: string | undefined) => {
      const key = braced ?? bare ?? '';
      return env[key] ?? out.get(key) ?? '';
    });
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z0-9_.]+)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      throw new HostError(`cannot parse line ${lineNo}: expected KEY=VALUE`, {
        code: 'dotenv-invalid',
        file,
        hint: 'write one `SPIN_VARIABLE_NAME=value` per line',
      });
    }
    const key = m[1]!;
    let rest = m[2]!;
    let value: string;
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // Quoted values may continue on following lines until the closing quote.
      let body = rest.slice(1);
      let close = findClose(body, quote);
      while (close === -1 && i + 1 < lines.length) {
        body += `\n${lines[++i]}`;
        close = findClose(body, quote);
      }
      if (close === -1) throw new HostError(`unterminated quoted value starting on line ${lineNo}`, { code: 'dotenv-invalid', file });
      const inner = body.slice(0, close);
      value = quote === "'" ? inner : substitute(unescapeDouble(inner));
    } else {
      const comment = rest.search(/\s#/);
      if (comment !== -1) rest = rest.slice(0, comment);
      value = substitute(rest.trim());
    }
    out.set(key, value);
  }
  return out;
}

function findClose(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}

function unescapeDouble(s: string): string {
  return s.replace(/\\(.)/gs, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c as 'n' | 'r' | 't'] ?? c);
}

/** Thrown inside resolution; becomes a `provider` error for guests and a {@link HostError} at startup. */
class ProviderError extends Error {}

export interface VariableResolverOptions {
  /** Application variable declarations and each component's variable templates. */
  manifest: Pick<Manifest, 'variables' | 'components'>;
  /** `--variable` values, already merged (last one wins). Highest precedence. */
  cliVariables?: Readonly<Record<string, string>>;
  /** Runtime-config `[[variables_provider]]` entries, in file order. */
  providers?: readonly VariablesProviderConfig[];
  /** The process environment; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where the built-in provider looks for `.env`; defaults to `process.cwd()`. */
  cwd?: string;
}

/**
 * Resolves variables for components. Cheap to query: values are looked up on every call (environment reads), only
 * `.env` files are parsed once, at construction.
 */
export class VariableResolver {
  readonly #decls: Readonly<Record<string, VariableDecl>>;
  readonly #templates = new Map<string, Map<string, Template>>();
  readonly #providers: Provider[] = [];

  /**
   * @throws {HostError} `unsupported` for vault / azure_key_vault providers, `dotenv-invalid` for a bad `.env`,
   *   `template-invalid` for a bad component template.
   */
  constructor(options: VariableResolverOptions) {
    const env = options.env ?? process.env;
    const cwd = options.cwd ?? process.cwd();
    this.#decls = options.manifest.variables;
    for (const component of Object.values(options.manifest.components)) {
      const templates = new Map<string, Template>();
      for (const [name, value] of Object.entries(component.variables)) templates.set(name, parseTemplate(value));
      this.#templates.set(component.id, templates);
    }

    this.#providers.push(new StaticProvider(options.cliVariables ?? {}));
    for (const config of options.providers ?? []) {
      switch (config.type) {
        case 'static':
          this.#providers.push(new StaticProvider(config.values));
          break;
        case 'env':
          // A configured env provider reads a dotenv file only when `dotenv_path` is set (Spin's default is none).
          this.#providers.push(new EnvProvider(config.prefix ?? DEFAULT_ENV_PREFIX, env, config.dotenvPath));
          break;
        case 'vault':
        case 'azure_key_vault':
          throw new HostError(`the ${config.type} variables provider is not supported by this host`, {
            code: 'unsupported',
            hint:
              'supply the values with SPIN_VARIABLE_* environment variables, a .env file, --variable, ' +
              'or a [[variables_provider]] of type "env" or "static"',
          });
      }
    }
    this.#providers.push(new EnvProvider(DEFAULT_ENV_PREFIX, env, resolve(cwd, '.env')));
  }

  /**
   * `fermyon:spin/variables.get` for a component: `invalid-name` for a malformed name, `undefined` for a name the
   * component does not declare, `provider` when a required application variable has no value.
   */
  get(componentId: string, name: string): VariableResult {
    const nameError = variableNameError(name);
    if (nameError !== undefined) return { err: { tag: 'invalid-name', val: `${debugString(name)}: ${nameError}` } };
    const templates = this.#templates.get(componentId);
    if (!templates) return { err: { tag: 'undefined', val: `no variable for component ${debugString(componentId)}` } };
    const template = templates.get(name);
    if (!template) return { err: { tag: 'undefined', val: `no variable for ${debugString(componentId)}.${debugString(name)}` } };
    return this.#render(template);
  }

  /** Every variable of a component, resolved (`wasi:config/store.get-all`); the first failure wins. */
  getAll(componentId: string): { ok: [string, string][] } | { err: VariableError } {
    const out: [string, string][] = [];
    for (const [name, template] of this.#templates.get(componentId) ?? []) {
      const result = this.#render(template);
      if ('err' in result) return result;
      out.push([name, result.ok]);
    }
    return { ok: out };
  }

  /**
   * Resolves a template over application variables once, e.g. an `allowed_outbound_hosts` entry at startup.
   *
   * @throws {HostError} `template-invalid`, `variable-invalid` (undeclared variable) or `variable-unresolved`.
   */
  resolveStatic(template: string): string {
    const parsed = parseTemplate(template);
    return parsed.render((name) => {
      if (!Object.hasOwn(this.#decls, name)) {
        throw new HostError(`invalid variable name: ${name} is not an application variable (in ${JSON.stringify(template)})`, {
          code: 'variable-invalid',
          hint: `declare it under [variables] in spin.toml`,
        });
      }
      try {
        return this.#resolveApp(name);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        throw new HostError(err.message, { code: 'variable-unresolved', hint: resolveHint(name) });
      }
    });
  }

  /**
   * Spin's startup check: every required application variable must be resolvable by some provider.
   *
   * @throws {HostError} `variable-unresolved` listing the variables no provider has.
   */
  ensureRequiredResolvable(): void {
    const missing = Object.entries(this.#decls)
      .filter(([name, decl]) => decl.default === undefined && !this.#providers.some((p) => p.mayResolve(name)))
      .map(([name]) => name);
    if (missing.length) {
      throw new HostError(`no provider resolved required variable(s): [${missing.map(debugString).join(', ')}]`, {
        code: 'variable-unresolved',
        hint: resolveHint(missing[0]!),
      });
    }
  }

  #render(template: Template): VariableResult {
    try {
      return { ok: template.render((name) => this.#resolveApp(name)) };
    } catch (err) {
      if (err instanceof ProviderError) return { err: { tag: 'provider', val: err.message } };
      return { err: { tag: 'other', val: err instanceof Error ? err.message : String(err) } };
    }
  }

  #resolveApp(name: string): string {
    for (const provider of this.#providers) {
      const value = provider.get(name);
      if (value !== undefined) return value;
    }
    const decl = this.#decls[name];
    if (decl?.default !== undefined) return decl.default;
    throw new ProviderError(`no provider resolved required variable ${debugString(name)}`);
  }
}

function resolveHint(name: string): string {
  return `set ${envVariableName(name)} in the environment or .env, or pass --variable ${name}=<value>`;
}
