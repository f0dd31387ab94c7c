/**
 * `workflow`: durable workflows (the built-in SPARC and user-defined step graphs) under `/api/v1/workflows`,
 * checkpointed in the key-value store `workflows` (the executor lease by compare-and-swap through
 * `wasi:keyvalue/atomics` on the same store); steps reach the agents at `agents_url`. See
 * `shared/workflow/app.ts` for the routes and `shared/workflow/engine.ts` for the durability model.
 *
 * @module
 */
import { memoryKv } from '../../../shared/agents/registry.ts';
import { COMPONENTS } from '../../../shared/build-info.ts';
import { fire, warmUp } from '../../../shared/http/fire.ts';
import { memoryAtomicKv } from '../../../shared/spin/atomic-kv.ts';
import { KeyValue } from '../../../shared/spin/key-value.ts';
import { variable } from '../../../shared/spin/variables.ts';
import { AtomicStore } from '../../../shared/spin/wasi-keyvalue.ts';
import { workflowApp } from '../../../shared/workflow/app.ts';
import { WorkflowStore } from '../../../shared/workflow/store.ts';

/** Default lease period; a crashed executor's run can be resumed this long after its last heartbeat. */
const DEFAULT_LEASE_MS = 30_000;

function positiveInt(name: string, fallback: number): number {
  const n = Number(variable(name) ?? '');
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Agent kinds are the `agent-<kind>` components of this build. */
const KINDS = COMPONENTS.filter((c) => c.startsWith('agent-')).map((c) => c.slice('agent-'.length));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let kv: KeyValue | undefined;
let atomic: AtomicStore | undefined;
const app = workflowApp({
  store: new WorkflowStore(
    () => (kv ??= KeyValue.open('workflows')),
    () => (atomic ??= AtomicStore.open('workflows')),
  ),
  apiKeys: () => variable('api_keys'),
  agentsUrl: () => (variable('agents_url') ?? 'http://self.alt').replace(/\/+$/, ''),
  kinds: () => (KINDS.length > 0 ? KINDS : null),
  lease: () => ({
    ttlMs: positiveInt('lease_ms', DEFAULT_LEASE_MS),
    now: () => Date.now(),
    sleep,
  }),
  now: () => Date.now(),
});

warmUp(() => {
  // The routes that need no agent, over an in-memory store: validation, definitions, run creation and views.
  const mem = memoryKv();
  const memAtomic = memoryAtomicKv();
  const warm = workflowApp({
    store: new WorkflowStore(
      () => mem,
      () => memAtomic,
    ),
    apiKeys: () => '',
    agentsUrl: () => 'http://warm.up',
    kinds: () => ['coder', 'researcher', 'reviewer'],
    lease: () => ({ ttlMs: 1000, now: () => 0, sleep: async () => undefined }),
    now: () => 0,
  });
  const base = 'http://warm.up/api/v1/workflows';
  const steps: [string, string, unknown?][] = [
    [
      'POST',
      '/definitions',
      {
        id: 'warm',
        name: 'Warm',
        steps: [
          { id: 'a', agent: 'coder', prompt: 'Do {{input}}', retry: { maxAttempts: 2 } },
          { id: 'gate', type: 'approval', message: 'ok? {{steps.a.output}}', when: { step: 'a', contains: 'x' } },
          { id: 'b', agent: 'reviewer/ann', prompt: '{{steps.a.output}}', next: [{ when: { step: 'a', matches: '^y' }, goto: 'end' }] },
        ],
      },
    ],
    ['POST', '/definitions', { id: 'bad', name: 'Bad', steps: [{ id: 'a', agent: 'nope', prompt: '{{steps.z.output}}', next: 'a' }] }],
    ['GET', '/definitions'],
    ['GET', '/definitions/sparc'],
    ['POST', '/runs', { template: 'sparc', input: 'warm', idempotencyKey: 'w' }],
    ['POST', '/runs', { template: 'sparc', input: 'warm', idempotencyKey: 'w' }],
    ['GET', '/runs?status=pending&limit=1'],
    ['GET', '/runs/000000000000000000000000'],
    ['POST', '/runs', '{"template":'],
  ];
  void (async () => {
    for (const [method, path, body] of steps)
      await warm.fetch(
        new Request(`${base}${path}`, {
          method,
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        }),
      );
  })();
  void app.fetch(new Request('http://warm.up/no-such-route'));
});

fire(app);
