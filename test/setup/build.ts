/**
 * vitest global setup: builds every app the tests run (cached by content hash, so a warm run costs ~1 s).
 */
import { buildApp } from '../../scripts/build.ts';
import { APPS } from '../helpers/apps.ts';

export default async function setup(): Promise<void> {
  const started = performance.now();
  for (const manifest of Object.values(APPS)) {
    // EDGE_AGENTS_BUILD_KEEP_GOING=1 (never in CI): a component someone is still editing does not stop the others' tests.
    const keepGoing = !process.env.CI && process.env.EDGE_AGENTS_BUILD_KEEP_GOING === '1';
    await buildApp({ manifest, keepGoing, log: process.env.CI || keepGoing ? (l) => console.log(l) : undefined });
  }
  console.log(`test apps built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
