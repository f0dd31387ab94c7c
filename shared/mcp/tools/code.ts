/**
 * `execute_code`: the capability-less sandbox (`sandbox_url`, service chaining), with the sandbox's own request schema.
 *
 * @module
 */
import { z } from 'zod';
import { ExecuteRequestSchema, ExecuteResponseSchema, LANGUAGES, RUN_ERROR_KINDS } from '../../protocol/sandbox.ts';
import { CalleeError } from '../platform.ts';
import { tool } from '../tool.ts';

/** The sandbox caps a run at 5 s; the rest is margin for a busy host. */
const CODE_TIMEOUT_MS = 60_000;

export const executeCode = tool({
  name: 'execute_code',
  title: 'Execute code',
  description:
    'Runs JavaScript or TypeScript in a capability-less WebAssembly sandbox (no network, no files, a time budget) and ' +
    'returns what it printed, the value of its last expression and any error. A failure of the code itself ' +
    '(syntax, exception, timeout) is reported with isError and the structured result.',
  // The sandbox's own request schema: one definition of the limits and defaults.
  input: ExecuteRequestSchema,
  output: z.object({
    stdout: z.string(),
    stderr: z.string(),
    result: z.unknown().describe('The value of the last expression as JSON (null when there is none)'),
    resultText: z.string().optional().describe('The value as console.log would print it'),
    error: z
      .object({
        kind: z.enum(RUN_ERROR_KINDS),
        name: z.string(),
        message: z.string(),
        line: z.number().optional(),
        column: z.number().optional(),
      })
      .nullable(),
    durationMs: z.number(),
    truncated: z.boolean(),
    timedOut: z.boolean(),
    language: z.enum(LANGUAGES),
  }),
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const answer = await platform.json('sandbox', '/execute', { body: args, timeoutMs: CODE_TIMEOUT_MS });
    const parsed = ExecuteResponseSchema.safeParse(answer);
    if (!parsed.success) throw new CalleeError('sandbox', 200, 'invalid_response', 'the sandbox returned a result this server cannot read');
    const { logs: _logs, error, ...rest } = parsed.data;
    const structured = {
      ...rest,
      result: rest.result ?? null,
      error: error && { kind: error.kind, name: error.name, message: error.message, line: error.line, column: error.column },
    };
    return { structured, isError: error !== null };
  },
});
