/**
 * Creating and editing an agent. The form checks the API's rules as you submit (validate.ts), shows each problem
 * next to its field and moves focus to the first; the server's own 400 details land on the same fields.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, path } from '../api.ts';
import {
  draftFromAgent,
  emptyAgentDraft,
  fieldErrorsFromIssues,
  LIMITS,
  TOOLS,
  validateAgent,
  type AgentDraft,
  type FieldErrors,
  type SkillDraft,
} from '../validate.ts';
import { useKinds, type AgentRecord } from './agents.tsx';
import { ErrorNotice, Field, focusFirstInvalid, Loading, Page, useApp, useLoad } from './ui.tsx';

const TOOL_HELP: Record<string, string> = {
  search_knowledge: 'search the knowledge base',
  execute_code: 'run code in the sandbox',
  ask_agent: 'ask a peer agent (A2A)',
  remember: 'store a fact',
  recall: 'read stored facts',
};

export function AgentForm({ kind, name }: { kind?: string; name?: string }) {
  const { api } = useApp();
  const editing = kind !== undefined && name !== undefined;
  const existing = useLoad(
    () => (editing ? api.get<AgentRecord>(path`/api/v1/agents/${kind}/${name}`) : Promise.resolve(undefined)),
    [kind, name],
  );
  const title = editing ? `Edit ${kind}/${name}` : 'New agent';
  if (editing && existing.loading) return <Page title={title}>{<Loading what="the agent" />}</Page>;
  if (editing && existing.error !== undefined)
    return (
      <Page title={title}>
        <ErrorNotice error={existing.error} onRetry={existing.reload} />
      </Page>
    );
  return <AgentFormBody title={title} initial={existing.data ? draftFromAgent(existing.data) : undefined} editing={editing} />;
}

function AgentFormBody({ title, initial, editing }: { title: string; initial: AgentDraft | undefined; editing: boolean }) {
  const { api, navigate } = useApp();
  const kinds = useKinds();
  const [draft, setDraft] = useState<AgentDraft>(initial ?? emptyAgentDraft());
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (!editing && draft.kind === '' && kinds.length > 0) setDraft((d) => ({ ...d, kind: kinds[0]! }));
  }, [kinds.join(',')]);
  // After a failed submit the invalid fields render first; then focus moves to the first of them.
  useEffect(() => {
    if (attempt > 0) focusFirstInvalid(form.current);
  }, [attempt]);

  const set = <K extends keyof AgentDraft>(key: K, value: AgentDraft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const setSkill = (i: number, patch: Partial<SkillDraft>) =>
    setDraft((d) => ({ ...d, skills: d.skills.map((s, j) => (j === i ? { ...s, ...patch } : s)) }));

  const submit = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    const { errors: found, body } = validateAgent(draft, editing);
    setErrors(found);
    if (!body) {
      setAttempt((a) => a + 1);
      return;
    }
    setBusy(true);
    try {
      if (editing) await api.request('PATCH', path`/api/v1/agents/${body.kind}/${body.name}`, body);
      else await api.request('POST', '/api/v1/agents', body);
      navigate({ page: 'agents' });
    } catch (err) {
      setFailure(err);
      if (err instanceof ApiError && err.issues.length > 0) {
        setErrors(fieldErrorsFromIssues(err.issues));
        setAttempt((a) => a + 1);
      }
      setBusy(false);
    }
  };

  const count = Object.keys(errors).length;
  return (
    <Page title={title}>
      <form ref={form} onSubmit={submit} noValidate class="stack" aria-describedby={count > 0 ? 'form-summary' : undefined}>
        {count > 0 && failure === undefined && (
          <p id="form-summary" class="notice error" role="alert">
            {count === 1 ? 'One field needs attention.' : `${count} fields need attention.`}
          </p>
        )}
        {failure !== undefined && <ErrorNotice error={failure} />}
        <div class="grid-2">
          <Field id="agent-name" label="Name" error={errors.name} hint="Lowercase letters, digits and hyphens; cannot change later">
            {(a) => (
              <input
                {...a}
                value={draft.name}
                onInput={(e) => set('name', e.currentTarget.value)}
                readOnly={editing}
                autocomplete="off"
                spellcheck={false}
                required
              />
            )}
          </Field>
          <Field id="agent-kind" label="Kind" error={errors.kind} hint="The component that serves the agent">
            {(a) =>
              editing || kinds.length === 0 ? (
                <input {...a} value={draft.kind} onInput={(e) => set('kind', e.currentTarget.value)} readOnly={editing} required />
              ) : (
                <select {...a} value={draft.kind} onChange={(e) => set('kind', e.currentTarget.value)}>
                  {kinds.map((k) => (
                    <option value={k}>{k}</option>
                  ))}
                </select>
              )
            }
          </Field>
        </div>
        <Field id="agent-description" label="Description" error={errors.description}>
          {(a) => (
            <input
              {...a}
              value={draft.description}
              maxLength={LIMITS.description}
              onInput={(e) => set('description', e.currentTarget.value)}
            />
          )}
        </Field>
        <Field id="agent-model" label="Model" error={errors.model} hint="A router alias such as chat, or provider/model">
          {(a) => <input {...a} value={draft.model} onInput={(e) => set('model', e.currentTarget.value)} spellcheck={false} />}
        </Field>
        <Field id="agent-instructions" label="Instructions" error={errors.instructions} hint="The system prompt (up to 32 KiB)">
          {(a) => <textarea {...a} rows={5} value={draft.instructions} onInput={(e) => set('instructions', e.currentTarget.value)} />}
        </Field>

        <fieldset class={errors.tools ? 'invalid' : ''} aria-describedby={errors.tools ? 'tools-error' : undefined}>
          <legend>Tools</legend>
          <div class="checks">
            {TOOLS.map((t) => (
              <label class="check">
                <input
                  type="checkbox"
                  checked={draft.tools.includes(t)}
                  onChange={(e) => set('tools', e.currentTarget.checked ? [...draft.tools, t] : draft.tools.filter((x) => x !== t))}
                />
                <code>{t}</code> <span class="muted">{TOOL_HELP[t]}</span>
              </label>
            ))}
          </div>
          {errors.tools && (
            <p class="field-error" id="tools-error">
              {errors.tools}
            </p>
          )}
        </fieldset>

        <fieldset>
          <legend>Skills</legend>
          {errors.skills && <p class="field-error">{errors.skills}</p>}
          {draft.skills.length === 0 && <p class="muted">No skills. Skills appear in the platform's A2A agent card.</p>}
          {draft.skills.map((s, i) => (
            <div class="skill-row" role="group" aria-label={`Skill ${i + 1}`}>
              <Field id={`skill-${i}-id`} label="Id" error={errors[`skills.${i}.id`]}>
                {(a) => <input {...a} value={s.id} onInput={(e) => setSkill(i, { id: e.currentTarget.value })} spellcheck={false} />}
              </Field>
              <Field id={`skill-${i}-name`} label="Name" error={errors[`skills.${i}.name`]}>
                {(a) => <input {...a} value={s.name} onInput={(e) => setSkill(i, { name: e.currentTarget.value })} />}
              </Field>
              <Field id={`skill-${i}-tags`} label="Tags" error={errors[`skills.${i}.tags`]} hint="Comma-separated">
                {(a) => <input {...a} value={s.tags} onInput={(e) => setSkill(i, { tags: e.currentTarget.value })} />}
              </Field>
              <button
                type="button"
                class="danger-outline"
                aria-label={`Remove skill ${i + 1}`}
                onClick={() =>
                  set(
                    'skills',
                    draft.skills.filter((_, j) => j !== i),
                  )
                }
              >
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => set('skills', [...draft.skills, { id: '', name: '', description: '', tags: '' }])}>
            Add skill
          </button>
        </fieldset>

        <fieldset>
          <legend>Budget</legend>
          <div class="grid-2">
            <Field id="budget-daily" label="Daily tokens" error={errors['budget.dailyTokens']} hint="Empty for no limit">
              {(a) => (
                <input {...a} inputMode="numeric" value={draft.dailyTokens} onInput={(e) => set('dailyTokens', e.currentTarget.value)} />
              )}
            </Field>
            <Field id="budget-monthly" label="Monthly tokens" error={errors['budget.monthlyTokens']} hint="Empty for no limit">
              {(a) => (
                <input
                  {...a}
                  inputMode="numeric"
                  value={draft.monthlyTokens}
                  onInput={(e) => set('monthlyTokens', e.currentTarget.value)}
                />
              )}
            </Field>
          </div>
        </fieldset>

        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : 'Create agent'}
          </button>
          <button type="button" onClick={() => history.back()}>
            Cancel
          </button>
        </div>
      </form>
    </Page>
  );
}
