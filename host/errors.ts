/**
 * The host's own error type: configuration and startup failures reported to the person running the app.
 *
 * These errors are never serialized over HTTP; guests only ever see WIT error variants or a bare 500.
 *
 * @module
 */

/**
 * Machine-readable reasons. The list is open (other modules add their own codes), these are the ones the
 * manifest, runtime-config and variables modules use.
 */
export type HostErrorCode =
  | 'manifest-invalid'
  | 'manifest-unknown-key'
  | 'manifest-version'
  | 'component-missing'
  | 'component-invalid'
  | 'template-invalid'
  | 'variable-invalid'
  | 'variable-unresolved'
  | 'outbound-host-invalid'
  | 'route-invalid'
  | 'runtime-config-invalid'
  | 'runtime-config-unknown-key'
  | 'store-label-unknown'
  | 'unsupported'
  | (string & {});

export interface HostErrorOptions {
  code: HostErrorCode;
  /** The file at fault (manifest, runtime config, .env), as the user would type it. */
  file?: string;
  /** Dotted key path inside that file, e.g. `component.api.allowed_outbound_hosts[2]`. */
  key?: string;
  /** How to fix it, phrased as an instruction. */
  hint?: string;
  cause?: unknown;
}

/**
 * A host failure with a string {@link HostErrorCode}. `message` names the file, the key and the fix when they are
 * known, so printing it is enough; `reason` is the bare description without that framing.
 */
export class HostError extends Error {
  override readonly name = 'HostError';
  readonly code: HostErrorCode;
  readonly file: string | undefined;
  readonly key: string | undefined;
  readonly hint: string | undefined;
  readonly reason: string;

  constructor(reason: string, options: HostErrorOptions) {
    super(formatMessage(reason, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.file = options.file;
    this.key = options.key;
    this.hint = options.hint;
    this.reason = reason;
  }

  /** A copy with the missing `file`/`key`/`hint` filled in: lets low-level parsers throw without knowing where they are. */
  withContext(context: { file?: string; key?: string; hint?: string; code?: HostErrorCode }): HostError {
    return new HostError(this.reason, {
      code: context.code ?? this.code,
      file: this.file ?? context.file,
      key: this.key ?? context.key,
      hint: this.hint ?? context.hint,
      cause: this.cause,
    });
  }
}

function formatMessage(reason: string, { file, key, hint }: HostErrorOptions): string {
  const where = [file, key].filter((part) => part !== undefined && part !== '').join(': ');
  const head = where ? `${where}: ${reason}` : reason;
  return hint ? `${head}\nhint: ${hint}` : head;
}

/** True when `err` is a {@link HostError}, optionally with the given code. */
export function isHostError(err: unknown, code?: HostErrorCode): err is HostError {
  return err instanceof HostError && (code === undefined || err.code === code);
}

// Rust's `{:?}` escaping, so messages that guests or tests compare match Spin's byte for byte.
function debugEscape(ch: string, quote: '"' | "'"): string {
  switch (ch) {
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\0':
      return '\\0';
    case quote:
      return `\\${quote}`;
  }
  const code = ch.codePointAt(0)!;
  return code < 0x20 || code === 0x7f ? `\\u{${code.toString(16)}}` : ch;
}

/** Formats a string as Rust's `{:?}` does: `"a\"b"`. */
export function debugString(s: string): string {
  let out = '"';
  for (const ch of s) out += debugEscape(ch, '"');
  return `${out}"`;
}

/** Formats a character as Rust's `{:?}` does: `'-'`. */
export function debugChar(ch: string): string {
  return `'${debugEscape(ch, "'")}'`;
}
