/**
 * `api`: the platform's REST API (agent registry and conversations arrive with the agents) and `/health`.
 *
 * @module
 */
import { Hono } from 'hono';
import { COMPONENTS, VERSION } from '../../../shared/build-info.ts';
import { fire, warmUp } from '../../../shared/http/fire.ts';
import { notFound, onError } from '../../../shared/http/errors.ts';
import { KeyValue } from '../../../shared/spin/key-value.ts';
import { describeSpinError } from '../../../shared/spin/errors.ts';

const app = new Hono();

app.get('/health', (c) => {
  let kv: { status: 'ok' } | { status: 'error'; error: string };
  try {
    KeyValue.open('agents').exists('health-probe');
    kv = { status: 'ok' };
  } catch (err) {
    kv = { status: 'error', error: describeSpinError(err) };
  }
  const healthy = kv.status === 'ok';
  return c.json(
    { status: healthy ? 'ok' : 'degraded', version: VERSION, components: COMPONENTS, checks: { keyValue: kv } },
    healthy ? 200 : 503,
  );
});

app.notFound(notFound);
app.onError(onError);

warmUp(() => void app.fetch(new Request('http://warm.up/no-such-route')));

fire(app);
