/** Helpers shared by the conformance guests. */
export { describeSpinError } from '../../shared/spin/errors.ts';

export class CheckFailed extends Error {}

export function check(condition: boolean, message: string): void {
  if (!condition) throw new CheckFailed(message);
}

export function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new CheckFailed(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Runs the scenario; 200 with an empty body on success, 500 with the reason otherwise. */
export async function run(scenario: () => void | Promise<void>): Promise<Response> {
  try {
    await scenario();
    return new Response(null, { status: 200 });
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return new Response(text, { status: 500 });
  }
}
