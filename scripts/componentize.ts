/**
 * Componentizes one bundled ES module (run as a child process by `build.ts`, one per component, in parallel).
 *
 *   node scripts/componentize.ts <bundle.js> <wit-dir> <world> <out.wasm>
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';

// NOTE: componentize-js runs its WIT resolver as a component on preview2-shim, which starts with no preopened
// directories and then cannot read the WIT folder ("No such file or directory (os error 44)").
// @ts-expect-error preview2-shim types the values as descriptors; its Node implementation takes host paths.
_setPreopens({ '/': '/' });
const { componentize } = await import('@bytecodealliance/componentize-js');

const [sourcePath, witPath, worldName, out] = process.argv.slice(2);
if (!sourcePath || !witPath || !worldName || !out) {
  console.error('usage: node scripts/componentize.ts <bundle.js> <wit-dir> <world> <out.wasm>');
  process.exit(2);
}
const { component } = await componentize({ sourcePath, witPath, worldName });
await writeFile(out, component);
