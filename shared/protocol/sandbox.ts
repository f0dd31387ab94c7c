/**
 * The code sandbox's wire format: `POST /execute` on the private `sandbox` component (reached by service chaining,
 * `http://sandbox.spin.internal/execute`). Callers (the agents' `execute_code` tool, the MCP server) import these
 * schemas to build requests and to parse answers.
 *
 * A run that fails because of the user's code (a syntax error, an uncaught exception, the time budget, memory)
 * is still a 200 with `error` set: the request was fine, the code was not. Only a bad request (malformed JSON,
 * wrong types, unknown language) is a 400 and an oversized one a 413, both with the platform's
 * `{ error: { code, message, details? } }` body.
 *
 * @module
 */
import { z } from 'zod';

export const SANDBOX_LIMITS = {
  /** Characters of source code. */
  codeChars: 64 * 1024,
  /** Bytes of request body (the code plus JSON escaping, with room to spare). */
  bodyBytes: 512 * 1024,
  /** Time budget of one run when the request names none. */
  defaultTimeoutMs: 1000,
  /** Largest time budget a request may ask for: a run blocks its host thread, so budgets stay short. */
  maxTimeoutMs: 5000,
  /** Characters of console output kept (all levels together); the rest is dropped and `truncated` set. */
  outputChars: 64 * 1024,
  /** Characters of `resultText` and of the JSON text of `result`. */
  resultChars: 64 * 1024,
  /** Nested calls of ordinary functions before a RangeError (the engine's own limit is deeper and also applies). */
  callDepth: 5000,
  /** Characters of one string built by `repeat`, `padStart`, `padEnd`. */
  stringChars: 16 * 1024 * 1024,
  /** Bytes of one ArrayBuffer or typed array; elements of one array built by `Array(n)`, `fill`, `Array.from`. */
  bufferBytes: 64 * 1024 * 1024,
  arrayLength: 8 * 1024 * 1024,
} as const;

export const LANGUAGES = ['javascript', 'typescript'] as const;
export type Language = (typeof LANGUAGES)[number];

/** `POST /execute` body. Unknown fields are an error, so a typo (`timeout`) does not silently use the default. */
export const ExecuteRequestSchema = z.strictObject({
  code: z.string().max(SANDBOX_LIMITS.codeChars, `code must be at most ${SANDBOX_LIMITS.codeChars} characters`),
  language: z.enum(LANGUAGES, { error: `language must be one of ${LANGUAGES.join(', ')}` }).default('javascript'),
  timeoutMs: z
    .number()
    .int('timeoutMs must be an integer')
    .min(1, 'timeoutMs must be at least 1')
    .max(SANDBOX_LIMITS.maxTimeoutMs, `timeoutMs must be at most ${SANDBOX_LIMITS.maxTimeoutMs}`)
    .default(SANDBOX_LIMITS.defaultTimeoutMs),
});
export type ExecuteRequest = z.input<typeof ExecuteRequestSchema>;

/**
 * Why a run failed:
 * - `syntax`: the code did not parse (or used a construct the sandbox refuses: modules, `import()`, reserved names);
 * - `runtime`: it threw, or a promise it returned rejected;
 * - `timeout`: it used up its time budget (busy loops, recursion, or waiting);
 * - `memory`: the engine ran out of memory.
 */
export const RUN_ERROR_KINDS = ['syntax', 'runtime', 'timeout', 'memory'] as const;

export const RunErrorSchema = z.object({
  kind: z.enum(RUN_ERROR_KINDS),
  /** The error's constructor name (`TypeError`, `SyntaxError`, …), or `Thrown` for a thrown non-Error value. */
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  /** 1-based position of a syntax error in the submitted code. */
  line: z.number().int().optional(),
  column: z.number().int().optional(),
});
export type RunError = z.infer<typeof RunErrorSchema>;

export const LOG_LEVELS = ['log', 'info', 'debug', 'warn', 'error'] as const;

export const LogEntrySchema = z.object({ level: z.enum(LOG_LEVELS), message: z.string() });

const JsonSchema: z.ZodType<unknown> = z.json();

/** `POST /execute` answer (status 200 whether or not the code succeeded). */
export const ExecuteResponseSchema = z.object({
  /** `console.log`, `info` and `debug` lines, each ending in a newline (as Node writes them to stdout). */
  stdout: z.string(),
  /** `console.warn` and `error` lines. */
  stderr: z.string(),
  /** Every console line in order, with its level. */
  logs: z.array(LogEntrySchema),
  /** The run's value as JSON (see `resultText` for values JSON cannot hold); `null` when there is none. */
  result: JsonSchema,
  /** The run's value formatted as `console.log` would print it; absent when the value is `undefined`. */
  resultText: z.string().optional(),
  error: RunErrorSchema.nullable(),
  /** Wall-clock time of the run (parsing and instrumentation excluded). */
  durationMs: z.number(),
  /** Output, the result or its text exceeded a limit and was cut. */
  truncated: z.boolean(),
  /** The run was stopped at its time budget. */
  timedOut: z.boolean(),
  language: z.enum(LANGUAGES),
});
export type ExecuteResponse = z.infer<typeof ExecuteResponseSchema>;
