/**
 * TypeScript input: types are stripped with sucrase (`transforms: ['typescript']`), which keeps line numbers and
 * leaves modern JavaScript as it is. Enums and namespaces are compiled to plain JavaScript; `import`/`export` stay
 * and are then refused by the instrumenter like in JavaScript input.
 *
 * @module
 */
import { transform } from 'sucrase';
import { CodeSyntaxError } from './instrument.ts';

/** The code without its types; throws {@link CodeSyntaxError} when it is not valid TypeScript. */
export function stripTypes(code: string): string {
  try {
    return transform(code, { transforms: ['typescript'], disableESTransforms: true }).code;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // sucrase reports `(line:column)` with a 0-based column.
    const m = /\((\d+):(\d+)\)\s*$/.exec(message);
    const line = m ? Number(m[1]) : undefined;
    const column = m ? Number(m[2]) + 1 : undefined;
    throw new CodeSyntaxError(m ? message.replace(/\((\d+):(\d+)\)\s*$/, `(${line}:${column})`) : message, line, column);
  }
}
