/**
 * Spin's variable templates: `literal {{ name }} literal`.
 *
 * Same grammar as Spin's `spin-expressions`: an expression runs from `{{` to the next `}}` and its name is trimmed;
 * there are no escapes, a lone `}}` is literal text, and an unmatched `{{` is an error. Used for component
 * `variables` values and for `allowed_outbound_hosts` entries.
 *
 * @module
 */
import { HostError } from './errors.ts';

export type TemplatePart = { kind: 'literal'; text: string } | { kind: 'expr'; name: string };

/** A parsed template. Construct with {@link parseTemplate}. */
export class Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];

  constructor(source: string, parts: readonly TemplatePart[]) {
    this.source = source;
    this.parts = parts;
  }

  /** True when the template has no `{{ }}` expression. */
  get isLiteral(): boolean {
    return this.parts.every((p) => p.kind === 'literal');
  }

  /** Names referenced by expressions, in order of first appearance, without duplicates. */
  get variables(): string[] {
    const names: string[] = [];
    for (const part of this.parts) {
      if (part.kind === 'expr' && !names.includes(part.name)) names.push(part.name);
    }
    return names;
  }

  /** Concatenates the parts, asking `resolve` for each expression; whatever `resolve` throws propagates. */
  render(resolve: (name: string) => string): string {
    let out = '';
    for (const part of this.parts) out += part.kind === 'literal' ? part.text : resolve(part.name);
    return out;
  }

  /** The canonical form Spin prints in messages: expressions re-spaced as `{{ name }}`. */
  toString(): string {
    return this.parts.map((p) => (p.kind === 'literal' ? p.text : `{{ ${p.name} }}`)).join('');
  }
}

/**
 * Parses a template.
 *
 * @throws {HostError} `template-invalid` on an unmatched `{{`.
 */
export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let rest = source;
  while (rest !== '') {
    if (rest.startsWith('{{')) {
      const end = rest.indexOf('}}', 2);
      if (end === -1) {
        throw new HostError(`invalid variable template ${JSON.stringify(source)}: unmatched '{{' in template`, {
          code: 'template-invalid',
          hint: 'close every `{{` with `}}`; templates have no escapes',
        });
      }
      parts.push({ kind: 'expr', name: rest.slice(2, end).trim() });
      rest = rest.slice(end + 2);
    } else {
      const next = rest.indexOf('{{');
      const text = next === -1 ? rest : rest.slice(0, next);
      parts.push({ kind: 'literal', text });
      rest = rest.slice(text.length);
    }
  }
  return new Template(source, parts);
}
