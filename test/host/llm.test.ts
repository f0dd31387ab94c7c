/**
 * `fermyon:spin/llm@2.0.0`: a real guest against the OpenAI-compatible fixture (`api_type = "open_ai"`), model
 * grants and the no-engine error; the import alone for Spin's own remote protocol, timeouts and odd answers.
 */
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_LLM_UNSUPPORTED, llmImport, modelAccessDenied } from '../../host/spin/llm.ts';
import { fixtureEmbedding, startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS } from '../helpers/apps.ts';
import { startApp, tempDir, type TestApp } from '../helpers/host.ts';

const CHAT = 'llama2-chat';
const EMBED = 'all-minilm-l6-v2';

let fixture: LlmFixture;
let app: TestApp;
let bare: TestApp;
const dir = tempDir('edge-agents-llm-');

beforeAll(async () => {
  fixture = await startLlmFixture({ models: [CHAT, EMBED], requireApiKey: 't', embeddingDimensions: 16 });
  const config = join(dir.path, 'runtime-config.toml');
  writeFileSync(config, `[llm_compute]\ntype = "remote_http"\nurl = "${fixture.url}"\nauth_token = "t"\napi_type = "open_ai"\n`);
  [app, bare] = await Promise.all([startApp(APPS.llm, { runtimeConfigFile: config }), startApp(APPS.llm)]);
});

afterAll(async () => {
  await Promise.all([app?.close(), bare?.close(), fixture?.close()]);
  dir.remove();
});

beforeEach(() => {
  fixture.clearLog();
  fixture.setBehaviour({ failure: null });
});

const get = (base: TestApp, path: string) => fetch(new URL(path, base.url));
const query = (params: Record<string, string | string[]>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) q.append(k, x);
  return q.toString();
};

describe('infer over an OpenAI-compatible upstream', () => {
  it('returns the upstream text and usage; default params are mapped and the token is sent', async () => {
    const r = await get(app, `/granted/infer?${query({ model: CHAT, prompt: 'Say hi' })}`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ text: 'Fixture answer to: Say hi', usage: { promptTokenCount: 8, generatedTokenCount: 6 } });
    const [req] = fixture.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200 });
    expect(req!.headers.authorization).toBe('Bearer t');
    expect(req!.body).toEqual({
      model: CHAT,
      messages: [{ role: 'user', content: 'Say hi' }],
      max_tokens: 100,
      temperature: 0.8,
      top_p: 0.9,
      frequency_penalty: 0.1,
    });
  });

  it('maps explicit params; a repeat penalty of at most 1 sends no penalty', async () => {
    const params = { maxTokens: 3, repeatPenalty: 0, repeatPenaltyLastNTokenCount: 0, temperature: 0, topK: 1, topP: 1 };
    const r = await get(app, `/granted/infer?${query({ model: CHAT, prompt: 'one two three four', params: JSON.stringify(params) })}`);
    expect(await r.json()).toEqual({ text: 'Fixture answer to', usage: { promptTokenCount: 10, generatedTokenCount: 3 } });
    expect(fixture.requests[0]!.body).toEqual({
      model: CHAT,
      messages: [{ role: 'user', content: 'one two three four' }],
      max_tokens: 3,
      temperature: 0,
      top_p: 1,
    });
  });

  it('an upstream error status is a runtime-error with the status and message', async () => {
    fixture.setBehaviour({ failure: { status: 500 } });
    const r = await get(app, `/granted/infer?${query({ model: CHAT, prompt: 'x' })}`);
    expect(r.status).toBe(500);
    expect(await r.text()).toBe('Error::RuntimeError("500 The server had an error while processing your request (llm-fixture).")');
  });

  it('an unknown upstream model is a runtime-error too', async () => {
    fixture.setBehaviour({ models: [EMBED] });
    try {
      const r = await get(app, `/granted/infer?${query({ model: CHAT, prompt: 'x' })}`);
      expect(await r.text()).toBe(`Error::RuntimeError("404 The model \`${CHAT}\` does not exist or you do not have access to it.")`);
    } finally {
      fixture.setBehaviour({ models: [CHAT, EMBED] });
    }
  });
});

describe('generate-embeddings over an OpenAI-compatible upstream', () => {
  it('returns one vector of the upstream dimension per text, in order, with usage', async () => {
    const texts = ['hello world', 'edge agents'];
    const r = await get(app, `/granted/embed?${query({ model: EMBED, text: texts })}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { embeddings: number[][]; usage: { promptTokenCount: number } };
    expect(body.embeddings.map((e) => e.length)).toEqual([16, 16]);
    expect(body.embeddings).toEqual(texts.map((t) => Array.from(fixtureEmbedding(t, 16))));
    expect(body.usage).toEqual({ promptTokenCount: 4 });
    expect(fixture.requests[0]).toMatchObject({ path: '/v1/embeddings', body: { model: EMBED, input: texts } });
    expect(fixture.requests[0]!.headers.authorization).toBe('Bearer t');
  });

  it('an upstream error status is a runtime-error', async () => {
    fixture.setBehaviour({ failure: { status: 503 } });
    const r = await get(app, `/granted/embed?${query({ model: EMBED, text: 'x' })}`);
    expect(await r.text()).toBe('Error::RuntimeError("503 The server is overloaded or not ready yet (llm-fixture).")');
  });
});

describe('model grants and engines', () => {
  it('a model missing from ai_models is invalid-input with Spin’s text, and the upstream is not asked', async () => {
    for (const path of [
      `/ungranted/infer?${query({ model: CHAT, prompt: 'x' })}`,
      `/granted/embed?${query({ model: 'gpt-4o', text: 'x' })}`,
    ]) {
      const model = path.startsWith('/ungranted') ? CHAT : 'gpt-4o';
      const r = await get(app, path);
      expect(r.status).toBe(500);
      expect(await r.text()).toBe(`Error::InvalidInput(${JSON.stringify(modelAccessDenied(model))})`);
    }
    expect(modelAccessDenied('m')).toBe(
      "The component does not have access to use 'm'. To give the component access, add 'm' to the 'ai_models' key for the component in your spin.toml manifest",
    );
    expect(fixture.requests).toHaveLength(0);
  });

  it('without [llm_compute] a granted model is runtime-error: local LLM unsupported', async () => {
    for (const path of [`/granted/infer?${query({ model: CHAT, prompt: 'x' })}`, `/granted/embed?${query({ model: EMBED, text: 'x' })}`]) {
      const r = await get(bare, path);
      expect(r.status).toBe(500);
      expect(await r.text()).toBe('Error::RuntimeError("Local LLM operations are not supported in this version of Spin.")');
    }
  });
});

describe('llmImport without a guest', () => {
  let server: http.Server;
  let url = '';
  const seen: { path: string; auth: string | undefined; body: unknown }[] = [];
  let answer: (path: string) => { status?: number; body: string; hang?: boolean } = () => ({ body: '{}' });

  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += String(c);
      seen.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(text) });
      const a = answer(req.url ?? '');
      if (a.hang) return;
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(a.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    // A path in the URL is replaced by the endpoint's, as Spin's `Url::join` does.
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ignored/prefix`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => void (seen.length = 0));

  const spinApi = (timeoutMs?: number) =>
    llmImport({ type: 'remote_http', url, authToken: 'k', apiType: 'default' }, ['m'], timeoutMs ? { timeoutMs } : {});

  it('api_type = "default" speaks Spin’s /infer and /embed protocol', async () => {
    answer = (path) =>
      path === '/infer'
        ? { body: JSON.stringify({ text: 'hi', usage: { promptTokenCount: 2, generatedTokenCount: 1 } }) }
        : { body: JSON.stringify({ embeddings: [[0.5, 0.25]], usage: { promptTokenCount: 3 } }) };
    const llm = spinApi();
    expect(await llm.infer('m', 'p', undefined)).toEqual({ text: 'hi', usage: { promptTokenCount: 2, generatedTokenCount: 1 } });
    const e = await llm.generateEmbeddings('m', ['a']);
    expect(e.embeddings.map((v) => Array.from(v))).toEqual([[0.5, 0.25]]);
    expect(e.usage).toEqual({ promptTokenCount: 3 });
    expect(seen).toEqual([
      {
        path: '/infer',
        auth: 'Bearer k',
        body: {
          model: 'm',
          prompt: 'p',
          options: { maxTokens: 100, repeatPenalty: 1.1, repeatPenaltyLastNTokenCount: 64, temperature: 0.8, topK: 40, topP: 0.9 },
        },
      },
      { path: '/embed', auth: 'Bearer k', body: { model: 'm', input: ['a'] } },
    ]);
  });

  it('malformed answers, non-JSON error bodies and timeouts are runtime-errors', async () => {
    answer = () => ({ body: '{"nope":1}' });
    await expect(spinApi().infer('m', 'p', undefined)).rejects.toEqual({
      tag: 'runtime-error',
      val: 'Failed to deserialize response for "POST /infer": missing field `text`',
    });
    answer = () => ({ status: 502, body: '<html>bad gateway</html>' });
    await expect(spinApi().generateEmbeddings('m', ['a'])).rejects.toEqual({ tag: 'runtime-error', val: '502 <html>bad gateway</html>' });
    answer = () => ({ body: '', hang: true });
    await expect(spinApi(100).infer('m', 'p', undefined)).rejects.toEqual({
      tag: 'runtime-error',
      val: 'POST /infer request error: timed out after 100 ms',
    });
  });

  it('type = "spin" has no engine; grants are checked first', async () => {
    const llm = llmImport({ type: 'spin' }, ['m']);
    await expect(llm.infer('m', 'p', undefined)).rejects.toEqual({ tag: 'runtime-error', val: LOCAL_LLM_UNSUPPORTED });
    await expect(llm.generateEmbeddings('x', [])).rejects.toEqual({ tag: 'invalid-input', val: modelAccessDenied('x') });
  });
});
