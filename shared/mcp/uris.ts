/**
 * The server's resource URIs: `edge-agents://agents/<kind>/<name>` for agent records and
 * `edge-agents://knowledge/<collection>/<docId>` for knowledge documents. Segments are percent-encoded, so a
 * document id with `/` or spaces still round-trips.
 *
 * @module
 */

export const SCHEME = 'edge-agents:';

export const AGENT_TEMPLATE = 'edge-agents://agents/{kind}/{name}';
export const DOCUMENT_TEMPLATE = 'edge-agents://knowledge/{collection}/{docId}';

export type ResourceRef = { type: 'agent'; kind: string; name: string } | { type: 'document'; collection: string; docId: string };

export function agentUri(kind: string, name: string): string {
  return `edge-agents://agents/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
}

export function documentUri(collection: string, docId: string): string {
  return `edge-agents://knowledge/${encodeURIComponent(collection)}/${encodeURIComponent(docId)}`;
}

function decode(segment: string): string | undefined {
  try {
    const s = decodeURIComponent(segment);
    return s === '' || s === '.' || s === '..' ? undefined : s;
  } catch {
    return undefined;
  }
}

/** Parses one of the server's URIs; `undefined` for anything else (another scheme, a missing or extra segment). */
export function parseResourceUri(uri: string): ResourceRef | undefined {
  const m = /^edge-agents:\/\/(agents|knowledge)\/([^/?#]+)\/([^/?#]+)$/.exec(uri);
  if (!m) return undefined;
  const a = decode(m[2]!);
  const b = decode(m[3]!);
  if (a === undefined || b === undefined) return undefined;
  return m[1] === 'agents' ? { type: 'agent', kind: a, name: b } : { type: 'document', collection: a, docId: b };
}
