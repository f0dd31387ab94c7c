/**
 * The app shell: landmarks (banner, navigation, main), a skip link, client-side navigation under `/ui/`, and the API
 * key dialog that opens on any 401. The key is kept in `sessionStorage` (gone when the tab closes) and sent as a
 * bearer token.
 *
 * @module
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, type ApiError } from '../api.ts';
import { MOUNT, parseRoute, routeUrl, section, type Route } from '../routes.ts';
import { AgentForm } from './agent-form.tsx';
import { AgentsPage } from './agents.tsx';
import { ChatPage } from './chat.tsx';
import { DocumentPage, KnowledgePage } from './knowledge.tsx';
import { PlatformPage } from './platform.tsx';
import { Ctx, Page, type AppContext } from './ui.tsx';
import { RunPage, WorkflowsPage } from './workflows.tsx';

const KEY_STORAGE = 'edge-agents.apiKey';

function readKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

function writeKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage may be disabled; the key then lasts until the page is reloaded.
  }
}

const NAV: { to: Route; label: string; section: ReturnType<typeof section> }[] = [
  { to: { page: 'agents' }, label: 'Agents', section: 'agents' },
  { to: { page: 'knowledge' }, label: 'Knowledge', section: 'knowledge' },
  { to: { page: 'workflows' }, label: 'Workflows', section: 'workflows' },
  { to: { page: 'platform' }, label: 'Platform', section: 'platform' },
];

const current = () => parseRoute(location.pathname, location.search);

export function App() {
  const [route, setRoute] = useState<Route>(current);
  const [keyVersion, setKeyVersion] = useState(0);
  const [hasKey, setHasKey] = useState(() => readKey() !== null);
  const [prompt, setPrompt] = useState<string | null>(null);
  const keyRef = useRef<string | null>(readKey());

  const askForKey = useCallback((reason?: string) => setPrompt(reason ?? ''), []);

  const api = useMemo(
    () =>
      new Api({
        key: () => keyRef.current,
        onUnauthorized: (e: ApiError) => setPrompt(e.message),
      }),
    [],
  );

  const navigate = useCallback((to: Route | string, options: { replace?: boolean } = {}) => {
    const url = typeof to === 'string' ? to : routeUrl(to);
    if (options.replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    document.body.dataset.navigated = 'true';
    setRoute(current());
    if (!options.replace) scrollTo(0, 0);
  }, []);

  useEffect(() => {
    const onPop = () => {
      document.body.dataset.navigated = 'true';
      setRoute(current());
    };
    // Links inside the app navigate without a reload; modified clicks (new tab) and other origins behave as usual.
    const onClick = (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const a = (e.target as Element | null)?.closest?.('a');
      if (!a || a.target || a.hasAttribute('download')) return;
      // In-page links (the skip link): with <base href> a bare `#id` would point at the mount, so focus by hand.
      const hash = a.getAttribute('href') ?? '';
      if (hash.startsWith('#')) {
        e.preventDefault();
        const target = document.getElementById(hash.slice(1));
        target?.focus();
        target?.scrollIntoView();
        return;
      }
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin || !url.pathname.startsWith(MOUNT)) return;
      e.preventDefault();
      navigate(url.pathname + url.search);
    };
    addEventListener('popstate', onPop);
    document.addEventListener('click', onClick);
    return () => {
      removeEventListener('popstate', onPop);
      document.removeEventListener('click', onClick);
    };
  }, [navigate]);

  const saveKey = (key: string | null) => {
    keyRef.current = key;
    writeKey(key);
    setHasKey(key !== null);
    setPrompt(null);
    setKeyVersion((v) => v + 1);
  };

  const ctx: AppContext = { api, navigate, keyVersion, askForKey };
  const active = section(route);

  return (
    <Ctx.Provider value={ctx}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={routeUrl({ page: 'agents' })}>
          edge-agents
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li>
                <a href={routeUrl(n.to)} aria-current={active === n.section ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="key-button" onClick={() => askForKey()} aria-haspopup="dialog">
          {hasKey ? 'API key: set' : 'API key'}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <CurrentPage route={route} />
      </main>
      {prompt !== null && <KeyDialog reason={prompt} hasKey={hasKey} onSave={saveKey} onCancel={() => setPrompt(null)} />}
    </Ctx.Provider>
  );
}

function CurrentPage({ route }: { route: Route }) {
  switch (route.page) {
    case 'agents':
      return <AgentsPage kind={route.kind} skill={route.skill} />;
    case 'agent-new':
      return <AgentForm />;
    case 'agent-edit':
      return <AgentForm kind={route.kind} name={route.name} key={`${route.kind}/${route.name}`} />;
    case 'chat':
      return <ChatPage kind={route.kind} name={route.name} conversation={route.conversation} key={`${route.kind}/${route.name}`} />;
    case 'knowledge':
      return <KnowledgePage collection={route.collection} key={route.collection ?? ''} />;
    case 'document':
      return <DocumentPage collection={route.collection} id={route.id} />;
    case 'workflows':
      return <WorkflowsPage />;
    case 'run':
      return <RunPage id={route.id} key={route.id} />;
    case 'platform':
      return <PlatformPage />;
    case 'not-found':
      return (
        <Page title="Page not found">
          <p>
            There is no page at <code>{route.path}</code>. <a href={routeUrl({ page: 'agents' })}>Go to the agents</a>.
          </p>
        </Page>
      );
  }
}

/** A modal dialog (native `<dialog>`: focus is trapped and Escape closes it) asking for the API key. */
function KeyDialog(props: { reason: string; hasKey: boolean; onSave(key: string | null): void; onCancel(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement as HTMLElement | null;
    dialog?.showModal();
    return () => opener?.focus?.();
  }, []);
  const submit = (e: Event) => {
    e.preventDefault();
    const key = value.trim();
    if (key === '') return setError('Enter the key, or press Cancel');
    if (!/^[\x21-\x2b\x2d-\x7e]{1,512}$/.test(key)) return setError('A key is 1-512 visible ASCII characters without commas or spaces');
    props.onSave(key);
  };
  return (
    <dialog ref={ref} class="key-dialog" aria-labelledby="key-title" onCancel={props.onCancel}>
      <form onSubmit={submit} noValidate>
        <h2 id="key-title">API key</h2>
        {props.reason && (
          <p class="notice error" role="alert">
            The server refused the request: {props.reason}
          </p>
        )}
        <p class="hint">
          Keys are kept in this tab only (session storage) and sent as <code>Authorization: Bearer</code>.
        </p>
        <div class={`field${error ? ' invalid' : ''}`}>
          <label for="api-key">Key</label>
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'api-key-error' : undefined}
            autofocus
          />
          {error && (
            <p class="field-error" id="api-key-error">
              {error}
            </p>
          )}
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Save key
          </button>
          {props.hasKey && (
            <button type="button" onClick={() => props.onSave(null)}>
              Forget key
            </button>
          )}
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
