/**
 * The content hash of a document: what makes a re-ingest a no-op. The component and `scripts/ingest.ts` compute
 * it with this one function, so a client can tell which files changed by comparing with the server's listing.
 *
 * @module
 */
import { sha256Hex } from '../http/auth.ts';
import type { ContentType } from '../protocol/knowledge.ts';

/** JSON with object keys sorted at every level, so equal values serialize equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What the hash covers: everything that changes a document's chunks, embeddings or metadata. */
export interface HashedDocument {
  title: string | null;
  content: string;
  contentType: ContentType;
  metadata: Record<string, unknown>;
}

/** `sha256:<hex>` of the document's canonical form (version 1). */
export async function documentHash(doc: HashedDocument): Promise<string> {
  return `sha256:${await sha256Hex(canonicalJson(['v1', doc.contentType, doc.title, doc.content, doc.metadata]))}`;
}
