/**
 * Workflow definitions without a host: templates, conditions and branch resolution, and the graph checks that
 * turn into 422s (unknown kinds, dangling and forward references, cycles, unreachable steps).
 */
import { describe, expect, it } from 'vitest';
import { CreateDefinitionSchema, DefinitionSchema, type Definition } from '../../shared/protocol/workflows.ts';
import { holds, resolveNext, successors } from '../../shared/workflow/graph.ts';
import { BUILTIN_DEFINITIONS } from '../../shared/workflow/sparc.ts';
import { placeholders, render } from '../../shared/workflow/template.ts';
import { checkDefinition } from '../../shared/workflow/validate.ts';

const KINDS = ['coder', 'researcher', 'reviewer'];

function def(steps: unknown[]): Definition {
  const input = CreateDefinitionSchema.parse({ name: 'T', steps });
  return DefinitionSchema.parse({ ...input, id: 't', createdAt: new Date(0).toISOString() });
}
const messages = (d: Definition) => checkDefinition(d, KINDS).map((p) => p.message);

describe('templates', () => {
  it('finds placeholders, with or without inner spaces', () => {
    expect(placeholders('{{input}} {{ steps.a-b.output }} {{run.id}} {{ nope }} {{steps.A.output}}')).toEqual([
      { text: '{{input}}', kind: 'input' },
      { text: '{{ steps.a-b.output }}', kind: 'step', step: 'a-b' },
      { text: '{{run.id}}', kind: 'run-id' },
      { text: '{{ nope }}', kind: 'unknown', expression: 'nope' },
      { text: '{{steps.A.output}}', kind: 'unknown', expression: 'steps.A.output' },
    ]);
    expect(placeholders('no braces, { single } and }} stray {{')).toEqual([]);
  });

  it('renders values and leaves steps that did not run empty', () => {
    const values = { input: 'IN', runId: 'r1', outputs: { a: 'A-out' } };
    expect(render('[{{input}}|{{steps.a.output}}|{{steps.b.output}}|{{run.id}}]', values)).toBe('[IN|A-out||r1]');
    // A value that looks like a placeholder is inserted literally, not expanded again.
    expect(render('{{steps.a.output}}', { ...values, outputs: { a: '{{input}}' } })).toBe('{{input}}');
  });

  it('cuts inserted values, not the template, when the result is too long', () => {
    const out = render(
      'Head {{input}} middle {{steps.a.output}} tail',
      { input: 'x'.repeat(5000), runId: 'r', outputs: { a: 'y'.repeat(5000) } },
      1000,
    );
    expect(out.length).toBeLessThanOrEqual(1000);
    expect(out.startsWith('Head x')).toBe(true);
    expect(out).toContain(' middle y');
    expect(out.endsWith(' tail')).toBe(true);
    expect(out.match(/\[…truncated\]/g)).toHaveLength(2);
  });
});

describe('conditions and branches', () => {
  const values = { input: 'Fix the Login bug', outputs: { review: 'APPROVED with nits', empty: '' } };

  it('evaluates contains, equals and matches on the input or a step output', () => {
    expect(holds({ contains: 'login', ignoreCase: true, not: false }, values)).toBe(true);
    expect(holds({ contains: 'login', ignoreCase: false, not: false }, values)).toBe(false);
    expect(holds({ step: 'review', matches: '^APPROVED\\b', ignoreCase: false, not: false }, values)).toBe(true);
    expect(holds({ step: 'review', equals: ' approved with NITS ', ignoreCase: true, not: false }, values)).toBe(true);
    expect(holds({ step: 'review', contains: 'REJECTED', ignoreCase: false, not: true }, values)).toBe(true);
    expect(holds({ step: 'never-ran', equals: '', ignoreCase: false, not: false }, values)).toBe(true);
  });

  it('takes the first matching branch, else the following step', () => {
    const d = def([
      { id: 'a', agent: 'coder', prompt: 'x', next: [{ when: { step: 'a', contains: 'bug' }, goto: 'c' }] },
      { id: 'b', agent: 'coder', prompt: 'x', next: 'end' },
      { id: 'c', agent: 'coder', prompt: 'x' },
    ]);
    const [a, b, c] = d.steps;
    expect(resolveNext(d, a!, { input: '', outputs: { a: 'a bug' } })).toBe('c');
    expect(resolveNext(d, a!, { input: '', outputs: { a: 'fine' } })).toBe('b');
    expect(resolveNext(d, b!, { input: '', outputs: {} })).toBe('end');
    expect(resolveNext(d, c!, { input: '', outputs: {} })).toBe('end');
    expect(successors(d, 0)).toEqual(['c', 'b']);
  });
});

describe('checkDefinition', () => {
  it('accepts the built-in SPARC workflow', () => {
    expect(checkDefinition(BUILTIN_DEFINITIONS.get('sparc')!, KINDS)).toEqual([]);
  });

  it('names unknown kinds, or accepts any kind when the platform list is unknown', () => {
    const d = def([{ id: 'a', agent: 'wizard/merlin', prompt: 'x' }]);
    expect(messages(d)).toEqual(["step 'a': unknown agent kind 'wizard'; this platform serves coder, researcher, reviewer"]);
    expect(checkDefinition(d, null)).toEqual([]);
  });

  it('finds cycles through branches, including self-loops', () => {
    expect(messages(def([{ id: 'a', agent: 'coder', prompt: 'x', next: 'a' }]))).toEqual([
      'steps form a cycle: a → a (workflows must be acyclic)',
    ]);
    const d = def([
      { id: 'a', agent: 'coder', prompt: 'x' },
      { id: 'b', agent: 'coder', prompt: 'x', next: [{ when: { contains: 'y' }, goto: 'end' }, { goto: 'c' }] },
      { id: 'c', agent: 'coder', prompt: 'x', next: 'b' },
    ]);
    expect(messages(d)).toEqual(['steps form a cycle: b → c → b (workflows must be acyclic)']);
  });

  it('requires references to steps that can have run before', () => {
    const d = def([
      { id: 'a', agent: 'coder', prompt: 'x', next: [{ when: { contains: 'q' }, goto: 'c' }] },
      { id: 'b', agent: 'coder', prompt: '{{steps.a.output}}' },
      // b may not have run (a can jump here), but it can have: allowed, and empty when it did not.
      { id: 'c', agent: 'coder', prompt: '{{steps.b.output}} {{steps.a.output}}', when: { step: 'b', contains: 'z' } },
      { id: 'd', type: 'approval', message: '{{steps.c.output}}', next: [{ when: { step: 'd', contains: 'ok' }, goto: 'end' }] },
    ]);
    expect(messages(d)).toEqual([]);
    expect(messages(def([{ id: 'a', agent: 'coder', prompt: '{{steps.a.output}}' }]))).toEqual([
      "step 'a': {{steps.a.output}} refers to step 'a', which never runs before it",
    ]);
  });

  it('reports unreachable steps and duplicate ids', () => {
    expect(
      messages(
        def([
          { id: 'a', agent: 'coder', prompt: 'x', next: 'c' },
          { id: 'b', agent: 'coder', prompt: 'x' },
          { id: 'c', agent: 'coder', prompt: 'x' },
        ]),
      ),
    ).toEqual(["step 'b' is never reached from the first step 'a'"]);
    expect(
      messages(
        def([
          { id: 'a', agent: 'coder', prompt: 'x' },
          { id: 'a', type: 'approval' },
        ]),
      ),
    ).toEqual(["duplicate step id 'a' (also step 0)"]);
  });
});
