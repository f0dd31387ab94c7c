/**
 * `edge-agents up`: the command line of `spin up`, for the flags this host supports.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { HostError } from './errors.ts';

export interface UpOptions {
  from: string;
  listen: string;
  findFreePort: boolean;
  runtimeConfigFile: string | undefined;
  stateDir: string | undefined;
  logDir: string | undefined;
  env: [string, string][];
  variables: Map<string, string>;
  keyValues: [string, string][];
  quiet: boolean;
  build: boolean;
}

export const USAGE = `Usage: edge-agents up [options]

Runs a Spin application (spin.toml) on this Node host, with the semantics of \`spin up\`.

Options:
  -f, --from <path>                Manifest file or directory containing spin.toml [default: spin.toml]
      --listen <addr>              Address to listen on [env: SPIN_HTTP_LISTEN_ADDR] [default: 127.0.0.1:3000]
      --find-free-port             If the port is taken, try the next 9 ports
      --runtime-config-file <path> Runtime configuration file [env: SPIN_RUNTIME_CONFIG_FILE]
      --state-dir <path>           Directory for application state (default key-value store) [default: .spin]
  -L, --log-dir <path>             Directory for component stdout/stderr logs [env: SPIN_LOG_DIR]
  -e, --env <KEY=VALUE>            Environment variable passed to every component (repeatable)
      --variable <NAME=VALUE>      Application variable: NAME=VALUE, NAME=@file, @file.json or @file.toml (repeatable)
      --key-value <KEY=VALUE>      Set a key in the default key-value store before serving (repeatable)
      --build                      Build stale components first (npm run build)
  -q, --quiet                      Do not echo component output to the terminal
  -h, --help                       Print this help
`;

function splitPair(value: string, flag: string): [string, string] {
  const i = value.indexOf('=');
  if (i <= 0)
    throw new HostError(`${flag} expects KEY=VALUE, got '${value}'`, { code: 'cli-invalid', hint: `write it as ${flag} NAME=value` });
  return [value.slice(0, i), value.slice(i + 1)];
}

/** `--variable` values: `NAME=VALUE`, `NAME=@file` (file contents), `@vars.json` or `@vars.toml` (a table). */
export function parseVariableArg(value: string, into: Map<string, string>): void {
  if (value.startsWith('@')) {
    const file = value.slice(1);
    let table: Record<string, unknown>;
    try {
      const text = readFileSync(file, 'utf8');
      table = extname(file) === '.toml' ? (parseToml(text) as Record<string, unknown>) : (JSON.parse(text) as Record<string, unknown>);
    } catch (cause) {
      throw new HostError(`cannot read variables from '${file}'`, {
        code: 'cli-invalid',
        file,
        cause,
        hint: 'use a JSON or TOML file with a flat table of strings',
      });
    }
    for (const [k, v] of Object.entries(table)) {
      if (typeof v !== 'string')
        throw new HostError(`variable '${k}' in '${file}' must be a string`, { code: 'cli-invalid', file, key: k });
      into.set(k, v);
    }
    return;
  }
  const [name, raw] = splitPair(value, '--variable');
  if (raw.startsWith('@')) {
    try {
      into.set(name, readFileSync(raw.slice(1), 'utf8'));
    } catch (cause) {
      throw new HostError(`cannot read the value of variable '${name}' from '${raw.slice(1)}'`, { code: 'cli-invalid', cause });
    }
  } else into.set(name, raw);
}

/** Parses `up` arguments (without the `up` itself). Throws {@link HostError} for bad usage. */
export function parseUpArgs(args: string[], env: NodeJS.ProcessEnv = process.env): UpOptions | 'help' {
  const options: UpOptions = {
    from: 'spin.toml',
    listen: env.SPIN_HTTP_LISTEN_ADDR ?? '127.0.0.1:3000',
    findFreePort: false,
    runtimeConfigFile: env.SPIN_RUNTIME_CONFIG_FILE || undefined,
    stateDir: undefined,
    logDir: env.SPIN_LOG_DIR || undefined,
    env: [],
    variables: new Map(),
    keyValues: [],
    quiet: false,
    build: false,
  };
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let inline: string | undefined;
    if (arg.startsWith('--') && arg.includes('=')) {
      inline = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined)
        throw new HostError(`${arg} needs a value`, {
          code: 'cli-invalid',
          hint: USAGE.split('\n')
            .find((l) => l.includes(arg))
            ?.trim(),
        });
      return v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return 'help';
      case '-f':
      case '--from':
      case '--file':
        options.from = value();
        break;
      case '--listen':
        options.listen = value();
        break;
      case '--find-free-port':
        options.findFreePort = true;
        break;
      case '--runtime-config-file':
        options.runtimeConfigFile = value();
        break;
      case '--state-dir':
        options.stateDir = value();
        break;
      case '-L':
      case '--log-dir':
        options.logDir = value();
        break;
      case '-e':
      case '--env':
        options.env.push(splitPair(value(), '--env'));
        break;
      case '--variable':
        parseVariableArg(value(), options.variables);
        break;
      case '--key-value':
        options.keyValues.push(splitPair(value(), '--key-value'));
        break;
      case '--build':
        options.build = true;
        break;
      case '-q':
      case '--quiet':
        options.quiet = true;
        break;
      default:
        throw new HostError(`unknown option '${arg}'`, {
          code: 'cli-invalid',
          hint: 'run `edge-agents up --help` for the supported options',
        });
    }
  }
  return options;
}

/** Splits `host:port` / `[v6]:port`; Spin resolves names preferring IPv4. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new HostError(`invalid listen address '${listen}'`, { code: 'cli-invalid', hint: 'use host:port, e.g. 127.0.0.1:3000' });
  const host = m[1] ?? m[2]!;
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}
