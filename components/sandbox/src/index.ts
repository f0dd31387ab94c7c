/**
 * `sandbox`: runs untrusted JavaScript or TypeScript with no capabilities — its world imports no Spin interface
 * and its manifest grants no key-value store, outbound host or variable. Private: reached only by service
 * chaining (`http://sandbox.spin.internal/execute`) from the agents' `execute_code` tool and the MCP server.
 *
 * `POST /execute` `{ code, language?, timeoutMs? }` → 200 with the run's report (`shared/protocol/sandbox.ts`),
 * also when the code fails; 400 for a bad request, 413 for one too large. How a run is contained is described in
 * `shared/sandbox/runner.ts`.
 *
 * @module
 */
import { fire, warmUp } from '../../../shared/http/fire.ts';
import { ExecuteRequestSchema, SANDBOX_LIMITS } from '../../../shared/protocol/sandbox.ts';
import { format, inspect } from '../../../shared/sandbox/format.ts';
import { CodeSyntaxError, instrument } from '../../../shared/sandbox/instrument.ts';
import { handle } from '../../../shared/sandbox/handler.ts';
import { stripTypes } from '../../../shared/sandbox/typescript.ts';

warmUp(() => {
  // Pure paths only (the runner itself locks the instance down, which must not be in the snapshot).
  const samples = [
    'const xs = [1, 2, 3]; for (const x of xs) { while (false) {} } function f(n) { return n < 2 ? n : f(n - 1) + f(n - 2) }\nf(10)',
    'let s = 0; for (let i = 0; i < 10; i++) s += i; do { s-- } while (s > 40); const g = async () => ({ s }); await g()',
  ];
  for (const code of samples) instrument(code, { maxDepth: SANDBOX_LIMITS.callDepth });
  try {
    instrument('let x = ;', { maxDepth: 1 });
  } catch (err) {
    if (!(err instanceof CodeSyntaxError)) throw err;
  }
  stripTypes('interface P { x: number }\nconst p: P = { x: 1 };\nenum E { A }\nexport type T = string;\np.x as number');
  format('%s has %d items: %o', 'list', 3, [1, 2, 3], { a: 1, b: 'two', c: [new Map([[1, 2]]), new Set([1])] }, new Error('e'));
  inspect({ nested: { deeper: { deepest: {} } }, list: Array.from({ length: 30 }, (_, i) => i), date: new Date(0), re: /x/g });
  ExecuteRequestSchema.safeParse({ code: '1', language: 'typescript', timeoutMs: 1000 });
  ExecuteRequestSchema.safeParse({ code: 1, language: 'python', timeoutMs: -1, extra: true });
});

fire({ fetch: (request) => handle(request) });
