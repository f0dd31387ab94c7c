/** A `fermyon:spin` error variant as it arrives in JavaScript (thrown). */
export interface SpinErrorValue {
  tag: string;
  val?: unknown;
}

export function isSpinError(err: unknown): err is SpinErrorValue {
  return typeof err === 'object' && err !== null && typeof (err as SpinErrorValue).tag === 'string';
}

/** Renders a thrown Spin error the way Spin's own SDKs display it (`Error::AccessDenied`, `Error::Other("…")`). */
export function describeSpinError(err: unknown): string {
  if (!isSpinError(err)) return err instanceof Error ? err.message : String(err);
  const name = err.tag
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  return err.val === undefined ? `Error::${name}` : `Error::${name}(${JSON.stringify(err.val)})`;
}
