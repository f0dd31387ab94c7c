/**
 * Knowledge: collections, ingesting a document (a file read in the browser, or pasted text), hybrid/vector/keyword
 * search with metadata filters, and opening a result's document.
 *
 * @module
 */
import { useRef, useState } from 'preact/hooks';
import { ApiError, path } from '../api.ts';
import {
  fieldErrorsFromIssues,
  MAX_TOP_K,
  SEARCH_MODES,
  validateCollection,
  validateDocument,
  validateSearch,
  type FieldErrors,
  type SearchDraft,
} from '../validate.ts';
import { ErrorNotice, Field, focusFirstInvalid, Link, Loading, Page, str, useApp, useLoad } from './ui.tsx';

const K = '/api/v1/knowledge';

interface SearchResult {
  documentId: string;
  chunkId: string | number;
  score: number;
  text: string;
  metadata?: Record<string, unknown>;
}

/** Collection names from `GET …/collections`, whether it lists names or objects. */
function collectionNames(body: unknown): { name: string; documents?: string }[] {
  const list = (body as { items?: unknown; collections?: unknown } | undefined)?.items ?? (body as { collections?: unknown })?.collections;
  if (!Array.isArray(list)) return [];
  return list.flatMap((c) => {
    if (typeof c === 'string') return [{ name: c }];
    const name = str(c, 'name');
    if (!name) return [];
    const documents = str(c, 'documents') ?? str(c, 'documentCount');
    return [documents !== undefined ? { name, documents } : { name }];
  });
}

/** The content type for an uploaded file: what the browser says, or a guess from the extension. */
function fileType(file: File): string {
  if (file.type) return file.type;
  if (/\.(md|markdown)$/i.test(file.name)) return 'text/markdown';
  if (/\.html?$/i.test(file.name)) return 'text/html';
  return 'text/plain';
}

export function KnowledgePage({ collection }: { collection?: string | undefined }) {
  const { api, navigate } = useApp();
  const collections = useLoad(() => api.get<unknown>(`${K}/collections`), []);
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | undefined>();
  const [failure, setFailure] = useState<unknown>();
  const names = collectionNames(collections.data);

  const create = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    const problem = validateCollection(name);
    setNameError(problem);
    if (problem) return (document.getElementById('collection-name') as HTMLInputElement | null)?.focus();
    try {
      await api.request('POST', `${K}/collections`, { name });
      setName('');
      collections.reload();
      navigate({ page: 'knowledge', collection: name });
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) setNameError(err.issues[0]!.message);
      setFailure(err);
    }
  };

  return (
    <Page title={collection ? `Knowledge: ${collection}` : 'Knowledge'}>
      <div class="knowledge">
        <nav class="collections" aria-label="Collections">
          <h2>Collections</h2>
          {collections.loading && <Loading what="collections" />}
          {collections.error !== undefined && <ErrorNotice error={collections.error} onRetry={collections.reload} />}
          {collections.data !== undefined && names.length === 0 && <p class="muted">No collections yet.</p>}
          <ul>
            {names.map((c) => (
              <li>
                <Link to={{ page: 'knowledge', collection: c.name }} aria-current={c.name === collection ? 'page' : undefined}>
                  {c.name}
                </Link>
                {c.documents !== undefined && <span class="muted"> ({c.documents})</span>}
              </li>
            ))}
          </ul>
          <form onSubmit={create} noValidate class="stack">
            {failure !== undefined && <ErrorNotice error={failure} />}
            <Field id="collection-name" label="New collection" error={nameError} hint="Lowercase letters, digits and hyphens">
              {(a) => <input {...a} value={name} onInput={(e) => setName(e.currentTarget.value)} spellcheck={false} />}
            </Field>
            <button type="submit">Create collection</button>
          </form>
        </nav>
        <div class="knowledge-main">
          {collection ? (
            <>
              <Search collection={collection} />
              <Ingest collection={collection} onIngested={collections.reload} />
            </>
          ) : (
            <p class="empty">Choose or create a collection to add documents and search.</p>
          )}
        </div>
      </div>
    </Page>
  );
}

function Ingest({ collection, onIngested }: { collection: string; onIngested(): void }) {
  const { api } = useApp();
  const [title, setTitle] = useState('');
  const [content, setContent] = useState('');
  const [contentType, setContentType] = useState('text/plain');
  const [metadata, setMetadata] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>();
  const [done, setDone] = useState<{ id: string; chunks: number } | undefined>();
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  const pick = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      setContent(await file.text());
      setContentType(fileType(file));
      if (title === '') setTitle(file.name);
      setErrors((x) => ({ ...x, content: '' }));
    } catch (err) {
      setErrors((x) => ({ ...x, content: `could not read ${file.name}: ${err instanceof Error ? err.message : String(err)}` }));
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    setDone(undefined);
    const { errors: found, body } = validateDocument({ title, content, metadata });
    setErrors(found);
    if (!body) {
      setTimeout(() => focusFirstInvalid(form.current));
      return;
    }
    setBusy(true);
    try {
      const r = await api.request<{ id: string; chunks: number }>('POST', K + path`/collections/${collection}/documents`, {
        ...body,
        contentType,
      });
      setDone(r);
      setContent('');
      setTitle('');
      setMetadata('');
      form.current?.reset();
      onIngested();
    } catch (err) {
      setFailure(err);
      if (err instanceof ApiError) setErrors(fieldErrorsFromIssues(err.issues));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="ingest-title">
      <h2 id="ingest-title">Add a document</h2>
      <form ref={form} onSubmit={submit} noValidate class="stack">
        {failure !== undefined && <ErrorNotice error={failure} />}
        {done && (
          <p class="notice ok" role="status">
            Added <Link to={{ page: 'document', collection, id: done.id }}>{done.id}</Link> in {done.chunks} chunk
            {done.chunks === 1 ? '' : 's'}.
          </p>
        )}
        <Field id="doc-file" label="File" hint="Text, Markdown or HTML; read in your browser and sent as text">
          {(a) => <input {...a} type="file" accept=".txt,.md,.markdown,.html,.htm,.json,.csv,text/*" onChange={pick} />}
        </Field>
        <Field id="doc-content" label="Content" error={errors.content || undefined}>
          {(a) => <textarea {...a} rows={6} value={content} onInput={(e) => setContent(e.currentTarget.value)} />}
        </Field>
        <Field id="doc-title" label="Title" error={errors.title}>
          {(a) => <input {...a} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />}
        </Field>
        <Field id="doc-metadata" label="Metadata" error={errors.metadata} hint='Optional JSON object, e.g. {"tag": "ops"}'>
          {(a) => <input {...a} value={metadata} onInput={(e) => setMetadata(e.currentTarget.value)} spellcheck={false} />}
        </Field>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add document'}
          </button>
        </div>
      </form>
    </section>
  );
}

function Search({ collection }: { collection: string }) {
  const { api } = useApp();
  const [draft, setDraft] = useState<SearchDraft>({ query: '', mode: 'hybrid', topK: '5', filter: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>();
  const [results, setResults] = useState<SearchResult[] | undefined>();
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const set = (k: keyof SearchDraft, v: string) => setDraft((d) => ({ ...d, [k]: v }));

  const submit = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    const { errors: found, body } = validateSearch(draft);
    setErrors(found);
    if (!body) {
      setTimeout(() => focusFirstInvalid(form.current));
      return;
    }
    setBusy(true);
    try {
      const r = await api.request<{ results: SearchResult[] }>('POST', K + path`/collections/${collection}/search`, body);
      setResults(r.results);
    } catch (err) {
      setFailure(err);
      if (err instanceof ApiError) setErrors(fieldErrorsFromIssues(err.issues));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="search-title">
      <h2 id="search-title">Search</h2>
      <form ref={form} onSubmit={submit} noValidate class="stack" role="search" aria-label={`Search ${collection}`}>
        <Field id="search-query" label="Query" error={errors.query}>
          {(a) => <input {...a} type="search" value={draft.query} onInput={(e) => set('query', e.currentTarget.value)} />}
        </Field>
        <div class="grid-2">
          <Field id="search-mode" label="Mode" error={errors.mode}>
            {(a) => (
              <select {...a} value={draft.mode} onChange={(e) => set('mode', e.currentTarget.value)}>
                {SEARCH_MODES.map((m) => (
                  <option value={m}>{m}</option>
                ))}
              </select>
            )}
          </Field>
          <Field id="search-topk" label="Results" error={errors.topK} hint={`1 to ${MAX_TOP_K}`}>
            {(a) => <input {...a} inputMode="numeric" value={draft.topK} onInput={(e) => set('topK', e.currentTarget.value)} />}
          </Field>
        </div>
        <Field id="search-filter" label="Metadata filter" error={errors.filter} hint='Optional JSON object, e.g. {"tag": "ops"}'>
          {(a) => <input {...a} value={draft.filter} onInput={(e) => set('filter', e.currentTarget.value)} spellcheck={false} />}
        </Field>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Searching…' : 'Search'}
          </button>
        </div>
      </form>
      {failure !== undefined && <ErrorNotice error={failure} />}
      <div aria-live="polite">
        {results && (
          <p role="status">{results.length === 0 ? 'Nothing found.' : `${results.length} result${results.length === 1 ? '' : 's'}.`}</p>
        )}
        {results && results.length > 0 && (
          <ol class="results">
            {results.map((r) => (
              <li>
                <p>
                  <Link to={{ page: 'document', collection, id: r.documentId }}>{str(r.metadata, 'title') ?? r.documentId}</Link>{' '}
                  <span class="muted">score {r.score.toFixed(3)}</span>
                </p>
                <p class="snippet">{r.text}</p>
                {r.metadata && Object.keys(r.metadata).length > 0 && <code class="meta">{JSON.stringify(r.metadata)}</code>}
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}

export function DocumentPage({ collection, id }: { collection: string; id: string }) {
  const { api, navigate } = useApp();
  const doc = useLoad(() => api.get<Record<string, unknown>>(K + path`/collections/${collection}/documents/${id}`), [collection, id]);
  const [failure, setFailure] = useState<unknown>();
  const [confirming, setConfirming] = useState(false);
  const remove = async () => {
    try {
      await api.request('DELETE', K + path`/collections/${collection}/documents/${id}`);
      navigate({ page: 'knowledge', collection });
    } catch (err) {
      setFailure(err);
      setConfirming(false);
    }
  };
  const d = doc.data;
  const metadata = d?.metadata;
  return (
    <Page
      title={str(d, 'title') ?? `Document ${id}`}
      actions={
        <Link to={{ page: 'knowledge', collection }} class="button">
          Back to {collection}
        </Link>
      }
    >
      {doc.loading && <Loading what="the document" />}
      {doc.error !== undefined && <ErrorNotice error={doc.error} onRetry={doc.reload} />}
      {failure !== undefined && <ErrorNotice error={failure} />}
      {d && (
        <>
          <dl class="facts">
            <dt>Id</dt>
            <dd>
              <code>{str(d, 'id') ?? id}</code>
            </dd>
            {str(d, 'contentType') && (
              <>
                <dt>Type</dt>
                <dd>{str(d, 'contentType')}</dd>
              </>
            )}
            {str(d, 'chunks') && (
              <>
                <dt>Chunks</dt>
                <dd>{str(d, 'chunks')}</dd>
              </>
            )}
            {metadata !== undefined && metadata !== null && Object.keys(metadata).length > 0 && (
              <>
                <dt>Metadata</dt>
                <dd>
                  <code>{JSON.stringify(metadata)}</code>
                </dd>
              </>
            )}
          </dl>
          <pre class="wrap document">{str(d, 'content') ?? ''}</pre>
          <div class="actions">
            {confirming ? (
              <>
                <button type="button" class="danger" onClick={remove} autofocus>
                  Delete this document
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" class="danger-outline" onClick={() => setConfirming(true)}>
                Delete
              </button>
            )}
          </div>
        </>
      )}
    </Page>
  );
}
