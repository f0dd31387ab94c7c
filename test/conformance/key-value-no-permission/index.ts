/** key-value-no-permission: no stores granted; opening `default` must be denied. */
import { Store } from 'fermyon:spin/key-value@2.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { describeSpinError } from '../shared.ts';

fire({
  fetch: () => {
    try {
      Store.open('default');
      return new Response('open("default") succeeded without a grant', { status: 200 });
    } catch (err) {
      return new Response(describeSpinError(err), { status: 500 });
    }
  },
});
