/**
 * What a definition must satisfy beyond its shape (422 `invalid_definition` when it does not): unique step ids,
 * branch targets that exist, agent kinds this platform serves, placeholders and conditions that refer to steps that
 * can have run before, no cycles, and no unreachable steps.
 *
 * @module
 */
import { END, type Definition, type Step } from '../protocol/workflows.ts';
import { parseAgentRef, successors } from './graph.ts';
import { placeholders } from './template.ts';

/** A problem, shaped like a zod issue so error `details` look the same as for 400s. */
export interface DefinitionProblem {
  code: 'custom';
  path: (string | number)[];
  message: string;
}

/**
 * The problems of a definition, empty when it is valid. `kinds` are the agent kinds the platform serves; null
 * accepts any kind (a build without the component list, as in unit tests).
 */
export function checkDefinition(def: Definition, kinds: readonly string[] | null): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ code: 'custom', path, message });
  const index = new Map<string, number>();
  def.steps.forEach((s, i) => {
    if (index.has(s.id)) add(['steps', i, 'id'], `duplicate step id '${s.id}' (also step ${index.get(s.id)})`);
    else index.set(s.id, i);
  });

  def.steps.forEach((s, i) => {
    if (s.type === 'agent') {
      const { kind } = parseAgentRef(s.agent);
      if (kinds !== null && !kinds.includes(kind))
        add(['steps', i, 'agent'], `step '${s.id}': unknown agent kind '${kind}'; this platform serves ${kinds.join(', ') || 'no kinds'}`);
    }
    for (const target of successors(def, i))
      if (target !== END && !index.has(target)) add(['steps', i, 'next'], `step '${s.id}': next refers to unknown step '${target}'`);
  });
  if (problems.length > 0) return problems;

  // Cycles, by depth-first search over the successor graph.
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  let cycle: string[] | undefined;
  const visit = (id: string): void => {
    if (cycle || state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      cycle = [...stack.slice(stack.indexOf(id)), id];
      return;
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const t of successors(def, index.get(id)!)) if (t !== END) visit(t);
    stack.pop();
    state.set(id, 'done');
  };
  for (const s of def.steps) visit(s.id);
  if (cycle) {
    add(['steps', index.get(cycle[0]!)!, 'next'], `steps form a cycle: ${cycle.join(' → ')} (workflows must be acyclic)`);
    return problems;
  }

  // Reachability from the first step, and each step's ancestors (the steps that can have run before it).
  const ancestors = new Map<string, Set<string>>(def.steps.map((s) => [s.id, new Set<string>()]));
  const reached = new Set<string>([def.steps[0]!.id]);
  // List order need not be a topological order, so propagate until nothing changes (the graph is small and acyclic).
  let changed = true;
  while (changed) {
    changed = false;
    def.steps.forEach((s, i) => {
      if (!reached.has(s.id)) return;
      for (const t of successors(def, i)) {
        if (t === END) continue;
        if (!reached.has(t)) {
          reached.add(t);
          changed = true;
        }
        const into = ancestors.get(t)!;
        const before = into.size;
        into.add(s.id);
        for (const a of ancestors.get(s.id)!) into.add(a);
        if (into.size !== before) changed = true;
      }
    });
  }
  def.steps.forEach((s, i) => {
    if (!reached.has(s.id)) add(['steps', i, 'id'], `step '${s.id}' is never reached from the first step '${def.steps[0]!.id}'`);
  });

  // References: to steps that exist and can have run before the referring step.
  const checkRef = (i: number, s: Step, ref: string, where: (string | number)[], what: string, selfAllowed: boolean) => {
    if (!index.has(ref)) add(['steps', i, ...where], `step '${s.id}': ${what} refers to unknown step '${ref}'`);
    else if (!(ancestors.get(s.id)!.has(ref) || (selfAllowed && ref === s.id)))
      add(['steps', i, ...where], `step '${s.id}': ${what} refers to step '${ref}', which never runs before it`);
  };
  def.steps.forEach((s, i) => {
    const field = s.type === 'agent' ? 'prompt' : 'message';
    const text = s.type === 'agent' ? s.prompt : s.message;
    for (const p of placeholders(text)) {
      if (p.kind === 'unknown')
        add(['steps', i, field], `step '${s.id}': unknown placeholder ${p.text}; use {{input}}, {{steps.<id>.output}} or {{run.id}}`);
      else if (p.kind === 'step') checkRef(i, s, p.step, [field], p.text, false);
    }
    if (s.when?.step !== undefined) checkRef(i, s, s.when.step, ['when', 'step'], 'when', false);
    if (Array.isArray(s.next))
      s.next.forEach((b, j) => {
        if (b.when?.step !== undefined) checkRef(i, s, b.when.step, ['next', j, 'when', 'step'], 'a branch condition', true);
      });
  });
  return problems;
}
