/**
 * The benchmark app: one hono app, served unchanged as a Spin component (`guest.ts`) and on plain Node
 * (`node.ts`), so the two can be compared side by side.
 */
import { Hono } from 'hono';
import { z } from 'zod';

const Greeting = z.object({ name: z.string().min(1).max(64), times: z.number().int().min(1).max(10).default(1) });

export const app = new Hono();

app.get('/hello', (c) => c.json({ hello: 'world' }));

app.post('/greet', async (c) => {
  const parsed = Greeting.safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) return c.json({ error: parsed.error.issues }, 400);
  return c.json({ greeting: Array.from({ length: parsed.data.times }, () => `hello ${parsed.data.name}`).join(' ') });
});

app.get('/fetch', async (c) => {
  const r = await fetch(c.req.query('url') ?? '');
  return c.text(await r.text(), r.status as 200);
});
