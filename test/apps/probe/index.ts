/**
 * A guest for host tests: one component, many behaviours, selected by the path inside its route
 * (`spin-path-info`). Several manifest components share this source with different grants.
 */
import { Store } from 'fermyon:spin/key-value@2.0.0';
import { get as getVariable } from 'fermyon:spin/variables@2.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError } from '../../../shared/spin/errors.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const info = request.headers.get('spin-path-info') ?? url.pathname;
  const [, action = '', ...rest] = info.split('/');
  const arg = rest.join('/');
  switch (action) {
    case 'echo': {
      const headers: Record<string, string> = {};
      for (const [k, v] of request.headers) headers[k] = v;
      const body = await request.text();
      return json({ method: request.method, url: request.url, headers, body, bodyLength: body.length });
    }
    case 'status':
      return new Response(`status ${arg}`, { status: Number(arg) });
    case 'empty':
      return new Response(null, { status: 204 });
    case 'stream': {
      // n chunks, delay ms apart: /stream/<n>/<delay>
      const [n = '3', delay = '10'] = rest;
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (i >= Number(n)) return controller.close();
          await new Promise((r) => setTimeout(r, Number(delay)));
          controller.enqueue(enc.encode(`chunk ${i++}\n`));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/plain' } });
    }
    case 'sleep':
      await new Promise((r) => setTimeout(r, Number(arg)));
      return new Response(`slept ${arg}`);
    case 'clock': {
      // The monotonic clock across a sleep of <arg> ms, and the wall clock.
      const before = performance.now();
      await new Promise((r) => setTimeout(r, Number(arg)));
      return json({ elapsedMs: performance.now() - before, wallMs: Date.now() });
    }
    case 'log':
      console.log(`stdout line: ${arg}`);
      console.error(`stderr line: ${arg}`);
      return new Response('logged');
    case 'throw':
      throw new Error(`thrown on purpose: ${arg}`);
    case 'reject':
      return Promise.reject(new Error('rejected on purpose'));
    case 'kv': {
      // /kv/<label>/<op>/<key>, body = value for set
      const [label = 'default', op = 'get', key = 'k'] = rest;
      try {
        const store = Store.open(label);
        if (op === 'set') {
          store.set(key, enc.encode(await request.text()));
          return new Response('ok');
        }
        if (op === 'get') {
          const v = store.get(key);
          return v === undefined ? new Response('missing', { status: 404 }) : new Response(dec.decode(v));
        }
        if (op === 'delete') {
          store.delete(key);
          return new Response('ok');
        }
        if (op === 'exists') return new Response(String(store.exists(key)));
        if (op === 'keys') return json(store.getKeys().sort());
        return new Response(`unknown op ${op}`, { status: 400 });
      } catch (err) {
        return new Response(describeSpinError(err), { status: 500 });
      }
    }
    case 'var':
      try {
        return new Response(getVariable(arg));
      } catch (err) {
        return new Response(describeSpinError(err), { status: 500 });
      }
    case 'fetch': {
      // /fetch?url=<target>&method=&body= : fetch and report status, headers and body
      const target = url.searchParams.get('url') ?? '';
      try {
        const method = url.searchParams.get('method') ?? 'GET';
        const body = url.searchParams.get('body');
        const r = await fetch(target, { method, ...(body !== null ? { body } : {}) });
        const headers: Record<string, string> = {};
        for (const [k, v] of r.headers) headers[k] = v;
        return json({ status: r.status, headers, body: await r.text() });
      } catch (err) {
        return json({ error: err instanceof Error ? err.message : String(err) }, 502);
      }
    }
    case 'loop': {
      // /loop/<var|kv|none>/<n>: n host calls, for measuring the per-call cost of the host's import path
      const [what = 'none', count = '0'] = rest;
      const n = Number(count);
      const store = what === 'kv' ? Store.open('default') : undefined;
      let x = 0;
      for (let i = 0; i < n; i++) {
        if (what === 'var') x += getVariable('greeting').length;
        else if (store) x += store.exists('k') ? 1 : 0;
        else x += i;
      }
      return new Response(String(x));
    }
    case 'env':
      return json({ note: 'environment is not visible to StarlingMonkey guests' });
    default:
      return new Response(`probe: unknown action '${action}'`, { status: 404 });
  }
}

fire({ fetch: handle });
