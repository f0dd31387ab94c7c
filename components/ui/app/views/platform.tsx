/**
 * The platform at a glance: health, the A2A agent card other agents see, LLM usage per scope for a day or month, and
 * the budgets the router enforces.
 *
 * @module
 */
import { useState } from 'preact/hooks';
import { ErrorNotice, Field, formatNumber, Loading, Page, str, useApp, useLoad } from './ui.tsx';

interface Usage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cost: number;
  cacheHits?: number;
}
interface UsageBody {
  period: string;
  items: { scope: string; usage: Usage; budget: Record<string, number> | null }[];
}
interface Health {
  status: string;
  version: string;
  components: string[];
  auth: { enabled: boolean; keys: number; error?: string };
}
interface Card {
  name?: string;
  description?: string;
  version?: string;
  url?: string;
  protocolVersion?: string;
  capabilities?: Record<string, unknown>;
  skills?: { id: string; name: string; description?: string; tags?: string[] }[];
}

const today = () => new Date().toISOString().slice(0, 10);
const PERIOD = /^\d{4}-\d{2}(-\d{2})?$/;

const budgetText = (b: Record<string, number> | null | undefined) =>
  b
    ? Object.entries(b)
        .map(([k, v]) => `${k} ${formatNumber(v)}`)
        .join(', ')
    : '—';

export function PlatformPage() {
  const { api } = useApp();
  const health = useLoad(() => api.get<Health>('/health'), []);
  const card = useLoad(() => api.get<Card>('/.well-known/agent-card.json'), []);
  const [period, setPeriod] = useState(today());
  const [shown, setShown] = useState(today());
  const [periodError, setPeriodError] = useState<string | undefined>();
  const usage = useLoad(() => api.get<UsageBody>(`/api/v1/usage?period=${encodeURIComponent(shown)}`), [shown]);
  const budgets = useLoad(() => api.get<{ items: { scope: string; budget: Record<string, number> }[] }>('/api/v1/budgets'), []);

  return (
    <Page title="Platform">
      <section aria-labelledby="health-title" class="card">
        <h2 id="health-title">Health</h2>
        {health.loading && <Loading what="health" />}
        {health.error !== undefined && <ErrorNotice error={health.error} onRetry={health.reload} />}
        {health.data && (
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <span class={`badge status-${health.data.status}`}>{health.data.status}</span>
            </dd>
            <dt>Version</dt>
            <dd>{health.data.version}</dd>
            <dt>Authentication</dt>
            <dd>{health.data.auth.enabled ? `on (${health.data.auth.keys} key${health.data.auth.keys === 1 ? '' : 's'})` : 'off'}</dd>
            <dt>Components</dt>
            <dd>{health.data.components.join(', ')}</dd>
          </dl>
        )}
      </section>

      <section aria-labelledby="card-title" class="card">
        <h2 id="card-title">Agent card</h2>
        {card.loading && <Loading what="the agent card" />}
        {card.error !== undefined && <ErrorNotice error={card.error} onRetry={card.reload} />}
        {card.data && (
          <>
            <p>
              <strong>{card.data.name ?? 'Unnamed'}</strong> {card.data.version && <span class="muted">v{card.data.version}</span>}
            </p>
            {card.data.description && <p>{card.data.description}</p>}
            <dl class="facts">
              {card.data.url && (
                <>
                  <dt>Endpoint</dt>
                  <dd>
                    <code>{card.data.url}</code>
                  </dd>
                </>
              )}
              {card.data.protocolVersion && (
                <>
                  <dt>Protocol</dt>
                  <dd>A2A {card.data.protocolVersion}</dd>
                </>
              )}
              {card.data.capabilities && (
                <>
                  <dt>Capabilities</dt>
                  <dd>
                    {Object.entries(card.data.capabilities)
                      .filter(([, v]) => v === true)
                      .map(([k]) => k)
                      .join(', ') || 'none'}
                  </dd>
                </>
              )}
            </dl>
            <h3>Skills ({card.data.skills?.length ?? 0})</h3>
            <ul class="skills">
              {(card.data.skills ?? []).map((s) => (
                <li>
                  <strong>{s.name}</strong> <code class="muted">{s.id}</code>
                  {s.description && <p>{s.description}</p>}
                  {s.tags && s.tags.length > 0 && (
                    <ul class="chips" aria-label="Tags">
                      {s.tags.map((t) => (
                        <li>{t}</li>
                      ))}
                    </ul>
                  )}
                </li>
              ))}
            </ul>
            <details>
              <summary>Raw JSON</summary>
              <pre class="wrap">{JSON.stringify(card.data, null, 2)}</pre>
            </details>
          </>
        )}
      </section>

      <section aria-labelledby="usage-title" class="card">
        <h2 id="usage-title">Usage</h2>
        <form
          class="filters"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const p = period.trim();
            if (!PERIOD.test(p)) return setPeriodError('period must be a day (YYYY-MM-DD) or a month (YYYY-MM)');
            setPeriodError(undefined);
            setShown(p);
          }}
        >
          <Field id="usage-period" label="Day or month" error={periodError} hint="YYYY-MM-DD or YYYY-MM">
            {(a) => <input {...a} value={period} onInput={(e) => setPeriod(e.currentTarget.value)} />}
          </Field>
          <div class="actions">
            <button type="submit">Show</button>
          </div>
        </form>
        {usage.loading && <Loading what="usage" />}
        {usage.error !== undefined && <ErrorNotice error={usage.error} onRetry={usage.reload} />}
        {usage.data && usage.data.items.length === 0 && <p class="empty">No usage in {usage.data.period}.</p>}
        {usage.data && usage.data.items.length > 0 && (
          <table class="responsive numbers">
            <caption>Usage in {usage.data.period}</caption>
            <thead>
              <tr>
                <th scope="col">Scope</th>
                <th scope="col">Requests</th>
                <th scope="col">Prompt tokens</th>
                <th scope="col">Completion tokens</th>
                <th scope="col">Cost</th>
                <th scope="col">Budget</th>
              </tr>
            </thead>
            <tbody>
              {usage.data.items.map((i) => (
                <tr>
                  <th scope="row" data-label="Scope">
                    <code>{i.scope}</code>
                  </th>
                  <td data-label="Requests">{formatNumber(i.usage.requests)}</td>
                  <td data-label="Prompt tokens">{formatNumber(i.usage.promptTokens)}</td>
                  <td data-label="Completion tokens">{formatNumber(i.usage.completionTokens)}</td>
                  <td data-label="Cost">{i.usage.cost.toFixed(4)}</td>
                  <td data-label="Budget">{budgetText(i.budget)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="budgets-title" class="card">
        <h2 id="budgets-title">Budgets</h2>
        {budgets.loading && <Loading what="budgets" />}
        {budgets.error !== undefined && <ErrorNotice error={budgets.error} onRetry={budgets.reload} />}
        {budgets.data && budgets.data.items.length === 0 && <p class="empty">No budgets set.</p>}
        {budgets.data && budgets.data.items.length > 0 && (
          <ul>
            {budgets.data.items.map((b) => (
              <li>
                <code>{b.scope}</code>: {budgetText(b.budget)}
              </li>
            ))}
          </ul>
        )}
      </section>
      {str(health.data, 'status') === 'degraded' && <p class="notice warning">The platform reports itself degraded; see Health above.</p>}
    </Page>
  );
}
