/**
 * Push notifications: a POST of the task to every webhook configured for it, whenever its status changes.
 *
 * The payload follows the version the config was created with: v1.0 configs get a `StreamResponse` holding the
 * task (`{"task": …}`, `Content-Type: application/a2a+json`, §4.3.3), v0.3 configs the bare task object
 * (`application/json`). The config's token goes in `X-A2A-Notification-Token`, its authentication (if any) in
 * `Authorization: <scheme> <credentials>`.
 *
 * NOTE: the component's `allowed_outbound_hosts` decide which webhooks are reachable (`{{ a2a_push_hosts }}`,
 * default `https://*:443`); a refused or failing delivery is logged and never fails the task. Deliveries wait at
 * most {@link PUSH_TIMEOUT_MS}, since the instance must finish them inside the request.
 *
 * @module
 */
import { taskToV03, taskToV1, type StoredPushConfig, type StoredTask } from '../protocol/a2a.ts';
import type { TaskStore } from './tasks.ts';

export const PUSH_TIMEOUT_MS = 5000;

export function pushPayload(config: StoredPushConfig, task: StoredTask): { body: string; contentType: string } {
  return config.version === '1.0'
    ? { body: JSON.stringify({ task: taskToV1(task) }), contentType: 'application/a2a+json' }
    : { body: JSON.stringify(taskToV03(task)), contentType: 'application/json' };
}

async function post(config: StoredPushConfig, task: StoredTask): Promise<void> {
  const { body, contentType } = pushPayload(config, task);
  const headers: Record<string, string> = { 'content-type': contentType };
  if (config.token) headers['x-a2a-notification-token'] = config.token;
  if (config.authentication?.credentials) headers.authorization = `${config.authentication.scheme} ${config.authentication.credentials}`;
  // fetch ignores AbortSignal in the guest: race it with a timer instead.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), PUSH_TIMEOUT_MS)));
  try {
    const result = await Promise.race([fetch(config.url, { method: 'POST', headers, body }), timeout]);
    if (result === 'timeout') console.error(`a2a: push to ${config.url} for task ${task.id} timed out`);
    else {
      if (!result.ok) console.error(`a2a: push to ${config.url} for task ${task.id} answered ${result.status}`);
      await result.body?.cancel();
    }
  } catch (err) {
    console.error(`a2a: push to ${config.url} for task ${task.id} failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Delivers the task's current state to each of its webhooks, concurrently. */
export async function deliverPush(store: TaskStore, task: StoredTask): Promise<void> {
  let configs: StoredPushConfig[];
  try {
    configs = store.listPush(task.id);
  } catch (err) {
    console.error(`a2a: cannot read push configs of task ${task.id}: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  if (configs.length === 0) return;
  await Promise.all(configs.map((c) => post(c, task)));
}
