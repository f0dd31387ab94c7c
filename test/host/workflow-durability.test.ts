/**
 * Crash recovery of workflow runs with a real host process: the host (`edge-agents up`, a child process) keeps its
 * key-value stores in SQLite files in a temporary directory; it is killed with SIGKILL while a SPARC phase waits on
 * the (deliberately slow) LLM fixture, restarted on the same files, and the run is resumed by two concurrent
 * requests. The fixture's request log, which lives in this process and so survives the crash, proves that the
 * completed phase was not executed again, that the interrupted phase was executed again exactly once, and that only
 * one of the two resumes ran anything.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLlmFixture, type LlmFixture, type LoggedRequest } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { startHostProcess, tempDir, type HostProcess } from '../helpers/host.ts';

/** Lease period of the restarted host's executor: how long after the crash the run can be resumed. */
const LEASE_MS = 1500;
/** How long the test waits for the crashed executor's lease to expire. */
const RESUME_DEADLINE_MS = 30_000;

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
    if (lines.length === 0) continue;
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
    const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '{}';
    events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
  }
  return events;
}

function userMessage(r: LoggedRequest): string {
  const messages = (r.body as { messages?: { role: string; content: string }[] } | undefined)?.messages ?? [];
  return messages.findLast((m) => m.role === 'user')?.content ?? '';
}

/** The SPARC phase (1-5) a chat request belongs to, from the start of its prompt. */
const phaseOf = (r: LoggedRequest) => Number(/^SPARC phase (\d) of 5/.exec(userMessage(r))?.[1] ?? 0);

/**
 * Resolves once a logged request matches. Polls the live log: the fixture announces a request before its body is
 * parsed and next when it is answered, so `fixture.waitFor` on the body would only fire after the answer.
 */
async function arrived(predicate: (r: LoggedRequest) => boolean, timeoutMs = 60_000): Promise<LoggedRequest> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = fixture.requests.find(predicate);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no matching fixture request within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let fixture: LlmFixture;
let dir: { path: string; remove(): void };
let host: HostProcess | undefined;

beforeAll(async () => {
  fixture = await startLlmFixture();
  dir = tempDir('edge-agents-wf-durability-');
  const labels = ['agents', 'memory', 'router', 'workflows', 'tasks'];
  writeFileSync(
    join(dir.path, 'runtime-config.toml'),
    labels.map((l) => `[key_value_store.${l}]\ntype = "spin"\npath = "${l}.db"\n`).join('\n'),
  );
});

afterAll(async () => {
  await host?.stop('SIGKILL');
  await fixture?.close();
  dir?.remove();
});

function start(): Promise<HostProcess> {
  const model = JSON.stringify({ chat: [{ provider: 'local', model: 'fixture-chat' }] });
  return startHostProcess([
    '-f',
    APPS.main,
    '--runtime-config-file',
    join(dir.path, 'runtime-config.toml'),
    '--state-dir',
    dir.path,
    '--variable',
    `localai_url=${fixture.url}`,
    '--variable',
    `model_map=${model}`,
    '--variable',
    'router_cache_ttl_seconds=0',
    '--variable',
    'router_max_retries=0',
    '--variable',
    `workflow_lease_ms=${LEASE_MS}`,
    '-q',
  ]);
}

it('resumes a SPARC run after the host is killed mid-step, without re-running completed steps, once', async () => {
  host = await start();
  const created = await fetch(`${host.url}/api/v1/workflows/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'sparc', input: 'A rate limiter for an HTTP API.' }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };

  // Every model call takes 1.5 s, so phase 2 is still waiting on the fixture when the host dies.
  fixture.setBehaviour({ latencyMs: 1500 });
  const interrupted = fetch(`${host.url}/api/v1/workflows/runs/${id}/run`, { method: 'POST', headers: { accept: 'text/event-stream' } })
    .then((r) => r.text())
    .catch((err: unknown) => `interrupted: ${String(err)}`);
  await arrived((r) => phaseOf(r) === 2);
  await host.stop('SIGKILL');
  host = undefined;
  expect(await interrupted).toMatch(/step_completed|interrupted/);
  expect(fixture.requests.filter((r) => r.path === '/v1/chat/completions').map(phaseOf)).toEqual([1, 2]);

  // Restart on the same files: the run is still `running`, with phase 1 completed and the cursor on phase 2.
  fixture.setBehaviour({ latencyMs: 100 });
  host = await start();
  const url = host.url;
  const before = (await (await fetch(`${url}/api/v1/workflows/runs/${id}`)).json()) as {
    status: string;
    current: string;
    steps: { id: string; status: string; output: string | null }[];
  };
  expect(before.status).toBe('running');
  expect(before.current).toBe('pseudocode');
  expect(before.steps.map((s) => s.status)).toEqual(['completed', 'running', 'pending', 'pending', 'pending']);
  const specOutput = before.steps[0]!.output;

  // Two resumes at once, repeated while the crashed executor's lease has not expired (both answer 409 then).
  const resume = () =>
    fetch(`${url}/api/v1/workflows/runs/${id}/resume`, { method: 'POST', headers: { accept: 'text/event-stream' } }).then(async (r) => ({
      status: r.status,
      text: await r.text(),
    }));
  const deadline = Date.now() + RESUME_DEADLINE_MS;
  let pair: { status: number; text: string }[];
  for (;;) {
    pair = await Promise.all([resume(), resume()]);
    if (pair.some((r) => r.status !== 409) || Date.now() > deadline) break;
    for (const r of pair) expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'run_in_progress' } });
    await sleep(200);
  }
  expect(pair.map((r) => r.status).sort()).toEqual([200, 409]);
  const winner = parseSse(pair.find((r) => r.status === 200)!.text);
  expect(winner.map((e) => `${e.event}:${String(e.data.step ?? '')}`)).toEqual([
    'run_started:',
    'step_started:pseudocode',
    'step_completed:pseudocode',
    'step_started:architecture',
    'step_completed:architecture',
    'step_started:refinement',
    'step_completed:refinement',
    'step_started:completion',
    'step_completed:completion',
    'run_completed:',
  ]);
  expect(winner[0]!.data).toMatchObject({ completedSteps: ['specification'], resumedAt: 'pseudocode' });
  expect(winner.find((e) => e.event === 'step_started' && e.data.step === 'pseudocode')!.data.attempt).toBe(2);

  // The fixture saw phase 1 once, phase 2 twice (the attempt cut by the crash, and the resumed one), the rest once.
  const phases = fixture.requests.filter((r) => r.path === '/v1/chat/completions').map(phaseOf);
  expect(phases).toEqual([1, 2, 2, 3, 4, 5]);
  const [cut, redone] = fixture.requests.filter((r) => phaseOf(r) === 2);
  expect(cut!.outcome).not.toBe('ok');
  expect(redone!.outcome).toBe('ok');

  const after = (await (await fetch(`${url}/api/v1/workflows/runs/${id}`)).json()) as {
    status: string;
    steps: { id: string; attempts: number; failures: number; output: string | null }[];
  };
  expect(after.status).toBe('completed');
  expect(after.steps.map((s) => [s.id, s.attempts, s.failures])).toEqual([
    ['specification', 1, 0],
    ['pseudocode', 2, 0],
    ['architecture', 1, 0],
    ['refinement', 1, 0],
    ['completion', 1, 0],
  ]);
  expect(after.steps[0]!.output).toBe(specOutput);
}, 180_000);
