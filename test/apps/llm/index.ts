/**
 * A guest for the `fermyon:spin/llm` host tests, selected by the path inside its route (`spin-path-info`):
 * - `/infer?model=&prompt=[&params=<inferencing-params as JSON>]` → `{ text, usage }`;
 * - `/embed?model=&text=…&text=…` → `{ embeddings, usage }`.
 * A Spin error answers 500 with its Rust SDK rendering (`Error::InvalidInput("…")`).
 */
import { generateEmbeddings, infer, type InferencingParams } from 'fermyon:spin/llm@2.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError } from '../../../shared/spin/errors.ts';

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

function handle(request: Request): Response {
  const url = new URL(request.url);
  const action = (request.headers.get('spin-path-info') ?? url.pathname).split('/')[1] ?? '';
  const model = url.searchParams.get('model') ?? '';
  try {
    if (action === 'infer') {
      const params = url.searchParams.get('params');
      const prompt = url.searchParams.get('prompt') ?? '';
      const r = params === null ? infer(model, prompt) : infer(model, prompt, JSON.parse(params) as InferencingParams);
      return json({ text: r.text, usage: r.usage });
    }
    if (action === 'embed') {
      const r = generateEmbeddings(model, url.searchParams.getAll('text'));
      return json({ embeddings: r.embeddings.map((e) => Array.from(e)), usage: r.usage });
    }
    return new Response(`llm: unknown action '${action}'`, { status: 404 });
  } catch (err) {
    return new Response(describeSpinError(err), { status: 500 });
  }
}

fire({ fetch: handle });
