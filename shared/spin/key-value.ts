/**
 * Typed access to a Spin key-value store, with JSON helpers. A missing key is `undefined`, never an error.
 *
 * @module
 */
import { Store } from 'fermyon:spin/key-value@2.0.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class KeyValue {
  readonly label: string;
  readonly #store: Store;

  private constructor(label: string, store: Store) {
    this.label = label;
    this.#store = store;
  }

  /** Opens a store the component was granted in `spin.toml` (`key_value_stores`). */
  static open(label = 'default'): KeyValue {
    return new KeyValue(label, Store.open(label));
  }

  get(key: string): Uint8Array | undefined {
    return this.#store.get(key);
  }
  set(key: string, value: Uint8Array | string): void {
    this.#store.set(key, typeof value === 'string' ? encoder.encode(value) : value);
  }
  delete(key: string): void {
    this.#store.delete(key);
  }
  exists(key: string): boolean {
    return this.#store.exists(key);
  }
  keys(): string[] {
    return this.#store.getKeys();
  }

  getText(key: string): string | undefined {
    const v = this.#store.get(key);
    return v === undefined ? undefined : decoder.decode(v);
  }

  /** Reads a JSON value; the caller validates its shape. */
  getJson(key: string): unknown {
    const text = this.getText(key);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  setJson(key: string, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }
}
