/**
 * Opaque list cursors (MCP `cursor` / `nextCursor`): base64url of a small JSON object naming the list and where the
 * next page starts, so a cursor from one list is rejected by another instead of silently skipping items.
 *
 * @module
 */
import { JSONRPC_ERRORS, JsonRpcError } from '../protocol/jsonrpc.ts';

/**
 * Where the next page starts: an offset into a fixed list, and/or an upstream's own cursor, and for lists that walk
 * several upstream lists (documents of each knowledge collection) the one being walked.
 */
export interface CursorState {
  list: string;
  offset?: number;
  upstream?: string;
  collection?: string;
}

function toBase64Url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

export function encodeCursor(state: CursorState): string {
  // Cursor contents are ASCII (list names, offsets, collection slugs, base64url upstream cursors), so btoa is safe.
  return toBase64Url(JSON.stringify(state));
}

export function invalidCursor(): JsonRpcError {
  return new JsonRpcError(JSONRPC_ERRORS.invalidParams, 'invalid cursor: pass a nextCursor value from a previous page of the same list');
}

/** Decodes a cursor minted for `list`; anything else is a -32602. */
export function decodeCursor(cursor: string, list: string): CursorState {
  let state: unknown;
  try {
    state = JSON.parse(fromBase64Url(cursor));
  } catch {
    throw invalidCursor();
  }
  if (typeof state !== 'object' || state === null || (state as { list?: unknown }).list !== list) throw invalidCursor();
  const { offset, upstream, collection } = state as Record<string, unknown>;
  const out: CursorState = { list };
  if (offset !== undefined) {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset <= 0) throw invalidCursor();
    out.offset = offset;
  }
  if (upstream !== undefined) {
    if (typeof upstream !== 'string' || !/^[A-Za-z0-9_-]{1,2048}$/.test(upstream)) throw invalidCursor();
    out.upstream = upstream;
  }
  if (collection !== undefined) {
    if (typeof collection !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(collection)) throw invalidCursor();
    out.collection = collection;
  }
  if (out.offset === undefined && out.upstream === undefined && out.collection === undefined) throw invalidCursor();
  return out;
}

/** One page of a fixed list. */
export function page<T>(items: readonly T[], list: string, cursor: string | undefined, size: number): { items: T[]; nextCursor?: string } {
  let offset = 0;
  if (cursor !== undefined) {
    const state = decodeCursor(cursor, list);
    if (state.offset === undefined || state.offset >= items.length) throw invalidCursor();
    offset = state.offset;
  }
  const end = offset + size;
  const out: { items: T[]; nextCursor?: string } = { items: items.slice(offset, end) };
  if (end < items.length) out.nextCursor = encodeCursor({ list, offset: end });
  return out;
}
