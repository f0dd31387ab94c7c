/**
 * The small WASI interfaces every component imports: `wasi:cli`, `wasi:clocks`, `wasi:random` and
 * `wasi:filesystem`. Guests get what Spin gives an HTTP component: empty argv, the manifest's `environment`,
 * stdout/stderr that go to the component's log files and the terminal, and no filesystem unless the manifest
 * mounts files (not supported by this host yet; the loader warns).
 *
 * @module
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { CABI_LOWER } from './lower.ts';
import { ByteQueue, callbackSink, InputStream, type IoError, OutputStream, Pollable } from './io.ts';

/** `wasi:clocks/monotonic-clock` pollables are timers that start when the guest subscribes. */
function timerPollable(deadlineNs: bigint): Pollable {
  let timer: NodeJS.Timeout | undefined;
  let promise: Promise<void> | undefined;
  const isReady = () => process.hrtime.bigint() >= deadlineNs;
  return new Pollable(
    isReady,
    () =>
      (promise ??= new Promise<void>((resolve) => {
        // libuv schedules timers from the loop time cached at the start of the iteration, so after a busy
        // iteration a timer can fire before its deadline: re-arm until the clock really has passed it. Resolving
        // early would make `poll` report nothing ready (StarlingMonkey then runs the wrong timer).
        const arm = () => {
          const left = deadlineNs - process.hrtime.bigint();
          if (left <= 0n) resolve();
          else timer = setTimeout(arm, Number((left + 999_999n) / 1_000_000n));
        };
        arm();
      })),
    () => clearTimeout(timer),
  );
}

const now = (): bigint => process.hrtime.bigint();

export const monotonicClock = {
  now: Object.assign(now, { [CABI_LOWER]: () => now }),
  resolution: (): bigint => 1n,
  subscribeInstant: (when: bigint): Pollable => timerPollable(when),
  subscribeDuration: (duration: bigint): Pollable => timerPollable(process.hrtime.bigint() + duration),
};

export const wallClock = {
  now(): { seconds: bigint; nanoseconds: number } {
    const ms = Date.now();
    return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
  },
  resolution: (): { seconds: bigint; nanoseconds: number } => ({ seconds: 0n, nanoseconds: 1_000_000 }),
};

const u64 = new BigUint64Array(1);
export const random = {
  getRandomBytes: (len: bigint): Uint8Array => new Uint8Array(randomBytes(Number(len))),
  getRandomU64: (): bigint => {
    randomFillSync(u64);
    return u64[0]!;
  },
};
export const insecureRandom = random;
export const insecureSeed = {
  insecureSeed: (): [bigint, bigint] => [random.getRandomU64(), random.getRandomU64()],
};

export class TerminalInput {}
export class TerminalOutput {}

/** `wasi:filesystem/types`: descriptors exist only as a type; no directory is ever pre-opened. */
export class Descriptor {}
export class DirectoryEntryStream {}
export const filesystemTypes = {
  Descriptor,
  DirectoryEntryStream,
  filesystemErrorCode: (_err: IoError): undefined => undefined,
};
export const preopens = {
  getDirectories: (): [Descriptor, string][] => [],
};

/** Where one instance's stdio goes. */
export interface Stdio {
  stdout: (chunk: Uint8Array) => void;
  stderr: (chunk: Uint8Array) => void;
}

/** Exit from `wasi:cli/exit`: ends the instance like a trap. */
export class GuestExit extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`guest called exit(${status})`);
    this.status = status;
  }
}

/** The `wasi:cli/*` import objects for one instance. */
export function cliImports(stdio: Stdio, env: [string, string][]): Record<string, object> {
  // A new resource per call: the guest owns (and drops) each handle it is given.
  const outSink = callbackSink(stdio.stdout);
  const errSink = callbackSink(stdio.stderr);
  return {
    'wasi:cli/stdout': { getStdout: () => new OutputStream(outSink) },
    'wasi:cli/stderr': { getStderr: () => new OutputStream(errSink) },
    'wasi:cli/stdin': { getStdin: () => new InputStream(ByteQueue.from('')) },
    'wasi:cli/environment': {
      getEnvironment: () => env,
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status: { tag: 'ok' | 'err' }) => {
        throw new GuestExit(status.tag === 'ok' ? 0 : 1);
      },
    },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
  };
}
