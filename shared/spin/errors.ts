/**
 * Errors from `fermyon:spin` imports as guests receive them.
 *
 * NOTE: componentize-js throws a WIT `result::err` as an `Error` whose `payload` is the variant (`{ tag, val? }`).
 *
 * @module
 */

/** A `fermyon:spin` error variant. */
export interface SpinErrorValue {
  tag: string;
  val?: unknown;
}

function isVariant(v: unknown): v is SpinErrorValue {
  return typeof v === 'object' && v !== null && typeof (v as SpinErrorValue).tag === 'string';
}

/** The error variant carried by a thrown value, if any. */
export function spinError(err: unknown): SpinErrorValue | undefined {
  if (isVariant(err)) return err;
  const payload = (err as { payload?: unknown } | null)?.payload;
  return isVariant(payload) ? payload : undefined;
}

export function isSpinError(err: unknown, tag?: string): boolean {
  const v = spinError(err);
  return v !== undefined && (tag === undefined || v.tag === tag);
}

/** Renders a Spin error the way Spin's Rust SDK displays it: `Error::AccessDenied`, `Error::Other("…")`. */
export function describeSpinError(err: unknown): string {
  const v = spinError(err);
  if (!v) return err instanceof Error ? err.message : String(err);
  const name = v.tag
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  return v.val === undefined ? `Error::${name}` : `Error::${name}(${JSON.stringify(v.val)})`;
}
