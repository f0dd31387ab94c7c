/**
 * A promise raced against a timer, for guest code: StarlingMonkey's `fetch` ignores `AbortSignal`, so a deadline has
 * to be a race.
 *
 * @module
 */

/** Resolves with `promise`, or rejects with `onTimeout()` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
