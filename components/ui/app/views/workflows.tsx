/**
 * Workflow runs: start one from a template (the built-in SPARC or a stored definition), watch it step by step as the
 * run's event stream arrives, approve or reject at approval gates, resume an interrupted run, cancel.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, path } from '../api.ts';
import { fieldErrorsFromIssues, validateRunInput } from '../validate.ts';
import { ErrorNotice, Field, formatTime, Link, Loading, Page, useApp, useLoad } from './ui.tsx';

interface RunSummary {
  id: string;
  workflow: { id: string; name: string };
  status: string;
  current: string | null;
  createdAt: string;
  finishedAt: string | null;
  interrupted: boolean;
}

interface RunStep {
  id: string;
  type: string;
  title: string;
  agent?: string;
  status: string;
  attempts: number;
  output: string | null;
  error: { code: string; message: string } | null;
}

interface RunView {
  id: string;
  workflow: { id: string; name: string };
  status: string;
  interrupted: boolean;
  approval: { step: string; message: string } | null;
  input: string;
  steps: RunStep[];
  error?: { code: string; message: string } | null;
}

const TERMINAL = ['completed', 'failed', 'cancelled', 'rejected'];

/** Runs started from the form, to be executed as soon as their page opens. */
const autostart = new Set<string>();

export function WorkflowsPage() {
  const { api, navigate } = useApp();
  const runs = useLoad(() => api.get<{ items: RunSummary[] }>('/api/v1/workflows/runs?limit=50'), []);
  const definitions = useLoad(
    () => api.get<{ items: { id: string; name: string; description: string }[] }>('/api/v1/workflows/definitions'),
    [],
  );
  const [template, setTemplate] = useState('sparc');
  const [input, setInput] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const start = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    const problem = validateRunInput(input);
    setErrors(problem ? { input: problem } : {});
    if (problem) return inputRef.current?.focus();
    setBusy(true);
    try {
      const run = await api.request<{ id: string }>('POST', '/api/v1/workflows/runs', { template, input });
      autostart.add(run.id);
      navigate({ page: 'run', id: run.id });
    } catch (err) {
      setFailure(err);
      if (err instanceof ApiError) setErrors(fieldErrorsFromIssues(err.issues));
      setBusy(false);
    }
  };

  const defs = definitions.data?.items ?? [{ id: 'sparc', name: 'SPARC', description: '' }];
  return (
    <Page title="Workflows">
      <section aria-labelledby="start-title" class="card">
        <h2 id="start-title">Start a run</h2>
        <form onSubmit={start} noValidate class="stack">
          {failure !== undefined && <ErrorNotice error={failure} />}
          <Field id="run-template" label="Workflow" error={errors.template}>
            {(a) => (
              <select {...a} value={template} onChange={(e) => setTemplate(e.currentTarget.value)}>
                {defs.map((d) => (
                  <option value={d.id}>
                    {d.name} ({d.id})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id="run-input" label="Task" error={errors.input} hint="What the workflow should work on">
            {(a) => <textarea {...a} ref={inputRef} rows={4} value={input} onInput={(e) => setInput(e.currentTarget.value)} />}
          </Field>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Starting…' : 'Start run'}
            </button>
          </div>
        </form>
      </section>
      <section aria-labelledby="runs-title">
        <h2 id="runs-title">Runs</h2>
        {runs.loading && <Loading what="runs" />}
        {runs.error !== undefined && <ErrorNotice error={runs.error} onRetry={runs.reload} />}
        {runs.data && runs.data.items.length === 0 && <p class="empty">No runs yet.</p>}
        {runs.data && runs.data.items.length > 0 && (
          <table class="responsive">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Workflow</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((r) => (
                <tr>
                  <th scope="row" data-label="Run">
                    <Link to={{ page: 'run', id: r.id }}>{r.id}</Link>
                  </th>
                  <td data-label="Workflow">{r.workflow.name}</td>
                  <td data-label="Status">
                    <StatusBadge status={r.interrupted ? 'interrupted' : r.status} />
                  </td>
                  <td data-label="Started">{formatTime(r.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}

function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status.replace('_', ' ')}</span>;
}

/** Text of one run event for the activity log. */
function describeEvent(event: string, d: Record<string, unknown>): string {
  const step = String(d.step ?? '');
  switch (event) {
    case 'run_started':
      return `Run started${d.resumedAt ? ' (resumed)' : ''}`;
    case 'step_started':
      return `${step}: started${d.agent ? ` with ${String(d.agent)}` : ''}${Number(d.attempt) > 1 ? ` (attempt ${String(d.attempt)})` : ''}`;
    case 'step_completed':
      return `${step}: completed`;
    case 'step_skipped':
      return `${step}: skipped (${String(d.reason ?? '')})`;
    case 'step_failed': {
      const e = d.error as { message?: string } | undefined;
      return `${step}: failed: ${e?.message ?? ''}${d.retryInMs !== null && d.retryInMs !== undefined ? ', retrying' : ''}`;
    }
    case 'waiting_approval':
      return `${step}: waiting for approval`;
    case 'run_completed':
      return 'Run completed';
    case 'run_failed': {
      const e = d.error as { message?: string } | undefined;
      return `Run ended ${String(d.status ?? 'failed')}: ${e?.message ?? ''}`;
    }
    default:
      return event;
  }
}

export function RunPage({ id }: { id: string }) {
  const { api } = useApp();
  const run = useLoad(() => api.get<RunView>(path`/api/v1/workflows/runs/${id}`), [id]);
  const [live, setLive] = useState<RunView | undefined>();
  const [activity, setActivity] = useState<string[]>([]);
  const [driving, setDriving] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const [comment, setComment] = useState('');
  const view = live ?? run.data;

  useEffect(() => {
    if (run.data) setLive(run.data);
  }, [run.data]);

  /** Drives the run through an event stream (`run`, `resume` or `approve`), updating steps as events arrive. */
  const drive = async (action: 'run' | 'resume' | 'approve') => {
    setDriving(true);
    setFailure(undefined);
    try {
      const body = action === 'approve' && comment.trim() !== '' ? { comment } : undefined;
      for await (const ev of api.stream(path`/api/v1/workflows/runs/${id}/${action}`, body ?? {})) {
        const d = JSON.parse(ev.data) as Record<string, unknown>;
        setActivity((a) => [...a, describeEvent(ev.event, d)]);
        setLive((v) => (v ? applyEvent(v, ev.event, d) : v));
      }
    } catch (err) {
      setFailure(err);
    } finally {
      setDriving(false);
      run.reload();
    }
  };

  const decide = async (action: 'reject' | 'cancel') => {
    setFailure(undefined);
    try {
      const body = action === 'reject' && comment.trim() !== '' ? { comment } : {};
      setLive(await api.request<RunView>('POST', path`/api/v1/workflows/runs/${id}/${action}`, body));
      setActivity((a) => [...a, action === 'reject' ? 'Rejected' : 'Cancel requested']);
    } catch (err) {
      setFailure(err);
    }
  };

  useEffect(() => {
    if (run.data && autostart.delete(id) && run.data.status === 'pending') void drive('run');
  }, [run.data]);

  return (
    <Page
      title={`Workflow run ${id}`}
      actions={
        <Link to={{ page: 'workflows' }} class="button">
          All runs
        </Link>
      }
    >
      {run.loading && !view && <Loading what="the run" />}
      {run.error !== undefined && !view && <ErrorNotice error={run.error} onRetry={run.reload} />}
      {failure !== undefined && <ErrorNotice error={failure} />}
      {view && (
        <>
          <p>
            {view.workflow.name}: <StatusBadge status={view.interrupted && !driving ? 'interrupted' : view.status} />
          </p>
          <details>
            <summary>Task</summary>
            <pre class="wrap">{view.input}</pre>
          </details>
          <div class="actions">
            {view.status === 'pending' && (
              <button type="button" class="primary" disabled={driving} onClick={() => drive('run')}>
                Run
              </button>
            )}
            {view.interrupted && !driving && (
              <button type="button" class="primary" onClick={() => drive('resume')}>
                Resume
              </button>
            )}
            {!TERMINAL.includes(view.status) && (
              <button type="button" class="danger-outline" onClick={() => decide('cancel')}>
                Cancel run
              </button>
            )}
          </div>
          {view.approval && view.status === 'waiting_approval' && !driving && (
            <section class="card approval" aria-labelledby="approval-title">
              <h2 id="approval-title">Approval needed: {view.approval.step}</h2>
              <pre class="wrap">{view.approval.message}</pre>
              <Field id="approval-comment" label="Comment (optional)">
                {(a) => <input {...a} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />}
              </Field>
              <div class="actions">
                <button type="button" class="primary" onClick={() => drive('approve')}>
                  Approve and continue
                </button>
                <button type="button" class="danger-outline" onClick={() => decide('reject')}>
                  Reject
                </button>
              </div>
            </section>
          )}
          <ol class="steps" aria-label="Steps">
            {view.steps.map((s) => (
              <li class={`step status-${s.status}`} aria-current={s.status === 'running' ? 'step' : undefined}>
                <h3>
                  {s.title} <StatusBadge status={s.status} />
                  {s.agent && <span class="muted"> · {s.agent}</span>}
                </h3>
                {s.error && <p class="field-error">{s.error.message}</p>}
                {s.output && (
                  <details open={s.status === 'completed'}>
                    <summary>Output</summary>
                    <pre class="wrap">{s.output}</pre>
                  </details>
                )}
              </li>
            ))}
          </ol>
          <h2>Activity</h2>
          <div role="log" aria-live="polite" aria-label="Activity">
            <ol class="activity">
              {activity.map((a) => (
                <li>{a}</li>
              ))}
              {driving && <li class="muted">working…</li>}
            </ol>
          </div>
        </>
      )}
    </Page>
  );
}

/** The run view after one event (the full record is reloaded when the stream ends). */
function applyEvent(v: RunView, event: string, d: Record<string, unknown>): RunView {
  const step = (id: unknown, patch: Partial<RunStep>) => ({ ...v, steps: v.steps.map((s) => (s.id === id ? { ...s, ...patch } : s)) });
  switch (event) {
    case 'run_started':
      return { ...v, status: 'running', interrupted: false };
    case 'step_started':
      return { ...step(d.step, { status: 'running', error: null }), status: 'running' };
    case 'step_completed':
      return step(d.step, { status: 'completed', output: String(d.output ?? '') });
    case 'step_skipped':
      return step(d.step, { status: 'skipped' });
    case 'step_failed':
      return step(d.step, { status: d.retryInMs === null ? 'failed' : 'running', error: (d.error as RunStep['error']) ?? null });
    case 'waiting_approval':
      return {
        ...step(d.step, { status: 'waiting_approval' }),
        status: 'waiting_approval',
        approval: { step: String(d.step), message: String(d.message ?? '') },
      };
    case 'run_completed':
      return { ...v, status: 'completed', approval: null };
    case 'run_failed':
      return { ...v, status: String(d.status ?? 'failed'), approval: null };
    default:
      return v;
  }
}
