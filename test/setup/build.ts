/**
 * vitest global setup: builds every app the tests run (cached by content hash, so a warm run costs ~1 s).
 */
import { buildApp } from '../../scripts/build.ts';
import { APPS } from '../helpers/apps.ts';

export default async function setup(): Promise<void> {
  const started = performance.now();
  for (const manifest of Object.values(APPS)) {
    await buildApp({ manifest, log: process.env.CI ? (l) => console.log(l) : undefined });
  }
  console.log(`test apps built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
