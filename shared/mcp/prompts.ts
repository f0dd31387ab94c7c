/**
 * The SPARC prompts: one per phase (specification, pseudocode, architecture, refinement, completion), each a user
 * message that asks the model for that phase's deliverable from the arguments. They are the same phases the
 * workflow component runs as a template, offered here for clients that drive the phases themselves.
 *
 * @module
 */
import { JSONRPC_ERRORS, JsonRpcError } from '../protocol/jsonrpc.ts';
import type { GetPromptResult, PromptDescriptor } from '../protocol/mcp.ts';

interface Prompt extends PromptDescriptor {
  render(args: Record<string, string>): string;
}

const section = (title: string, text: string | undefined) => (text ? `\n\n## ${title}\n\n${text}` : '');

const PROMPTS: readonly Prompt[] = [
  {
    name: 'specification',
    title: 'SPARC 1: Specification',
    description: 'Turn a task into a specification: goals, requirements, constraints, edge cases and acceptance criteria.',
    arguments: [
      { name: 'task', description: 'What should be built or changed', required: true },
      { name: 'context', description: 'Background: users, existing system, constraints', required: false },
    ],
    render: (a) =>
      `Write the specification for this task. List the goals, the functional and non-functional requirements, the ` +
      `constraints, the edge cases and testable acceptance criteria. Ask no questions; state assumptions explicitly.` +
      section('Task', a.task) +
      section('Context', a.context),
  },
  {
    name: 'pseudocode',
    title: 'SPARC 2: Pseudocode',
    description: 'Turn a specification into language-neutral pseudocode for the main flows and the tricky parts.',
    arguments: [
      { name: 'specification', description: 'The specification (phase 1 output)', required: true },
      { name: 'language', description: 'Target language, to shape the pseudocode', required: false },
    ],
    render: (a) =>
      `Write pseudocode that satisfies this specification: the main flows, data structures and error handling, ` +
      `with a test plan that maps to its acceptance criteria.` +
      (a.language ? ` Keep it close to idiomatic ${a.language}.` : '') +
      section('Specification', a.specification),
  },
  {
    name: 'architecture',
    title: 'SPARC 3: Architecture',
    description: 'Design the components, interfaces, data flow and deployment for a specification.',
    arguments: [
      { name: 'specification', description: 'The specification (phase 1 output)', required: true },
      { name: 'pseudocode', description: 'The pseudocode (phase 2 output)', required: false },
    ],
    render: (a) =>
      `Design the architecture: components and their responsibilities, interfaces and data shapes, data flow, ` +
      `failure handling, security and deployment. Name the trade-offs you chose.` +
      section('Specification', a.specification) +
      section('Pseudocode', a.pseudocode),
  },
  {
    name: 'refinement',
    title: 'SPARC 4: Refinement',
    description: 'Review and improve an implementation: correctness, tests, performance, clarity.',
    arguments: [
      { name: 'code', description: 'The implementation to refine', required: true },
      { name: 'feedback', description: 'Review comments, failing tests or goals for this round', required: false },
    ],
    render: (a) =>
      `Refine this implementation. Find bugs and missing edge cases, add or fix tests, then improve performance ` +
      `and readability without changing behaviour. Return the revised code and a short list of changes.` +
      section('Code', a.code) +
      section('Feedback', a.feedback),
  },
  {
    name: 'completion',
    title: 'SPARC 5: Completion',
    description: 'Finish the work: integration, documentation, release checklist.',
    arguments: [
      { name: 'task', description: 'The original task', required: true },
      { name: 'summary', description: 'What the earlier phases produced', required: false },
    ],
    render: (a) =>
      `Complete the work on this task: check it against the acceptance criteria, integrate it, write the user ` +
      `documentation and a release checklist (tests, migration, rollback, monitoring).` +
      section('Task', a.task) +
      section('Work so far', a.summary),
  },
];

/** `prompts/list` entries, in phase order. */
export const PROMPT_DESCRIPTORS: readonly PromptDescriptor[] = PROMPTS.map(({ render: _render, ...d }) => d);

/** Names of prompt arguments that take a programming language, for `completion/complete`. */
export const LANGUAGES = ['typescript', 'javascript', 'python', 'rust', 'go', 'java', 'csharp', 'kotlin', 'swift'] as const;

/** `prompts/get`: unknown prompts and missing required arguments are -32602. */
export function getPrompt(name: string, args: Record<string, string> = {}): GetPromptResult {
  const prompt = PROMPTS.find((p) => p.name === name);
  if (!prompt) {
    throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, `unknown prompt '${name}'; prompts: ${PROMPTS.map((p) => p.name).join(', ')}`);
  }
  const missing = (prompt.arguments ?? []).filter((a) => a.required && !(args[a.name] ?? '').trim()).map((a) => a.name);
  if (missing.length > 0) {
    throw new JsonRpcError(
      JSONRPC_ERRORS.invalidParams,
      `prompt '${name}' needs the argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
  return { description: prompt.description, messages: [{ role: 'user', content: { type: 'text', text: prompt.render(args) } }] };
}
