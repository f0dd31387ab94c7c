/**
 * Form validation in the browser, mirroring the API's rules (shared/protocol/agents.ts and the chat, knowledge and
 * workflow bodies) so mistakes are shown next to the field before a request is sent. The server stays the authority:
 * its 400 `details` are mapped onto the same fields ({@link fieldErrorsFromIssues}).
 *
 * NOTE: the zod schemas themselves are not bundled: zod costs ~95 KB gzipped in the browser, more than the rest of
 * the app. test/unit/ui-validate.test.ts checks these rules against the real schemas instead.
 *
 * @module
 */
import type { Issue } from './api.ts';

/** Same values as shared/protocol/agents.ts (checked by the unit test). */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const MODEL = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;
export const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const TOOLS = ['search_knowledge', 'execute_code', 'ask_agent', 'remember', 'recall'] as const;
export const LIMITS = {
  description: 2000,
  instructionsBytes: 32 * 1024,
  skills: 64,
  tags: 32,
  shortText: 128,
  message: 32 * 1024,
} as const;
const SLUG_RULE = '1-64 lowercase letters, digits and hyphens, starting and ending with a letter or digit';

/** Messages by field key: `name`, `skills.0.id`, `budget.dailyTokens`; `''` holds errors no field owns. */
export type FieldErrors = Record<string, string>;

/** The key of a field for an issue path (`['skills', 0, 'id']` → `skills.0.id`). */
export const fieldKey = (path: readonly (string | number)[]): string => path.join('.');

/** Server issues as field errors; the first message per field wins. */
export function fieldErrorsFromIssues(issues: readonly Issue[]): FieldErrors {
  const out: FieldErrors = {};
  for (const i of issues) out[fieldKey(i.path)] ??= i.message;
  return out;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
const utf8Length = (s: string) => new TextEncoder().encode(s).length;

function shortText(what: string, value: string): string | undefined {
  if (value.length === 0) return `${what} must not be empty`;
  if (value.length > LIMITS.shortText) return `${what} must be at most ${LIMITS.shortText} characters`;
  if (hasControl(value)) return `${what} must not contain control characters`;
  return undefined;
}

function slug(what: string, value: string): string | undefined {
  if (value === '') return `${what} is required`;
  return SLUG.test(value) ? undefined : `${what} must be a slug (${SLUG_RULE})`;
}

/** One skill row of the agent form; tags are comma-separated. */
export interface SkillDraft {
  id: string;
  name: string;
  description: string;
  tags: string;
}

/** The agent form's fields as typed. */
export interface AgentDraft {
  name: string;
  kind: string;
  description: string;
  model: string;
  instructions: string;
  tools: string[];
  skills: SkillDraft[];
  dailyTokens: string;
  monthlyTokens: string;
}

export const emptyAgentDraft = (kind = ''): AgentDraft => ({
  name: '',
  kind,
  description: '',
  model: 'chat',
  instructions: '',
  tools: [],
  skills: [],
  dailyTokens: '',
  monthlyTokens: '',
});

/** The fields of an agent the form edits, as the API has them. */
export interface AgentFields {
  name: string;
  kind: string;
  description: string;
  model: string;
  instructions: string;
  tools: string[];
  skills: { id: string; name: string; description: string; tags: string[] }[];
}

/** The body the form sends: create takes all of it; edit sends it as a merge patch (the API accepts `name`/`kind` unchanged). */
export interface AgentBody extends AgentFields {
  budget?: { dailyTokens?: number; monthlyTokens?: number } | null;
}

function positiveInt(what: string, value: string): { error?: string; value?: number } {
  const v = value.trim();
  if (v === '') return {};
  if (!/^\d+$/.test(v) || Number(v) <= 0 || !Number.isSafeInteger(Number(v))) return { error: `${what} must be a positive whole number` };
  return { value: Number(v) };
}

export const splitTags = (tags: string): string[] =>
  tags
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');

/**
 * Checks the form; returns the errors by field and, when there are none, the request body. `editing` sends
 * `budget: null` for an emptied budget so the API removes it.
 */
export function validateAgent(draft: AgentDraft, editing = false): { errors: FieldErrors; body?: AgentBody } {
  const errors: FieldErrors = {};
  const set = (key: string, message: string | undefined) => {
    if (message !== undefined) errors[key] ??= message;
  };
  set('name', slug('name', draft.name));
  set('kind', slug('kind', draft.kind));
  if (draft.description.length > LIMITS.description) set('description', `description must be at most ${LIMITS.description} characters`);
  if (!MODEL.test(draft.model)) set('model', 'model must be a router alias or provider/model name (1-128 of [A-Za-z0-9._:/@+-])');
  if (utf8Length(draft.instructions) > LIMITS.instructionsBytes)
    set('instructions', `instructions must be at most ${LIMITS.instructionsBytes} bytes (32 KiB) of UTF-8`);
  const tools = draft.tools;
  tools.forEach((t, i) => {
    if (!(TOOLS as readonly string[]).includes(t)) set('tools', `unknown tool ${JSON.stringify(t)}; known tools: ${TOOLS.join(', ')}`);
    else if (tools.indexOf(t) !== i) set('tools', `duplicate tool ${JSON.stringify(t)}`);
  });
  if (draft.skills.length > LIMITS.skills) set('skills', `an agent has at most ${LIMITS.skills} skills`);
  const seen = new Set<string>();
  const skills = draft.skills.map((s, i) => {
    set(`skills.${i}.id`, slug('skill id', s.id));
    if (seen.has(s.id)) set(`skills.${i}.id`, `duplicate skill id ${JSON.stringify(s.id)}`);
    seen.add(s.id);
    set(`skills.${i}.name`, shortText('skill name', s.name));
    if (s.description.length > LIMITS.description)
      set(`skills.${i}.description`, `description must be at most ${LIMITS.description} characters`);
    const tags = splitTags(s.tags);
    if (tags.length > LIMITS.tags) set(`skills.${i}.tags`, `a skill has at most ${LIMITS.tags} tags`);
    for (const t of tags) set(`skills.${i}.tags`, shortText('tag', t));
    return { id: s.id, name: s.name, description: s.description, tags };
  });
  const daily = positiveInt('daily tokens', draft.dailyTokens);
  const monthly = positiveInt('monthly tokens', draft.monthlyTokens);
  set('budget.dailyTokens', daily.error);
  set('budget.monthlyTokens', monthly.error);
  if (Object.keys(errors).length > 0) return { errors };
  const body: AgentBody = {
    name: draft.name,
    kind: draft.kind,
    description: draft.description,
    model: draft.model,
    instructions: draft.instructions,
    tools: [...tools],
    skills,
  };
  if (daily.value !== undefined || monthly.value !== undefined) {
    body.budget = {};
    if (daily.value !== undefined) body.budget.dailyTokens = daily.value;
    if (monthly.value !== undefined) body.budget.monthlyTokens = monthly.value;
  } else if (editing) body.budget = null;
  return { errors, body };
}

/** The form's fields for an existing agent record. */
export function draftFromAgent(a: AgentFields & { budget?: { dailyTokens?: number; monthlyTokens?: number } | undefined }): AgentDraft {
  return {
    name: a.name,
    kind: a.kind,
    description: a.description,
    model: a.model,
    instructions: a.instructions,
    tools: [...a.tools],
    skills: a.skills.map((s) => ({ id: s.id, name: s.name, description: s.description, tags: s.tags.join(', ') })),
    dailyTokens: a.budget?.dailyTokens !== undefined ? String(a.budget.dailyTokens) : '',
    monthlyTokens: a.budget?.monthlyTokens !== undefined ? String(a.budget.monthlyTokens) : '',
  };
}

/** A chat message: non-empty and within the agent runtime's limit. */
export function validateMessage(message: string): string | undefined {
  if (message.trim() === '') return 'Type a message first';
  if (message.length > LIMITS.message) return `messages are limited to ${LIMITS.message} characters`;
  return undefined;
}

/** A knowledge search: query, mode, topK (1-50) and an optional JSON object of metadata filters. */
export interface SearchDraft {
  query: string;
  mode: string;
  topK: string;
  filter: string;
}

export interface SearchBody {
  query: string;
  mode: 'hybrid' | 'vector' | 'keyword';
  topK: number;
  filter?: Record<string, unknown>;
}

export const SEARCH_MODES = ['hybrid', 'vector', 'keyword'] as const;
export const MAX_TOP_K = 50;

export function validateSearch(draft: SearchDraft): { errors: FieldErrors; body?: SearchBody } {
  const errors: FieldErrors = {};
  if (draft.query.trim() === '') errors.query = 'query must not be empty';
  if (!(SEARCH_MODES as readonly string[]).includes(draft.mode)) errors.mode = `mode must be one of ${SEARCH_MODES.join(', ')}`;
  const topK = Number(draft.topK);
  if (!/^\d+$/.test(draft.topK.trim()) || topK < 1 || topK > MAX_TOP_K) errors.topK = `topK must be a whole number from 1 to ${MAX_TOP_K}`;
  let filter: Record<string, unknown> | undefined;
  if (draft.filter.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(draft.filter);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        errors.filter = 'filter must be a JSON object, like {"tag": "ops"}';
      else filter = parsed as Record<string, unknown>;
    } catch (err) {
      errors.filter = `filter is not valid JSON (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  if (Object.keys(errors).length > 0) return { errors };
  const body: SearchBody = { query: draft.query, mode: draft.mode as SearchBody['mode'], topK };
  if (filter) body.filter = filter;
  return { errors, body };
}

/** A knowledge collection name: a slug, like agent names. */
export function validateCollection(name: string): string | undefined {
  return slug('collection name', name);
}

/** What the ingest form sends; metadata is an optional JSON object. */
export function validateDocument(draft: { title: string; content: string; metadata: string }): {
  errors: FieldErrors;
  body?: { title?: string; content: string; metadata?: Record<string, unknown> };
} {
  const errors: FieldErrors = {};
  if (draft.content.trim() === '') errors.content = 'choose a file or paste some text: the document has no content';
  let metadata: Record<string, unknown> | undefined;
  if (draft.metadata.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(draft.metadata);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) errors.metadata = 'metadata must be a JSON object';
      else metadata = parsed as Record<string, unknown>;
    } catch (err) {
      errors.metadata = `metadata is not valid JSON (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  if (draft.title.length > 512) errors.title = 'title must be at most 512 characters';
  if (Object.keys(errors).length > 0) return { errors };
  const body: { title?: string; content: string; metadata?: Record<string, unknown> } = { content: draft.content };
  if (draft.title.trim() !== '') body.title = draft.title.trim();
  if (metadata) body.metadata = metadata;
  return { errors, body };
}

/** A workflow run's input: the task to work on. */
export function validateRunInput(input: string): string | undefined {
  return input.trim() === '' ? 'describe the task for the workflow' : undefined;
}
