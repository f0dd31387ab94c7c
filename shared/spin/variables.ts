/**
 * Spin application variables for the current component.
 *
 * @module
 */
import { get } from 'fermyon:spin/variables@2.0.0';
import { isSpinError } from './errors.ts';

/** The variable's value, or `undefined` when it is not defined for this component. Other errors are thrown. */
export function variable(name: string): string | undefined {
  try {
    return get(name);
  } catch (err) {
    if (isSpinError(err, 'undefined')) return undefined;
    throw err;
  }
}
