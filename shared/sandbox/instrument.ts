/**
 * Rewrites submitted JavaScript so a run can be stopped from inside: a time-budget tick at the top of every loop
 * body and every function, and a call-depth counter around every ordinary function. The rewrite only inserts text
 * (never removes any, never adds a line), so line numbers in errors match the submitted code.
 *
 * The code becomes the body of an async function, which defines the run's value: an explicit top-level `return`,
 * otherwise the value of the last top-level expression statement; a promise is awaited. Top-level `await` works.
 *
 * The inserted code refers to bindings whose names start with {@link RESERVED_PREFIX}. Submitted code may not
 * contain such an identifier (checked on the parsed names, so `\u005f_sbx…` escapes count too), and the runner
 * disables `eval` and the `Function` constructors, so code can neither name nor reach them: a binding can only be
 * reached by an identifier written in the source. `import()`, `import`/`export` and `import.meta` are refused.
 *
 * @module
 */
import { parse, type Node } from 'acorn';

/** Identifiers starting with this are the instrumentation's own. */
export const RESERVED_PREFIX = '__sbx';

/** Names used by the inserted code (see {@link wrapperSource}). */
export const NAMES = {
  /** The frozen host object: `t()` (tick: throws when the budget is spent, else returns the next countdown), `r()` (depth error). */
  host: `${RESERVED_PREFIX}$k`,
  /** Countdown to the next clock reading. */
  count: `${RESERVED_PREFIX}$n`,
  /** Current call depth of ordinary functions. */
  depth: `${RESERVED_PREFIX}$d`,
} as const;

/** A problem with the submitted code itself, positioned in it (1-based line and column). */
export class CodeSyntaxError extends Error {
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, line?: number, column?: number) {
    super(message);
    this.name = 'SyntaxError';
    this.line = line;
    this.column = column;
  }
}

export interface InstrumentOptions {
  /** Calls of ordinary functions allowed to be nested. */
  maxDepth: number;
  /** Leave out the ticks and depth counting (for measuring their cost; never used for requests). */
  bare?: boolean;
}

export interface Instrumented {
  /** The body to give the `Function` constructor, with the single parameter {@link NAMES.host}. */
  body: string;
  /** Whether the code produces its value by a trailing expression (rather than `return` or nothing). */
  trailingExpression: boolean;
}

interface Insert {
  at: number;
  text: string;
  closing: boolean;
  /** The source range the insert (or its pair) encloses: orders inserts that share a position (inner closes first). */
  start: number;
  end: number;
}

type AnyNode = Node & Record<string, unknown>;

const TICK = `if (--${NAMES.count} < 0) ${NAMES.count} = ${NAMES.host}.t();`;

function lineColumn(code: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < code.length; i++) {
    if (code.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: pos - lineStart + 1 };
}

function isNode(v: unknown): v is AnyNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

/** Every child node, in source order (acorn's nodes keep children in plain properties and arrays). */
function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  for (const key in node) {
    if (key === 'loc' || key === 'range') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const item of v) if (isNode(item)) out.push(item);
    } else if (isNode(v)) out.push(v);
  }
  return out;
}

function refuse(code: string, node: AnyNode, message: string): never {
  const { line, column } = lineColumn(code, node.start);
  throw new CodeSyntaxError(`${message} (${line}:${column})`, line, column);
}

/** Parses and instruments `code`; throws {@link CodeSyntaxError} for code that does not parse or is refused. */
export function instrument(code: string, options: InstrumentOptions): Instrumented {
  let program: AnyNode;
  try {
    program = parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowReturnOutsideFunction: true,
      allowAwaitOutsideFunction: true,
      allowHashBang: true,
      preserveParens: true,
    }) as unknown as AnyNode;
  } catch (err) {
    const e = err as { message?: string; loc?: { line: number; column: number } };
    // acorn counts columns from 0; the message and the fields here count from 1, as editors do.
    let message = String(e.message ?? err).replace(/\((\d+):(\d+)\)$/, (_, l: string, c: string) => `(${l}:${Number(c) + 1})`);
    if (/sourceType: module|import\.meta/.test(message)) {
      message = `modules are not supported: the code runs as a script (no import/export) ${message.replace(/^.*?(\(\d+:\d+\))$/, '$1')}`;
    }
    throw new CodeSyntaxError(message, e.loc?.line, e.loc ? e.loc.column + 1 : undefined);
  }

  const inserts: Insert[] = [];
  const insert = (at: number, text: string) => inserts.push({ at, text, closing: false, start: at, end: at });
  /** Text before and after a range. */
  const enclose = (start: number, end: number, before: string, after: string) => {
    inserts.push({ at: start, text: before, closing: false, start, end });
    if (after) inserts.push({ at: end, text: after, closing: true, start, end });
  };

  /** Prepends `text` to a loop body, adding braces when the body is a single statement. */
  const guardBody = (body: AnyNode, text: string) => {
    if (body.type === 'BlockStatement') insert(body.start + 1, text);
    else enclose(body.start, body.end, `{${text}`, '}');
  };

  const instrumentFunction = (fn: AnyNode) => {
    const body = fn.body as AnyNode;
    const counted = !fn.async && !fn.generator;
    // Async functions and generators get the tick only: a suspended activation would keep a depth count raised.
    const enter = counted ? `${TICK} ++${NAMES.depth}; try { if (${NAMES.depth} > ${options.maxDepth}) ${NAMES.host}.r();` : TICK;
    const leave = counted ? ` } finally { --${NAMES.depth}; }` : '';
    if (body.type === 'BlockStatement') {
      // After the directive prologue, so `'use strict'` stays a directive.
      const statements = body.body as AnyNode[];
      let at = body.start + 1;
      for (const s of statements) {
        if (s.type === 'ExpressionStatement' && typeof s.directive === 'string') at = s.end;
        else break;
      }
      enclose(at, body.end - 1, enter, leave);
    } else {
      // A concise arrow body (preserveParens keeps `({ … })` as one node, parentheses included).
      enclose(body.start, body.end, `{ ${enter} return (`, `);${leave} }`);
    }
  };

  const visit = (node: AnyNode) => {
    switch (node.type) {
      case 'Identifier':
        if ((node.name as string).startsWith(RESERVED_PREFIX))
          refuse(code, node, `the name ${node.name as string} is reserved by the sandbox`);
        break;
      case 'ImportExpression':
        refuse(code, node, 'import() is not available in the sandbox');
        break;
      case 'MetaProperty':
        if ((node.meta as AnyNode).name === 'import') refuse(code, node, 'import.meta is not available in the sandbox');
        break;
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
      case 'WhileStatement':
      case 'DoWhileStatement':
        if (!options.bare) guardBody(node.body as AnyNode, TICK);
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        if (!options.bare) instrumentFunction(node);
        break;
    }
    for (const child of children(node)) visit(child);
  };
  visit(program);

  // The run's value: a trailing expression statement becomes `return (…)` (a lone 'use strict' stays a directive).
  const statements = program.body as AnyNode[];
  const last = statements[statements.length - 1];
  let trailingExpression = false;
  if (last && last.type === 'ExpressionStatement' && last.directive !== 'use strict') {
    const expr = last.expression as AnyNode;
    enclose(expr.start, expr.end, 'return (', ')');
    trailingExpression = true;
  }

  return { body: wrapperSource(applyInserts(code, inserts)), trailingExpression };
}

function applyInserts(code: string, inserts: Insert[]): string {
  // At one position: closers of the ranges that end there (inner first), then empty ranges (opener before closer),
  // then openers of the ranges that start there (outer first).
  const group = (i: Insert) => (i.start === i.end ? 1 : i.closing ? 0 : 2);
  const sorted = inserts
    .map((ins, order) => ({ ...ins, order }))
    .sort((a, b) => {
      if (a.at !== b.at) return a.at - b.at;
      const ga = group(a);
      const gb = group(b);
      if (ga !== gb) return ga - gb;
      if (ga === 0) return b.start - a.start;
      if (ga === 2) return b.end - a.end;
      return a.order - b.order;
    });
  let out = '';
  let from = 0;
  for (const ins of sorted) {
    out += code.slice(from, ins.at) + ins.text;
    from = ins.at;
  }
  return out + code.slice(from);
}

/**
 * The `Function` body around instrumented code: the counters live in this closure, and the code runs as the body
 * of an inner async function (its own `arguments`, so the outer parameter cannot be reached through `arguments`).
 * The header is one line, so that the code starts on line {@link WRAPPER_LINES} + 1 of the body.
 */
export function wrapperSource(code: string): string {
  return `let ${NAMES.count} = 0, ${NAMES.depth} = 0; return async function () {\n${code}\n};`;
}

/** Lines the wrapper puts before the submitted code. */
export const WRAPPER_LINES = 1;
