/**
 * A value computed on first use and kept for the rest of the instance (one request). Components open stores and read
 * variables this way: a host call is not allowed while Wizer initialises the component, and each one costs a trip
 * through the host, so it happens only if a handler needs it, and once.
 *
 * @module
 */
export function lazy<T>(open: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= open());
}
