import { describe, expect, it } from 'vitest';
import { HostError } from '../../host/errors.ts';
import { parseTemplate } from '../../host/template.ts';

describe('parseTemplate', () => {
  it('splits literals and trimmed expressions (Spin template_parts)', () => {
    expect(parseTemplate('').parts).toEqual([]);
    expect(parseTemplate('a').parts).toEqual([{ kind: 'literal', text: 'a' }]);
    expect(parseTemplate('a-{{ expr }}-b').parts).toEqual([
      { kind: 'literal', text: 'a-' },
      { kind: 'expr', name: 'expr' },
      { kind: 'literal', text: '-b' },
    ]);
    expect(parseTemplate('{{ expr1 }}{{ expr2 }}').parts).toEqual([
      { kind: 'expr', name: 'expr1' },
      { kind: 'expr', name: 'expr2' },
    ]);
    expect(parseTemplate('{{x}}').parts).toEqual([{ kind: 'expr', name: 'x' }]);
    expect(parseTemplate('{{ \t spaced\n }}').parts).toEqual([{ kind: 'expr', name: 'spaced' }]);
  });

  it('has no escapes: a lone }} and a single { are literal', () => {
    expect(parseTemplate('a }} b { c').parts).toEqual([{ kind: 'literal', text: 'a }} b { c' }]);
    // The expression runs to the first }}.
    expect(parseTemplate('{{ a }} }}').parts).toEqual([
      { kind: 'expr', name: 'a' },
      { kind: 'literal', text: ' }}' },
    ]);
    expect(parseTemplate('{{{ a }}}').parts).toEqual([
      { kind: 'expr', name: '{ a' },
      { kind: 'literal', text: '}' },
    ]);
  });

  it('rejects an unmatched {{', () => {
    expect(() => parseTemplate('{{ matched }} {{ unmatched')).toThrow(HostError);
    expect(() => parseTemplate('x {{ y')).toThrow(
      expect.objectContaining({ code: 'template-invalid', reason: `invalid variable template "x {{ y": unmatched '{{' in template` }),
    );
  });

  it('reports literal-ness and the referenced variables', () => {
    expect(parseTemplate('hello').isLiteral).toBe(true);
    expect(parseTemplate('hello {{ world }}').isLiteral).toBe(false);
    expect(parseTemplate('{{ a }}:{{ b }}/{{ a }}').variables).toEqual(['a', 'b']);
  });

  it('renders with a resolver and propagates its errors', () => {
    const t = parseTemplate('redis://{{ redis_host }}:{{port}}');
    expect(t.render((n) => ({ redis_host: 'localhost', port: '6379' })[n]!)).toBe('redis://localhost:6379');
    expect(() =>
      t.render(() => {
        throw new Error('nope');
      }),
    ).toThrow('nope');
  });

  it('prints expressions in canonical form', () => {
    expect(parseTemplate('a{{x}}b').toString()).toBe('a{{ x }}b');
    expect(parseTemplate('a{{x}}b').source).toBe('a{{x}}b');
  });
});
