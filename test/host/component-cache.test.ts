/**
 * Regression: components that share one `.wasm` used to race on one temporary transpile directory when loaded
 * in parallel on a cold cache (ENOENT on a core module). They now share one compiled form.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { LoadedComponent } from '../../host/component.ts';
import { ROOT } from '../helpers/apps.ts';
import { tempDir } from '../helpers/host.ts';

it('parallel loads of one .wasm on a cold cache share one transpilation and one compiled form', async () => {
  const cache = tempDir();
  try {
    const wasm = join(ROOT, 'dist/test/probe.wasm');
    const loaded = await Promise.all(['a', 'b', 'c'].map((id) => LoadedComponent.load(id, wasm, { cacheDir: cache.path })));
    expect(readdirSync(cache.path)).toHaveLength(1);
    expect(loaded.map((c) => c.id)).toEqual(['a', 'b', 'c']);
    expect(loaded[0]!.imports).toEqual(loaded[2]!.imports);
    expect(loaded.every((c) => c.stats().pooledMemory)).toBe(true);
    for (const c of loaded) c.dispose();
  } finally {
    cache.remove();
  }
});
