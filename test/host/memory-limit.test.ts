/**
 * Runtime config `max_instance_memory`: an instance's linear memory cannot grow past it, so a guest that allocates
 * without bound gets an out-of-memory error (the sandbox reports it as `kind: "memory"`) instead of taking the host
 * to gigabytes, and the host keeps serving. Without the limit the same run would need far more than the cap.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { startApp, tempDir, type TestApp } from '../helpers/host.ts';

const LIMIT = 96 * 1024 * 1024;
let app: TestApp;
const dir = tempDir();

beforeAll(async () => {
  const rc = join(dir.path, 'runtime-config.toml');
  writeFileSync(rc, `max_instance_memory = ${LIMIT}\n`);
  app = await startApp(APPS.sandbox, { runtimeConfigFile: rc });
});

afterAll(async () => {
  await app?.close();
  dir.remove();
});

async function execute(
  code: string,
): Promise<{ status: number; body: { result: unknown; error: { kind: string; message: string } | null } }> {
  const r = await fetch(new URL('/execute', app.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, timeoutMs: 5000 }),
  });
  return { status: r.status, body: (await r.json()) as never };
}

describe('max_instance_memory', () => {
  it('stops a guest that allocates past the limit, and the host keeps serving', async () => {
    // Keeps 1 MiB buffers alive until memory runs out: 200 of them would need twice the limit.
    const r = await execute('const keep = []; for (let i = 0; i < 200; i++) keep.push(new Float64Array(1 << 17).fill(i)); keep.length');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.error?.kind, JSON.stringify(r.body)).toBe('memory');
    const after = await execute('6 * 7');
    expect(after.body.result).toBe(42);
  });

  it('lets a guest use memory below the limit', async () => {
    const r = await execute('const keep = []; for (let i = 0; i < 16; i++) keep.push(new Float64Array(1 << 17).fill(i)); keep.length');
    expect(r.body.error).toBeNull();
    expect(r.body.result).toBe(16);
  });
});
