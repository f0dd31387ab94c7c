/**
 * Benchmark-only entry: the sandbox with instrumentation switched off, so `bench/sandbox.bench.ts` can measure
 * what the budget ticks and depth counting cost. Not in spin.toml and never deployed: code run by it cannot be
 * stopped.
 *
 * @module
 */
import { fire } from '../../../shared/http/fire.ts';
import { handle } from '../../../shared/sandbox/handler.ts';

fire({ fetch: (request) => handle(request, { bare: true }) });
