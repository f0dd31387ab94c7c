/**
 * The built-in SPARC workflow: Specification → Pseudocode → Architecture → Refinement → Completion, one agent step
 * per phase. Each phase goes to the default agent of a fitting kind (created on first use, see agents.ts): the
 * researcher writes the specification, the reviewer the architecture (it judges the design against the spec), and
 * the coder the pseudocode, the refinement and the completion.
 *
 * @module
 */
import { DefinitionSchema, type Definition } from '../protocol/workflows.ts';

/** Transient failures are retried; a phase may take long on a small local model. */
const RETRY = { maxAttempts: 3, backoffMs: 1000, factor: 2, maxBackoffMs: 10_000 };
const TIMEOUT_MS = 300_000;

const phase = (id: string, title: string, agent: string, prompt: string) => ({
  id,
  type: 'agent' as const,
  title,
  agent,
  prompt,
  retry: RETRY,
  timeoutMs: TIMEOUT_MS,
});

/** Built-in definitions by id. */
export const BUILTIN_DEFINITIONS: ReadonlyMap<string, Definition> = new Map([
  [
    'sparc',
    DefinitionSchema.parse({
      id: 'sparc',
      name: 'SPARC',
      description: 'Specification, Pseudocode, Architecture, Refinement, Completion: from a task description to a reviewed deliverable.',
      builtin: true,
      createdAt: '2025-01-01T00:00:00.000Z',
      steps: [
        phase(
          'specification',
          'Specification',
          'researcher',
          'SPARC phase 1 of 5, Specification. Write the specification for the task below: goal, functional requirements, ' +
            'constraints, edge cases and acceptance criteria. Be concrete and brief.\n\nTask:\n{{input}}',
        ),
        phase(
          'pseudocode',
          'Pseudocode',
          'coder',
          'SPARC phase 2 of 5, Pseudocode. Write step-by-step pseudocode that meets this specification, with the main ' +
            'functions, data structures and test cases.\n\nTask:\n{{input}}\n\nSpecification:\n{{steps.specification.output}}',
        ),
        phase(
          'architecture',
          'Architecture',
          'reviewer',
          'SPARC phase 3 of 5, Architecture. Design the architecture: components, interfaces, data flow, and the risks ' +
            'and trade-offs. Check it against the specification.\n\nSpecification:\n{{steps.specification.output}}\n\n' +
            'Pseudocode:\n{{steps.pseudocode.output}}',
        ),
        phase(
          'refinement',
          'Refinement',
          'coder',
          'SPARC phase 4 of 5, Refinement. Implement the design as code with tests, refining the pseudocode where the ' +
            'architecture asks for it.\n\nPseudocode:\n{{steps.pseudocode.output}}\n\nArchitecture:\n{{steps.architecture.output}}',
        ),
        phase(
          'completion',
          'Completion',
          'coder',
          'SPARC phase 5 of 5, Completion. Produce the final deliverable: the finished code, how to run and test it, and ' +
            'how it meets each acceptance criterion.\n\nSpecification:\n{{steps.specification.output}}\n\n' +
            'Refined implementation:\n{{steps.refinement.output}}',
        ),
      ],
    }),
  ],
]);
