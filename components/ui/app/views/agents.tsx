/**
 * The agents page: the registry as a table, filtered by kind and skill (in the URL, so a filtered view can be
 * bookmarked), paged with `nextCursor`, with chat, edit and delete for each agent.
 *
 * @module
 */
import { useState } from 'preact/hooks';
import { path } from '../api.ts';
import type { AgentFields } from '../validate.ts';
import { ErrorNotice, Field, Link, Loading, Page, useApp, useLoad } from './ui.tsx';

/** An agent record as `GET /api/v1/agents` lists it (the fields this page shows). */
export interface AgentRecord extends AgentFields {
  budget?: { dailyTokens?: number; monthlyTokens?: number };
  url: string;
  createdAt: string;
  updatedAt: string;
}

interface AgentPage {
  items: AgentRecord[];
  nextCursor: string | null;
  corrupt?: { key: string; message: string }[];
}

/** The agent kinds this platform serves: its `agent-<kind>` components, as `/health` lists them. */
export function useKinds(): string[] {
  const { api } = useApp();
  const health = useLoad(() => api.get<{ components?: string[] }>('/health'), []);
  return (health.data?.components ?? []).filter((c) => c.startsWith('agent-')).map((c) => c.slice('agent-'.length));
}

export function AgentsPage({ kind, skill }: { kind?: string | undefined; skill?: string | undefined }) {
  const { api, navigate } = useApp();
  const kinds = useKinds();
  const [extra, setExtra] = useState<AgentRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<unknown>();
  const query = (c?: string) => {
    const q = new URLSearchParams({ limit: '50' });
    if (kind) q.set('kind', kind);
    if (skill) q.set('skill', skill);
    if (c) q.set('cursor', c);
    return `/api/v1/agents?${q}`;
  };
  const first = useLoad(async () => {
    const page = await api.get<AgentPage>(query());
    setExtra([]);
    setCursor(page.nextCursor);
    return page;
  }, [kind, skill]);
  const more = async () => {
    if (!cursor) return;
    try {
      const page = await api.get<AgentPage>(query(cursor));
      setExtra((e) => [...e, ...page.items]);
      setCursor(page.nextCursor);
      setMoreError(undefined);
    } catch (err) {
      setMoreError(err);
    }
  };
  const [filterKind, setFilterKind] = useState(kind ?? '');
  const [filterSkill, setFilterSkill] = useState(skill ?? '');
  const items = [...(first.data?.items ?? []), ...extra];
  const filtered = Boolean(kind || skill);

  return (
    <Page
      title="Agents"
      actions={
        <Link to={{ page: 'agent-new' }} class="button primary">
          New agent
        </Link>
      }
    >
      <form
        class="filters"
        role="search"
        aria-label="Filter agents"
        onSubmit={(e) => {
          e.preventDefault();
          navigate({ page: 'agents', kind: filterKind.trim() || undefined, skill: filterSkill.trim() || undefined });
        }}
      >
        <Field id="filter-kind" label="Kind">
          {(a) => (
            <select {...a} value={filterKind} onChange={(e) => setFilterKind(e.currentTarget.value)}>
              <option value="">Any kind</option>
              {[...new Set([...kinds, ...(kind ? [kind] : [])])].map((k) => (
                <option value={k}>{k}</option>
              ))}
            </select>
          )}
        </Field>
        <Field id="filter-skill" label="Skill or tag">
          {(a) => <input {...a} value={filterSkill} onInput={(e) => setFilterSkill(e.currentTarget.value)} placeholder="e.g. code" />}
        </Field>
        <div class="actions">
          <button type="submit">Filter</button>
          {filtered && (
            <button
              type="button"
              onClick={() => {
                setFilterKind('');
                setFilterSkill('');
                navigate({ page: 'agents' });
              }}
            >
              Clear
            </button>
          )}
        </div>
      </form>

      {first.loading && <Loading what="agents" />}
      {first.error !== undefined && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {first.data && items.length === 0 && (
        <p class="empty">
          {filtered ? 'No agent matches this filter.' : 'No agents yet. '}
          {!filtered && <Link to={{ page: 'agent-new' }}>Create the first one.</Link>}
        </p>
      )}
      {items.length > 0 && (
        <table class="agents responsive">
          <caption class="visually-hidden">
            {items.length} agent{items.length === 1 ? '' : 's'}
            {filtered ? ' matching the filter' : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Description</th>
              <th scope="col">Model</th>
              <th scope="col">Skills</th>
              <th scope="col">Tools</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <AgentRow agent={a} onDeleted={first.reload} key={`${a.kind}/${a.name}`} />
            ))}
          </tbody>
        </table>
      )}
      {first.data?.corrupt && first.data.corrupt.length > 0 && (
        <div class="notice warning" role="status">
          <p>Some records could not be read:</p>
          <ul>
            {first.data.corrupt.map((c) => (
              <li>
                <code>{c.key}</code>: {c.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {moreError !== undefined && <ErrorNotice error={moreError} />}
      {cursor && (
        <button type="button" onClick={more}>
          Load more agents
        </button>
      )}
    </Page>
  );
}

function AgentRow({ agent: a, onDeleted }: { agent: AgentRecord; onDeleted(): void }) {
  const { api } = useApp();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const id = `${a.kind}/${a.name}`;
  const remove = async () => {
    setBusy(true);
    try {
      await api.request('DELETE', path`/api/v1/agents/${a.kind}/${a.name}`);
      onDeleted();
    } catch (err) {
      setError(err);
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <tr>
      <th scope="row" data-label="Agent">
        <span class="kind">{a.kind}</span>/<strong>{a.name}</strong>
      </th>
      <td data-label="Description">{a.description || <span class="muted">—</span>}</td>
      <td data-label="Model">
        <code>{a.model}</code>
      </td>
      <td data-label="Skills">
        {a.skills.length === 0 ? (
          <span class="muted">—</span>
        ) : (
          <ul class="chips">
            {a.skills.map((s) => (
              <li title={s.tags.join(', ')}>{s.name}</li>
            ))}
          </ul>
        )}
      </td>
      <td data-label="Tools">{a.tools.length === 0 ? <span class="muted">—</span> : a.tools.join(', ')}</td>
      <td class="row-actions">
        <Link to={{ page: 'chat', kind: a.kind, name: a.name }} class="button" aria-label={`Chat with ${id}`}>
          Chat
        </Link>
        <Link to={{ page: 'agent-edit', kind: a.kind, name: a.name }} class="button" aria-label={`Edit ${id}`}>
          Edit
        </Link>
        {confirming ? (
          <span class="confirm" role="group" aria-label={`Confirm deleting ${id}`}>
            <button type="button" class="danger" onClick={remove} disabled={busy} autofocus>
              Delete {id} and its memory
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" class="danger-outline" onClick={() => setConfirming(true)} aria-label={`Delete ${id}`}>
            Delete
          </button>
        )}
        {error !== undefined && <ErrorNotice error={error} />}
      </td>
    </tr>
  );
}
