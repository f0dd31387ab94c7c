/** variables: `[component.variables] variable = "value"`. */
import { get } from 'fermyon:spin/variables@2.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError, expectEqual, run } from '../shared.ts';

function error(name: string): string {
  try {
    return `ok(${get(name)})`;
  } catch (err) {
    return describeSpinError(err).replace(/\(.*\)$/, '');
  }
}

fire({
  fetch: () =>
    run(() => {
      expectEqual(get('variable'), 'value', 'variable');
      expectEqual(error('non_existent'), 'Error::Undefined', 'non_existent');
      for (const name of ['invalid-name', 'invalid!name', '4invalidname']) expectEqual(error(name), 'Error::InvalidName', name);
    }),
});
