/**
 * The router behind the platform's API keys: model calls need `invoke`, budget changes `admin`, the rest `read`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

let app: TestApp;
const keys = { read: 'r-key-0123456789', invoke: 'i-key-0123456789', admin: 'a-key-0123456789' };

beforeAll(async () => {
  app = await startApp(APPS.main, {
    runtimeConfigFile: new URL('../../runtime-config.toml', import.meta.url).pathname,
    variables: new Map([['api_keys', `read:plain:${keys.read},invoke:plain:${keys.invoke},admin:plain:${keys.admin}`]]),
  });
});
afterAll(() => app?.close());

const call = (path: string, key?: string, init: RequestInit = {}) =>
  fetch(`${app.url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
  });

describe('router endpoints with API keys configured', () => {
  it('refuses requests without a valid key', async () => {
    const none = await call('/v1/models');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await call('/v1/models', 'wrong-key')).status).toBe(401);
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
    const err = await client.models.list().catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
  });

  it('needs invoke for model calls, admin for budget changes, read for the rest', async () => {
    const chat = JSON.stringify({ model: 'builtin/offline', messages: [{ role: 'user', content: 'hi' }] });
    expect((await call('/v1/models', keys.read)).status).toBe(200);
    expect((await call('/v1/chat/completions', keys.read, { method: 'POST', body: chat })).status).toBe(403);
    expect((await call('/v1/chat/completions', keys.invoke, { method: 'POST', body: chat })).status).toBe(200);
    const budget = JSON.stringify({ dailyTokens: 10 });
    expect((await call('/api/v1/budgets/agent:x', keys.invoke, { method: 'PUT', body: budget })).status).toBe(403);
    expect((await call('/api/v1/budgets/agent:x', keys.admin, { method: 'PUT', body: budget })).status).toBe(200);
    expect((await call('/api/v1/budgets/agent:x', keys.read)).status).toBe(200);
    expect((await call('/api/v1/usage', keys.read)).status).toBe(200);
    expect((await call('/api/v1/providers', keys.read)).status).toBe(200);
  });

  it('counts usage under the key that made the call', async () => {
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: keys.invoke, maxRetries: 0 });
    await client.chat.completions.create({ model: 'builtin/offline', messages: [{ role: 'user', content: 'count me' }] });
    const usage = (await (await call('/api/v1/usage', keys.read)).json()) as { items: { scope: string; usage: { requests: number } }[] };
    expect(usage.items.some((i) => i.scope.startsWith('key:') && i.usage.requests >= 1)).toBe(true);
  });
});
