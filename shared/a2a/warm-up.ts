/**
 * Warm-up of the A2A code paths (see `warmUp` in shared/http/fire.ts): cards, JSON-RPC parsing, the error paths
 * and the task store run once against in-memory stores at build time, so a request does not compile them first.
 * Nothing here reaches the host or the LLM router (no send runs an agent).
 *
 * @module
 */
import type { Hono } from 'hono';
import type { AuthEnv } from '../http/auth.ts';
import { warmUp } from '../http/fire.ts';

/** Requests that exercise an A2A endpoint at `path` (with its card under `cardPath`) without running an agent. */
export function warmUpA2A(app: Hono<AuthEnv>, path: string, cardPath: string): void {
  const rpc = (method: string, params: unknown, headers: Record<string, string> = {}) =>
    new Request(`http://warm.up${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
  // NOTE: the success paths are not warmed: creating a task draws random ids, and randomness traps during Wizer.
  warmUp(() => {
    void (async () => {
      await app.fetch(new Request(`http://warm.up${cardPath}`, { headers: { 'a2a-version': '1.0' } }));
      await app.fetch(new Request(`http://warm.up${cardPath}`));
      await app.fetch(
        new Request(`http://warm.up${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":' }),
      );
      await app.fetch(rpc('GetTask', { id: 'warm' }, { 'a2a-version': '1.0' }));
      await app.fetch(rpc('tasks/get', { id: 'warm' }));
      await app.fetch(rpc('ListTasks', { pageSize: 5 }, { 'a2a-version': '1.0' }));
      await app.fetch(rpc('SendMessage', { message: { messageId: 'm', role: 'ROLE_USER', parts: [] } }, { 'a2a-version': '1.0' }));
      await app.fetch(
        rpc('message/send', { message: { kind: 'message', messageId: 'm', role: 'user', parts: [{ kind: 'file', file: { uri: 'x' } }] } }),
      );
      await app.fetch(rpc('NoSuchMethod', {}));
    })();
  });
}
