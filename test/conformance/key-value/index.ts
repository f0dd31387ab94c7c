/** key-value: `key_value_stores = ["default"]`; the store starts empty. */
import { Store } from 'fermyon:spin/key-value@2.0.0';
import { fire } from '../../../shared/http/fire.ts';
import { check, describeSpinError, expectEqual, run } from '../shared.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

fire({
  fetch: () =>
    run(() => {
      try {
        Store.open('forbidden');
        throw new Error('open("forbidden") succeeded');
      } catch (err) {
        expectEqual(describeSpinError(err), 'Error::AccessDenied', 'open("forbidden")');
      }
      const store = Store.open('default');
      expectEqual(store.getKeys().length, 0, 'keys of a new store');
      store.set('bar', enc.encode('baz'));
      expectEqual(dec.decode(store.get('bar')), 'baz', 'get after set');
      check(store.exists('bar'), 'exists after set');
      check(!store.exists('qux'), 'exists of a missing key');
      expectEqual(store.get('qux'), undefined, 'get of a missing key');
      expectEqual(JSON.stringify(store.getKeys()), '["bar"]', 'keys after set');
      store.set('bar', enc.encode('wow'));
      expectEqual(dec.decode(store.get('bar')), 'wow', 'get after overwrite');
      store.delete('bar');
      store.delete('bar');
      check(!store.exists('bar'), 'exists after delete');
      expectEqual(store.getKeys().length, 0, 'keys after delete');
    }),
});
