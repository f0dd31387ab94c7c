/**
 * Building blocks shared by the pages: the app context (API client, navigation), data loading, errors shown
 * plainly, labelled form fields and the page frame that takes focus on navigation.
 *
 * @module
 */
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.ts';
import { routeUrl, type Route } from '../routes.ts';

export interface AppContext {
  api: Api;
  navigate(to: Route | string, options?: { replace?: boolean }): void;
  /** Changes whenever the API key changes, so pages reload what a 401 kept from them. */
  keyVersion: number;
  /** Opens the API key dialog. */
  askForKey(reason?: string): void;
}

export const Ctx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error('useApp outside the app');
  return ctx;
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Loads data when `deps` or the API key change; a failure is kept for display, never thrown. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const { keyVersion } = useApp();
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, keyVersion, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** What to tell the user about an error, with the HTTP status and code when the API gave them. */
export function describeError(error: unknown): { title: string; message: string } {
  if (error instanceof ApiError) {
    if (error.status === 0) return { title: 'The server could not be reached', message: error.message };
    const hint =
      error.status === 401
        ? ' Enter an API key (the button at the top of the page).'
        : error.status === 403
          ? ' The API key in use lacks the scope this needs.'
          : '';
    return { title: `Error ${error.status}: ${error.code}`, message: `${error.message}${hint}` };
  }
  return { title: 'Something went wrong', message: error instanceof Error ? error.message : String(error) };
}

/** An error, shown as an alert with everything the API said, including validation details. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { title, message } = describeError(error);
  const issues = error instanceof ApiError ? error.issues : [];
  return (
    <div class="notice error" role="alert">
      <p>
        <strong>{title}</strong>
      </p>
      <p class="error-message">{message}</p>
      {issues.length > 1 && (
        <ul>
          {issues.map((i) => (
            <li>
              {i.path.length > 0 && <code>{i.path.join('.')}</code>} {i.message}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A labelled control with its hint and inline error, wired up with `aria-describedby` and `aria-invalid`. */
export function Field(props: {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string;
  children: (a11y: { id: string; 'aria-invalid'?: 'true'; 'aria-describedby'?: string }) => ComponentChildren;
}) {
  const described = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-error` : ''].filter(Boolean).join(' ');
  const a11y: { id: string; 'aria-invalid'?: 'true'; 'aria-describedby'?: string } = { id: props.id };
  if (props.error) a11y['aria-invalid'] = 'true';
  if (described) a11y['aria-describedby'] = described;
  return (
    <div class={`field${props.error ? ' invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children(a11y)}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** After a failed submit: focus the first invalid control, so keyboard and screen-reader users land on it. */
export function focusFirstInvalid(form: HTMLFormElement | null): void {
  const el = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
  el?.focus();
}

/** A page: its heading takes focus after navigation (announcing the new page) and names the document. */
export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · edge-agents`;
    // The first page load keeps focus where the browser put it; later navigations move it to the new heading.
    if (document.body.dataset.navigated === 'true') heading.current?.focus();
  }, [title]);
  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {actions && <div class="actions">{actions}</div>}
      </div>
      {children}
    </>
  );
}

/** A link inside the app, navigated without a reload (the app's click handler does it). */
export function Link(props: {
  to: Route;
  children: ComponentChildren;
  class?: string;
  'aria-label'?: string;
  'aria-current'?: 'page' | undefined;
}) {
  const { to, children, ...rest } = props;
  return (
    <a href={routeUrl(to)} {...rest}>
      {children}
    </a>
  );
}

export const formatNumber = (n: number) => new Intl.NumberFormat('en').format(n);

export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Reads a string field of an unknown record (the shapes of concurrent APIs are checked loosely). */
export function str(v: unknown, key: string): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const x = (v as Record<string, unknown>)[key];
  return typeof x === 'string' ? x : typeof x === 'number' ? String(x) : undefined;
}
