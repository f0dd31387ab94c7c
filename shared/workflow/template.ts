/**
 * Prompt templates: `{{input}}`, `{{steps.<id>.output}}` and `{{run.id}}`, with optional spaces inside the braces.
 * Anything else between double braces is an error when the definition is checked, so a typo such as
 * `{{steps.spec.outptu}}` is reported instead of reaching an agent verbatim.
 *
 * @module
 */

/** A placeholder as written, and what it refers to. */
export type Placeholder =
  | { text: string; kind: 'input' }
  | { text: string; kind: 'run-id' }
  | { text: string; kind: 'step'; step: string }
  | { text: string; kind: 'unknown'; expression: string };

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const STEP_OUTPUT = /^steps\.([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)\.output$/;

/** Every placeholder in `template`, in order of appearance. */
export function placeholders(template: string): Placeholder[] {
  const out: Placeholder[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const text = m[0];
    const expression = m[1] ?? '';
    if (expression === 'input') out.push({ text, kind: 'input' });
    else if (expression === 'run.id') out.push({ text, kind: 'run-id' });
    else {
      const step = STEP_OUTPUT.exec(expression)?.[1];
      out.push(step === undefined ? { text, kind: 'unknown', expression } : { text, kind: 'step', step });
    }
  }
  return out;
}

export interface TemplateValues {
  input: string;
  runId: string;
  /** Outputs of the steps that completed; a step that was skipped or has not run renders as empty. */
  outputs: Readonly<Record<string, string | undefined>>;
}

/**
 * Renders a template. When the result would exceed `maxChars` (the agents' message limit), each inserted value is
 * cut to an equal share of the room the template's own text leaves, marked `[…truncated]`.
 */
export function render(template: string, values: TemplateValues, maxChars = Number.POSITIVE_INFINITY): string {
  const value = (p: Placeholder): string =>
    p.kind === 'input' ? values.input : p.kind === 'run-id' ? values.runId : p.kind === 'step' ? (values.outputs[p.step] ?? '') : p.text;
  const fill = (cap: number) =>
    template.replace(PLACEHOLDER, (text) => {
      const [p] = placeholders(text);
      const v = p ? value(p) : text;
      return v.length > cap ? `${v.slice(0, Math.max(0, cap - 14))} […truncated]` : v;
    });
  const full = fill(Number.POSITIVE_INFINITY);
  if (full.length <= maxChars) return full;
  const found = placeholders(template).filter((p) => p.kind !== 'unknown');
  const fixed = template.replace(PLACEHOLDER, '').length;
  const share = Math.max(64, Math.floor((maxChars - fixed) / Math.max(1, found.length)));
  const cut = fill(share);
  return cut.length <= maxChars ? cut : cut.slice(0, maxChars);
}
