/**
 * The step graph of a definition: which steps may follow which, and at run time which one does.
 *
 * A run starts at the first step. After a step (completed, approved or skipped) comes its `next`: a step id, `end`,
 * or the first branch whose `when` holds; without `next`, or when no branch matches, the following step in the list
 * (the end after the last). Definitions are acyclic (see validate.ts), so each step runs at most once per run.
 *
 * @module
 */
import { END, type Condition, type Definition, type Step } from '../protocol/workflows.ts';

/** What conditions read: the run input and the outputs so far. */
export interface ConditionValues {
  input: string;
  outputs: Readonly<Record<string, string | undefined>>;
}

/** Whether a condition holds; a step that has not produced output reads as empty text. */
export function holds(c: Condition, values: ConditionValues): boolean {
  const subject = c.step === undefined ? values.input : (values.outputs[c.step] ?? '');
  let result: boolean;
  if (c.matches !== undefined) result = new RegExp(c.matches, c.ignoreCase ? 'i' : '').test(subject);
  else {
    const fold = (s: string) => (c.ignoreCase ? s.toLowerCase() : s);
    result = c.contains !== undefined ? fold(subject).includes(fold(c.contains)) : fold(subject).trim() === fold(c.equals ?? '').trim();
  }
  return c.not ? !result : result;
}

/** The steps (ids, or `end`) that may follow step `index`. */
export function successors(def: Definition, index: number): string[] {
  const step = def.steps[index]!;
  const following = def.steps[index + 1]?.id ?? END;
  const next = step.next;
  if (next === undefined) return [following];
  if (typeof next === 'string') return [next];
  const out = next.map((b) => b.goto);
  // Without an unconditional branch, nothing matching falls through to the following step.
  if (next.every((b) => b.when !== undefined)) out.push(following);
  return [...new Set(out)];
}

/** The step that follows `step` for these values: an id, or `end`. */
export function resolveNext(def: Definition, step: Step, values: ConditionValues): string {
  const index = def.steps.findIndex((s) => s.id === step.id);
  const following = def.steps[index + 1]?.id ?? END;
  const next = step.next;
  if (next === undefined) return following;
  if (typeof next === 'string') return next;
  for (const branch of next) if (branch.when === undefined || holds(branch.when, values)) return branch.goto;
  return following;
}

export function stepById(def: Definition, id: string): Step | undefined {
  return def.steps.find((s) => s.id === id);
}

/** `{kind, name}` of an agent reference; `name` is undefined for a kind's default agent. */
export function parseAgentRef(ref: string): { kind: string; name: string | undefined } {
  const [kind = '', name] = ref.split('/');
  return { kind, name };
}
