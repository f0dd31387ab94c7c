/**
 * The router with no model server reachable (a closed port) and no cloud key: chat and embeddings are answered by
 * the built-in offline provider, through the official `openai` client, and labelled as such.
 */
import net from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APPS } from '../helpers/apps.ts';
import { startApp, type TestApp } from '../helpers/host.ts';

let app: TestApp;
let client: OpenAI;

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeAll(async () => {
  app = await startApp(APPS.main, {
    runtimeConfigFile: new URL('../../runtime-config.toml', import.meta.url).pathname,
    variables: new Map([['localai_url', `http://127.0.0.1:${await closedPort()}`]]),
  });
  client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(() => app?.close());

it('chat falls back to builtin/offline and says so', async () => {
  const { data, response } = await client.chat.completions
    .create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'Spin apps start in under a millisecond. Kairos is an immutable Linux for edge nodes.' },
        { role: 'user', content: 'What is Kairos?' },
      ],
    })
    .withResponse();
  expect(data.model).toBe('builtin/offline');
  expect(response.headers.get('x-edge-agents-provider')).toBe('builtin');
  expect(response.headers.get('x-edge-agents-attempts')).toMatch(/local\/[^=]+=connection/);
  expect(data.choices[0]!.message.content).toMatch(/^\[offline\] .*Kairos is an immutable Linux for edge nodes/);
  expect(data.usage!.total_tokens).toBeGreaterThan(0);
});

it('streams from the offline provider', async () => {
  const stream = await client.chat.completions.create({
    model: 'builtin/offline',
    messages: [{ role: 'user', content: 'hello' }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) {
    expect(chunk.model).toBe('builtin/offline');
    text += chunk.choices[0]?.delta.content ?? '';
  }
  expect(text).toMatch(/^\[offline\]/);
});

it('embeds with real lexical similarity', async () => {
  const r = await client.embeddings.create({
    model: 'embed',
    input: ['edge agents on small devices', 'agents at the edge on small devices', 'chocolate cake recipe'],
  });
  expect(r.model).toBe('builtin/offline');
  const [a, b, c] = r.data.map((d) => d.embedding);
  const cos = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
  expect(a).toHaveLength(384);
  expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!) + 0.2);
});
