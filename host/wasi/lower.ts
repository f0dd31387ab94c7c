/**
 * Hand-written Canonical ABI lowerings for hot imports.
 *
 * jco's generated glue wraps every import call in its component-model task bookkeeping (a task, a subtask, debug
 * hooks), which costs microseconds per call. StarlingMonkey reads the monotonic clock hundreds of times per request,
 * so that bookkeeping alone was a tenth of a request's time. The host transpiles with `importBindings: 'hybrid'`:
 * an import function that carries a `Symbol.for('cabiLower')` factory is bound straight to the core module with
 * the function the factory returns, which takes and returns core Wasm values.
 *
 * @module
 */
export const CABI_LOWER = Symbol.for('cabiLower');
