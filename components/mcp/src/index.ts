/**
 * `mcp`: placeholder until the component is written; every request gets a JSON 501.
 *
 * @module
 */
import { Hono } from 'hono';
import { fire } from '../../../shared/http/fire.ts';

const app = new Hono();
app.all('*', (c) => c.json({ error: { code: 'not_implemented', message: 'the mcp component is not written yet' } }, 501));

fire(app);
