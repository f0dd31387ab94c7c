/**
 * The web dashboard end to end: the real `ui` component (and every other component) on the host, the LLM fixture as
 * the model server, an embedded PGlite for knowledge, and headless Chromium driven by playwright-core.
 *
 * Covered: how the component serves the app (content types, ETag/304, caching, CSP, SPA fallback, redirects);
 * creating, filtering, editing and deleting an agent through the forms (client-side and server-side errors inline);
 * chat with the answer streaming in and tool calls shown as they happen; ingesting a file and finding it; a SPARC run
 * from start to finish; the platform page; a phone-sized viewport; keyboard-only use; authentication on (401 → key
 * dialog, 403 shown plainly); and failing API calls that leave the page usable.
 *
 * Screenshots of every page go to test-results/screenshots/ (gitignored).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { parse as parseToml } from 'smol-toml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../host/pglite.ts';
import { startLlmFixture, type LlmFixture } from '../fixtures/llm-fixture.ts';
import { APPS, ROOT } from '../helpers/apps.ts';
import { fixtureVariables, memoryRuntimeConfig, startApp, type TestApp } from '../helpers/host.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-results/screenshots');
/** How long the page may take to show something that needs the server (a SPARC run makes five model calls). */
const UI_TIMEOUT_MS = 30_000;
const ADMIN_KEY = 'ui-test-admin-key';
const READ_KEY = 'ui-test-read-key';

/** Every key-value label the manifest grants, in memory. */
function kvLabels(): string[] {
  const manifest = parseToml(readFileSync(APPS.main, 'utf8')) as { component: Record<string, { key_value_stores?: string[] }> };
  return [...new Set(Object.values(manifest.component).flatMap((c) => c.key_value_stores ?? []))];
}

const cleanups: (() => void | Promise<void>)[] = [];
let fixture: LlmFixture;
let pg: EmbeddedPostgres;
let app: TestApp;
let browser: Browser;

async function start(extra: [string, string][] = []): Promise<TestApp> {
  const rc = memoryRuntimeConfig(kvLabels());
  cleanups.push(rc.remove);
  const variables = fixtureVariables(fixture, [['database_url', pg.url], ['database_host', `postgres://127.0.0.1:${pg.port}`], ...extra]);
  const a = await startApp(APPS.main, { runtimeConfigFile: rc.file, variables });
  cleanups.push(() => a.close());
  return a;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  fixture = await startLlmFixture();
  pg = await startEmbeddedPostgres();
  app = await start();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});

afterAll(async () => {
  await browser?.close();
  for (const c of cleanups.reverse()) await c();
  await pg?.close();
  await fixture?.close();
});

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

const contexts: BrowserContext[] = [];
/** Errors the page threw or logged: a test fails on any it did not expect. */
let pageErrors: string[] = [];

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

async function open(path: string, options: { base?: string; viewport?: { width: number; height: number } } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.goto(`${options.base ?? app.url}${path}`);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the locator's text contains `text`. */
async function waitText(locator: Locator, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor();
}

async function api(method: string, path: string, body?: unknown, base = app.url, key?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  return fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '');

// ---------------------------------------------------------------------------------------------------------------------

describe('serving the app', () => {
  it('redirects / to /ui/ and answers every /ui/ page with index.html (deep links)', async () => {
    const root = await fetch(`${app.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const bare = await fetch(`${app.url}/ui?x=1`, { redirect: 'manual' });
    expect(bare.headers.get('location')).toBe('/ui/?x=1');
    for (const path of ['/ui/', '/ui/agents/coder/ada/chat?c=c1', '/ui/knowledge/notes/documents/d1', '/ui/no/such/page']) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="app"></div>');
    }
  });

  it('serves hashed assets with their content types, immutable caching, ETags and 304s, gzip when accepted', async () => {
    const html = await (await fetch(`${app.url}/ui/`)).text();
    const assets = [...html.matchAll(/(?:href|src)="(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((a) => a.replace(/-[A-Z0-9]+\./, '.')).sort()).toEqual(['assets/icon.svg', 'assets/main.css', 'assets/main.js']);
    const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
    let gzipBytes = 0;
    for (const a of assets) {
      const res = await fetch(`${app.url}/ui/${a}`, { headers: { 'accept-encoding': 'identity' } });
      expect(res.status, a).toBe(200);
      expect(res.headers.get('content-type')).toBe(types[a.split('.').pop()!]);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"[0-9a-f]{20}"$/);
      const body = Buffer.from(await res.arrayBuffer());
      expect(Number(res.headers.get('content-length'))).toBe(body.length);
      const again = await fetch(`${app.url}/ui/${a}`, { headers: { 'if-none-match': etag, 'accept-encoding': 'identity' } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      const gz = await fetch(`${app.url}/ui/${a}`, { headers: { 'accept-encoding': 'gzip, br' }, decompress: false } as RequestInit);
      // Node's fetch decompresses transparently; the header and the validator tell which representation came.
      if (gz.headers.get('content-encoding') === 'gzip') {
        expect(gz.headers.get('etag')).toBe(`${etag.slice(0, -1)}-gz"`);
        expect(gz.headers.get('vary')).toBe('accept-encoding');
        gzipBytes += Number(gz.headers.get('content-length'));
      } else gzipBytes += body.length;
      expect(Buffer.from(await gz.arrayBuffer()).equals(body)).toBe(true);
    }
    // The whole app (page, script, styles, icon) is well under the 200 KB budget.
    const page = await fetch(`${app.url}/ui/`, { headers: { 'accept-encoding': 'gzip' } });
    gzipBytes += Number(page.headers.get('content-length'));
    console.log(`ui: whole app ${gzipBytes} bytes gzipped`);
    expect(gzipBytes).toBeLessThan(200 * 1024);
    // The page revalidates with its ETag too.
    const etag = page.headers.get('etag')!;
    expect((await fetch(`${app.url}/ui/agents`, { headers: { 'if-none-match': etag, 'accept-encoding': 'gzip' } })).status).toBe(304);
  });

  it('sends a strict CSP and answers unknown assets and other methods with JSON errors', async () => {
    const res = await fetch(`${app.url}/ui/`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    const missing = await fetch(`${app.url}/ui/assets/main-NOPE.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const post = await fetch(`${app.url}/ui/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${app.url}/ui/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('agents', () => {
  it('creates an agent through the form, with inline errors first', async () => {
    const page = await open('/');
    await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
    await waitText(page.locator('main'), 'No agents yet');
    await shot(page, 'agents-empty');
    await page.getByRole('link', { name: 'New agent' }).click();
    await page.getByRole('heading', { name: 'New agent' }).waitFor();
    // Bad input: a name that is not a slug, a skill without id, a budget that is not a number.
    await page.locator('#agent-name').fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Add skill' }).click();
    await page.locator('#skill-0-name').fill('TypeScript');
    await page.locator('#budget-daily').fill('lots');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await waitText(page.locator('#form-summary'), '3 fields need attention');
    expect(await page.locator('#agent-name-error').textContent()).toContain('name must be a slug');
    expect(await page.locator('#skill-0-id-error').textContent()).toContain('skill id is required');
    expect(await page.locator('#budget-daily-error').textContent()).toContain('positive whole number');
    expect(await page.locator('#agent-name').getAttribute('aria-invalid')).toBe('true');
    expect(await focusedId(page)).toBe('agent-name');
    await shot(page, 'agent-form-errors');
    // Nothing was sent.
    expect(((await (await api('GET', '/api/v1/agents')).json()) as { items: unknown[] }).items).toEqual([]);

    await page.locator('#agent-name').fill('ada');
    await page.locator('#agent-kind').selectOption('coder');
    await page.locator('#agent-description').fill('Writes small, tested changes.');
    await page.locator('#agent-instructions').fill('You write small, tested changes.');
    await page.getByRole('checkbox', { name: /remember/ }).check();
    await page.getByRole('checkbox', { name: /recall/ }).check();
    await page.locator('#skill-0-id').fill('typescript');
    await page.locator('#skill-0-tags').fill('code, web');
    await page.locator('#budget-daily').fill('100000');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
    const row = page.getByRole('row', { name: /coder\/ada/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('Writes small, tested changes.');
    const stored = (await (await api('GET', '/api/v1/agents/coder/ada')).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({
      name: 'ada',
      kind: 'coder',
      tools: ['remember', 'recall'],
      skills: [{ id: 'typescript', name: 'TypeScript', tags: ['code', 'web'] }],
      budget: { dailyTokens: 100000 },
    });
    await shot(page, 'agents');
  });

  it('shows the server’s answer when it refuses (a duplicate agent is a 409) and stays usable', async () => {
    const page = await open('/ui/agents/new');
    await page.locator('#agent-name').fill('ada');
    await page.locator('#agent-kind').selectOption('coder');
    await page.getByRole('button', { name: 'Create agent' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Error 409' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('coder/ada');
    await shot(page, 'agent-form-conflict');
    // The form keeps its input and can be corrected and sent again.
    await page.locator('#agent-name').fill('grace');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('row', { name: /coder\/grace/ }).waitFor();
  });

  it('filters by kind and skill, edits and deletes', async () => {
    expect(
      (
        await api('POST', '/api/v1/agents', {
          name: 'rhea',
          kind: 'researcher',
          skills: [{ id: 'papers', name: 'Papers', tags: ['search'] }],
        })
      ).status,
    ).toBe(201);
    const page = await open('/ui/agents');
    await page.getByRole('row', { name: /researcher\/rhea/ }).waitFor();
    await page.locator('#filter-kind').selectOption('researcher');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/kind=researcher/);
    await page.getByRole('row', { name: /researcher\/rhea/ }).waitFor();
    expect(await page.getByRole('row', { name: /coder\/ada/ }).count()).toBe(0);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('#filter-skill').fill('web');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/skill=web/);
    await page.getByRole('row', { name: /coder\/ada/ }).waitFor();
    expect(await page.getByRole('row', { name: /researcher\/rhea/ }).count()).toBe(0);

    await page.getByRole('link', { name: 'Edit coder/ada' }).click();
    await page.getByRole('heading', { name: 'Edit coder/ada' }).waitFor();
    expect(await page.locator('#agent-name').inputValue()).toBe('ada');
    expect(await page.locator('#agent-name').getAttribute('readonly')).not.toBeNull();
    await page.locator('#agent-description').fill('Reviews and writes TypeScript.');
    await page.locator('#budget-daily').fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
    await waitText(page.getByRole('row', { name: /coder\/ada/ }), 'Reviews and writes TypeScript.');
    const stored = (await (await api('GET', '/api/v1/agents/coder/ada')).json()) as Record<string, unknown>;
    expect(stored.description).toBe('Reviews and writes TypeScript.');
    expect(stored.budget).toBeUndefined();

    await page.getByRole('button', { name: 'Delete coder/grace' }).click();
    await page.getByRole('button', { name: 'Delete coder/grace and its memory' }).click();
    await page.getByRole('row', { name: /coder\/grace/ }).waitFor({ state: 'detached' });
    expect((await api('GET', '/api/v1/agents/coder/grace')).status).toBe(404);
  });
});

describe('chat', () => {
  it('streams the answer in and shows tool calls as they happen', async () => {
    // The model first calls `remember`, then answers; chunks are spaced out so the page is seen mid-stream.
    fixture.setBehaviour({ chunkDelayMs: 60 });
    fixture.enqueue(
      { toolCalls: [{ id: 'call_1', name: 'remember', arguments: { key: 'target', value: 'arm64' } }] },
      { content: 'Noted: you deploy on arm64, so I will build for that architecture and test on a matching node.' },
    );
    try {
      const page = await open('/ui/agents');
      await page.getByRole('link', { name: 'Chat with coder/ada' }).click();
      await page.getByRole('heading', { name: 'Chat with coder/ada' }).waitFor();
      await page.getByRole('textbox', { name: 'Message' }).fill('Remember that I deploy on arm64.');
      await page.keyboard.press('Enter');
      const answer = page.locator('.message.assistant').last();
      // Mid-stream: part of the answer is there while the message is still marked busy.
      await page.waitForFunction(() => {
        const m = [...document.querySelectorAll('.message.assistant')].pop();
        return m?.getAttribute('aria-busy') === 'true' && (m.querySelector('.content')?.textContent ?? '').startsWith('Noted');
      });
      const toolCall = answer.getByRole('list', { name: 'Tool calls' }).getByRole('listitem');
      expect(await toolCall.textContent()).toContain('remember');
      await waitText(answer.locator('.content'), 'matching node.');
      await page.waitForFunction(() => [...document.querySelectorAll('.message.assistant')].pop()?.getAttribute('aria-busy') === null);
      expect(await toolCall.textContent()).toMatch(/remember.*→/);
      // The conversation got an id in the URL and appears in the list.
      await page.waitForURL(/\?c=/);
      const id = new URL(page.url()).searchParams.get('c')!;
      await page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: id }).waitFor();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('chat-message');
      await shot(page, 'chat');

      // A second message continues the same conversation; a reload shows both turns from memory.
      fixture.setBehaviour({ chunkDelayMs: 0 });
      await page.getByRole('textbox', { name: 'Message' }).fill('Where do I deploy?');
      await page.getByRole('button', { name: 'Send' }).click();
      await waitText(page.locator('.message.assistant').last().locator('.content'), 'Fixture answer to: Where do I deploy?');
      await page.reload();
      await waitText(page.locator('.messages'), 'Fixture answer to: Where do I deploy?');
      expect(await page.locator('.message.user').count()).toBe(2);
    } finally {
      fixture.setBehaviour({ chunkDelayMs: 0 });
    }
  });

  it('shows a failed request plainly, keeps the message, and lets the user try again', async () => {
    expect((await api('POST', '/api/v1/agents', { name: 'brief', kind: 'coder' })).status).toBe(201);
    const page = await open('/ui/agents/coder/brief/chat');
    const input = page.getByRole('textbox', { name: 'Message' });
    await input.waitFor();
    // An empty message is caught before sending.
    await page.getByRole('button', { name: 'Send' }).click();
    await waitText(page.locator('#chat-message-error'), 'Type a message first');
    expect(await focusedId(page)).toBe('chat-message');
    // The agent disappears while the page is open: the agent component answers 404, and the page says so.
    expect((await api('DELETE', '/api/v1/agents/coder/brief')).status).toBe(204);
    await input.fill('Are you still there?');
    await page.getByRole('button', { name: 'Send' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Error 404' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('brief');
    expect(await input.inputValue()).toBe('Are you still there?');
    expect(await page.locator('.message').count()).toBe(0);
    await shot(page, 'chat-error');
    // Once the agent is back, the same message goes through.
    expect((await api('POST', '/api/v1/agents', { name: 'brief', kind: 'coder' })).status).toBe(201);
    await page.getByRole('button', { name: 'Send' }).click();
    await waitText(page.locator('.message.assistant').last().locator('.content'), 'Fixture answer to: Are you still there?');
    expect(await alert.count()).toBe(0);
  });

  it('shows a 404 for an unknown agent, with the page still working', async () => {
    const page = await open('/ui/agents/coder/nobody/chat');
    await waitText(page.getByRole('alert').first(), 'Error 404');
    await page.getByRole('link', { name: 'Agents' }).first().click();
    await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
  });
});

describe('knowledge', () => {
  it('ingests a file, finds it by search and opens it', async () => {
    const page = await open('/ui/knowledge');
    await page.getByRole('heading', { name: 'Knowledge', level: 1 }).waitFor();
    await page.getByLabel('New collection').fill('Ops Notes');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await waitText(page.locator('#collection-name-error'), 'must be a slug');
    await page.getByLabel('New collection').fill('ops-notes');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('heading', { name: 'Knowledge: ops-notes' }).waitFor();

    const note = [
      '# Rotating the cluster certificates',
      '',
      'The k3s server certificates expire after twelve months. Rotate them with `k3s certificate rotate` on each',
      'server node, then restart the k3s service. Agents on arm64 nodes reconnect on their own.',
    ].join('\n');
    await page.getByLabel('File').setInputFiles({ name: 'certificates.md', mimeType: 'text/markdown', buffer: Buffer.from(note) });
    // The file is read in the browser (asynchronously); its name becomes the title.
    await page.waitForFunction(() => (document.getElementById('doc-title') as HTMLInputElement | null)?.value === 'certificates.md');
    expect(await page.locator('#doc-content').inputValue()).toBe(note);
    await page.getByLabel('Metadata', { exact: true }).fill('{"tag": ');
    await page.getByRole('button', { name: 'Add document' }).click();
    await waitText(page.locator('#doc-metadata-error'), 'not valid JSON');
    await page.getByLabel('Metadata', { exact: true }).fill('{"tag": "ops"}');
    await page.getByRole('button', { name: 'Add document' }).click();
    await waitText(page.getByRole('status').filter({ hasText: 'Added' }), 'chunk');

    await page.getByLabel('Query').fill('how do I rotate certificates');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const results = page.locator('.results li');
    await results.first().waitFor();
    expect(await results.first().textContent()).toContain('k3s certificate rotate');
    // Keyword mode with a metadata filter that excludes it finds nothing; with the matching filter it is found.
    await page.getByLabel('Mode').selectOption('keyword');
    await page.getByLabel('Metadata filter').fill('{"tag": "dev"}');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await waitText(page.getByRole('status'), 'Nothing found.');
    await page.getByLabel('Metadata filter').fill('{"tag": "ops"}');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await results.first().waitFor();
    await shot(page, 'knowledge');

    await results.first().getByRole('link').click();
    await page.locator('pre.document').waitFor();
    expect(await page.locator('pre.document').textContent()).toContain('twelve months');
    await shot(page, 'knowledge-document');
  });
});

describe('workflows', () => {
  it('starts a SPARC run and watches it finish', async () => {
    const page = await open('/ui/workflows');
    await page.getByRole('heading', { name: 'Workflows', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Start run' }).click();
    await waitText(page.locator('#run-input-error'), 'describe the task');
    await page.getByLabel('Task').fill('A command-line tool that counts words in Markdown files.');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.getByRole('heading', { name: /Workflow run [a-z0-9]{24}/ }).waitFor();
    const steps = page.getByRole('list', { name: 'Steps' }).getByRole('listitem');
    await waitText(page.getByRole('log', { name: 'Activity' }), 'Run completed');
    expect(await steps.count()).toBe(5);
    for (let i = 0; i < 5; i++) expect(await steps.nth(i).locator('.badge').first().textContent()).toBe('completed');
    expect(await steps.first().textContent()).toContain('Specification');
    await shot(page, 'workflow-run');
    await page.getByRole('link', { name: 'All runs' }).click();
    await waitText(page.getByRole('table'), 'completed');
    await shot(page, 'workflows');
  });
});

describe('platform', () => {
  it('shows health, the agent card, usage and budgets', async () => {
    expect((await api('PUT', '/api/v1/budgets/agent:coder:ada', { dailyTokens: 50000 })).status).toBe(200);
    const page = await open('/ui/platform');
    await waitText(page.getByRole('region', { name: 'Health' }), 'agent-coder');
    const card = page.getByRole('region', { name: 'Agent card' });
    await waitText(card, 'Skills');
    expect(await card.textContent()).toContain('TypeScript');
    await waitText(page.getByRole('region', { name: 'Usage' }), 'agent:coder:ada');
    await waitText(page.getByRole('region', { name: 'Budgets' }), 'dailyTokens 50,000');
    await page.getByLabel('Day or month').fill('last week');
    await page.getByRole('button', { name: 'Show' }).click();
    await waitText(page.locator('#usage-period-error'), 'YYYY-MM-DD');
    await shot(page, 'platform');
  });
});

describe('phone-sized screen', () => {
  const phone = { width: 390, height: 844 };

  it('lays every page out without sideways scrolling', async () => {
    for (const [path, name] of [
      ['/ui/agents', 'phone-agents'],
      ['/ui/agents/new', 'phone-agent-form'],
      ['/ui/agents/coder/ada/chat', 'phone-chat'],
      ['/ui/knowledge/ops-notes', 'phone-knowledge'],
      ['/ui/workflows', 'phone-workflows'],
      ['/ui/platform', 'phone-platform'],
    ] as const) {
      const page = await open(path, { viewport: phone });
      await page.locator('h1').waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      // Navigation stays reachable and controls stay finger-sized.
      const nav = await page.getByRole('navigation', { name: 'Main' }).boundingBox();
      expect(nav!.width, path).toBeLessThanOrEqual(phone.width);
      const buttons = await page.locator('main button:visible').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
      for (const h of buttons) expect(h, path).toBeGreaterThanOrEqual(44);
      await shot(page, name);
    }
    // The agent table turns into labelled cards.
    const page = await open('/ui/agents', { viewport: phone });
    const cell = page.getByRole('row', { name: /coder\/ada/ }).locator('td[data-label="Model"]');
    expect(await cell.evaluate((el) => getComputedStyle(el, '::before').content)).toContain('Model');
  });
});

describe('keyboard', () => {
  it('works without a mouse: skip link, navigation, focus on the new page, forms, the key dialog', async () => {
    const page = await open('/ui/agents');
    await page.getByRole('row', { name: /coder\/ada/ }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Tab until the Knowledge link in the navigation, from the top.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.locator('.brand').focus();
    await page.keyboard.press('Tab'); // Agents
    await page.keyboard.press('Tab'); // Knowledge
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Knowledge');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Knowledge', level: 1 }).waitFor();
    // After client-side navigation focus moves to the new page's heading, announcing it.
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
    expect(await page.title()).toBe('Knowledge · edge-agents');
    expect(await page.getByRole('link', { name: 'Knowledge' }).getAttribute('aria-current')).toBe('page');

    // Create an agent with the keyboard alone.
    await page.goto(`${app.url}/ui/agents/new`);
    await page.locator('#agent-name').focus();
    await page.keyboard.type('kb-agent');
    await page.keyboard.press('Tab'); // kind select
    await page.keyboard.press('Tab'); // description
    await page.keyboard.type('Made with the keyboard');
    await page.keyboard.press('Enter'); // submits the form from a text field
    await page.getByRole('row', { name: /kb-agent/ }).waitFor();

    // The API key dialog: opened from the header, traps focus, Escape closes it and returns focus.
    const button = page.getByRole('button', { name: 'API key' });
    await button.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Focus goes back to the button that opened the dialog (restored after the dialog unmounts, so wait for it).
    await page.waitForFunction(() => document.activeElement?.className.includes('key-button') ?? false, undefined, { timeout: 5000 });
    expect(pageErrors).toEqual([]);
  });
});

describe('authentication on', () => {
  let locked: TestApp;
  const sha = async (s: string) => Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))).toString('hex');

  beforeAll(async () => {
    locked = await start([['api_keys', `admin:sha256:${await sha(ADMIN_KEY)}\nread:sha256:${await sha(READ_KEY)}`]]);
  });

  it('asks for the key on a 401, keeps it for the session, and shows a 403 plainly', async () => {
    const page = await open('/ui/agents', { base: locked.url });
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    await waitText(dialog.getByRole('alert'), 'The server refused the request');
    await shot(page, 'auth-key-dialog');
    // A wrong key: refused again, the dialog comes back.
    await page.locator('#api-key').fill('not-the-key');
    await page.getByRole('button', { name: 'Save key' }).click();
    await dialog.waitFor();
    await waitText(page.getByRole('alert').first(), 'Error 401');
    // The read-only key lists agents but cannot create one: a 403, shown as such.
    await page.locator('#api-key').fill(READ_KEY);
    await page.getByRole('button', { name: 'Save key' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitText(page.locator('main'), 'No agents yet');
    await page.getByRole('link', { name: 'New agent' }).click();
    await page.locator('#agent-name').fill('locked');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await waitText(page.getByRole('alert'), 'Error 403');
    expect(await page.getByRole('alert').textContent()).toContain('lacks the scope');
    // The admin key works, and survives a reload (session storage), without asking again.
    await page.getByRole('button', { name: 'API key: set' }).click();
    await page.locator('#api-key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Save key' }).click();
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('row', { name: /coder\/locked/ }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('edge-agents.apiKey'))).toBe(ADMIN_KEY);
    await page.reload();
    await page.getByRole('row', { name: /coder\/locked/ }).waitFor();
    expect(await dialog.count()).toBe(0);
    // Chat goes through with the key too (the agent component checks it).
    await page.getByRole('link', { name: 'Chat with coder/locked' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Hello with a key');
    await page.getByRole('button', { name: 'Send' }).click();
    await waitText(page.locator('.message.assistant').last().locator('.content'), 'Fixture answer to: Hello with a key');
  });
});
