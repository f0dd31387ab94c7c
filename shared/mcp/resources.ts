/**
 * Resources: agent records (`edge-agents://agents/<kind>/<name>`, from the registry) and knowledge documents
 * (`edge-agents://knowledge/<collection>/<docId>`, from the rag component), plus argument completion for both
 * templates.
 *
 * `resources/list` walks the agents first, then the documents of each collection in name order; a page is filled
 * from as many upstream pages as it takes, and the cursor records where the walk stands (`upstream` cursor, and the
 * collection being walked).
 *
 * @module
 */
import { JSONRPC_ERRORS, JsonRpcError } from '../protocol/jsonrpc.ts';
import type { CompleteParams, CompleteResult, ResourceContents, ResourceDescriptor, ResourceTemplateDescriptor } from '../protocol/mcp.ts';
import { decodeCursor, encodeCursor, invalidCursor, type CursorState } from './pagination.ts';
import { CalleeError, type Platform } from './platform.ts';
import { LANGUAGES } from './prompts.ts';
import { AGENT_TEMPLATE, agentUri, DOCUMENT_TEMPLATE, documentUri, parseResourceUri } from './uris.ts';

export const RESOURCE_TEMPLATES: readonly ResourceTemplateDescriptor[] = [
  {
    uriTemplate: AGENT_TEMPLATE,
    name: 'agent',
    title: 'Agent',
    description: 'An agent record: model, instructions, skills, tools, budget',
    mimeType: 'application/json',
  },
  {
    uriTemplate: DOCUMENT_TEMPLATE,
    name: 'knowledge-document',
    title: 'Knowledge document',
    description: 'A document of a knowledge collection, as ingested (title and metadata in _meta)',
  },
];

const KNOWLEDGE = '/api/v1/knowledge/collections';

/** The media type of a rag document's `contentType`. */
function mediaType(contentType: unknown): string {
  return contentType === 'markdown' ? 'text/markdown' : contentType === 'json' ? 'application/json' : 'text/plain';
}

function isAgent(a: unknown): a is { name: string; kind: string; description?: unknown } {
  const r = a as { name?: unknown; kind?: unknown } | null;
  return typeof r?.name === 'string' && typeof r.kind === 'string';
}

function isDocument(d: unknown): d is { id: string; title?: unknown; contentType?: unknown; chunks?: unknown } {
  return typeof (d as { id?: unknown } | null)?.id === 'string';
}

/**
 * A callee failure during a resource request: a 404 becomes `notFound()` when given (the resource does not exist),
 * anything else -32603 with the callee's message (auth, a component still starting, ...).
 */
async function upstream<T>(call: () => Promise<T>, notFound?: () => JsonRpcError): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof CalleeError)) throw err;
    if (err.status === 404 && notFound) throw notFound();
    throw new JsonRpcError(JSONRPC_ERRORS.internalError, err.message, { service: err.service, status: err.status, code: err.code });
  }
}

type Page<T> = { items?: T[]; nextCursor?: unknown };

/** Collection names in order, or none when the knowledge service is unavailable (agents still list). */
async function collectionNames(platform: Platform): Promise<string[]> {
  try {
    const page = await platform.json<Page<{ name?: unknown }>>('rag', KNOWLEDGE);
    const names = (page.items ?? []).map((c) => c.name).filter((n): n is string => typeof n === 'string');
    return names.sort();
  } catch (err) {
    if (!(err instanceof CalleeError)) throw err;
    console.error(`mcp resources/list: knowledge documents left out: ${err.message}`);
    return [];
  }
}

/** `resources/list`: agents, then every collection's documents, `pageSize` at a time. */
export async function listResources(
  platform: Platform,
  cursor: string | undefined,
  pageSize: number,
): Promise<{ resources: ResourceDescriptor[]; nextCursor?: string }> {
  // undefined position = the end of the walk.
  let at: CursorState | undefined = cursor === undefined ? { list: 'resources' } : decodeCursor(cursor, 'resources');
  if (at.offset !== undefined) throw invalidCursor();
  const resources: ResourceDescriptor[] = [];
  let names: string[] | undefined;
  const nextCollection = async (after: string | undefined): Promise<CursorState | undefined> => {
    names ??= await collectionNames(platform);
    const next = after === undefined ? names[0] : names.find((n) => n > after);
    return next === undefined ? undefined : { list: 'resources', collection: next };
  };

  // Bounded, so an upstream that keeps answering empty pages with a cursor cannot hold the request.
  for (let calls = 0; at && resources.length < pageSize && calls < 20; calls++) {
    const limit = String(Math.min(100, pageSize - resources.length));
    if (at.collection === undefined) {
      const q = new URLSearchParams({ limit });
      if (at.upstream !== undefined) q.set('cursor', at.upstream);
      const page = await upstream(() => platform.json<Page<unknown>>('api', `/api/v1/agents?${q}`));
      for (const a of (page.items ?? []).filter(isAgent)) {
        resources.push({
          uri: agentUri(a.kind, a.name),
          name: `${a.kind}/${a.name}`,
          title: `${a.kind} agent ${a.name}`,
          ...(typeof a.description === 'string' && a.description !== '' ? { description: a.description } : {}),
          mimeType: 'application/json',
        });
      }
      at =
        typeof page.nextCursor === 'string' && page.nextCursor !== ''
          ? { list: 'resources', upstream: page.nextCursor }
          : await nextCollection(undefined);
    } else {
      const collection = at.collection;
      const q = new URLSearchParams({ limit });
      if (at.upstream !== undefined) q.set('cursor', at.upstream);
      let page: Page<unknown>;
      try {
        page = await platform.json<Page<unknown>>('rag', `${KNOWLEDGE}/${encodeURIComponent(collection)}/documents?${q}`);
      } catch (err) {
        if (!(err instanceof CalleeError)) throw err;
        // Deleted since the previous page, or knowledge is down: move on rather than fail the agents with it.
        console.error(`mcp resources/list: documents of ${collection} left out: ${err.message}`);
        page = {};
      }
      for (const d of (page.items ?? []).filter(isDocument)) {
        resources.push({
          uri: documentUri(collection, d.id),
          name: `${collection}/${d.id}`,
          ...(typeof d.title === 'string' && d.title !== '' ? { title: d.title } : {}),
          description: `Document of the knowledge collection ${collection}`,
          mimeType: mediaType(d.contentType),
        });
      }
      at =
        typeof page.nextCursor === 'string' && page.nextCursor !== ''
          ? { list: 'resources', collection, upstream: page.nextCursor }
          : await nextCollection(collection);
    }
  }
  return at ? { resources, nextCursor: encodeCursor(at) } : { resources };
}

/** `resources/read`. `notFoundCode` is -32002 in the 2025 revisions and -32602 in 2026-07-28. */
export async function readResource(platform: Platform, uri: string, notFoundCode: number): Promise<{ contents: ResourceContents[] }> {
  const ref = parseResourceUri(uri);
  const notFound = () => new JsonRpcError(notFoundCode, `resource not found: ${uri}`, { uri });
  if (!ref) throw notFound();
  if (ref.type === 'agent') {
    const agent = await upstream(
      () => platform.json('api', `/api/v1/agents/${encodeURIComponent(ref.kind)}/${encodeURIComponent(ref.name)}`),
      notFound,
    );
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(agent, null, 2) }] };
  }
  const doc = await upstream(
    () =>
      platform.json<Record<string, unknown>>(
        'rag',
        `${KNOWLEDGE}/${encodeURIComponent(ref.collection)}/documents/${encodeURIComponent(ref.docId)}`,
      ),
    notFound,
  );
  const text = typeof doc.content === 'string' ? doc.content : JSON.stringify(doc);
  const meta: Record<string, unknown> = {};
  for (const key of ['title', 'metadata', 'updatedAt', 'contentHash'] as const)
    if (doc[key] !== undefined && doc[key] !== null) meta[key] = doc[key];
  const contents: ResourceContents & { _meta?: Record<string, unknown> } = { uri, mimeType: mediaType(doc.contentType), text };
  if (Object.keys(meta).length > 0) contents._meta = meta;
  return { contents: [contents] };
}

/** Up to 100 values starting with `prefix`, as `completion/complete` wants them. */
function complete(values: Iterable<string>, prefix: string): CompleteResult {
  const all = [...new Set(values)].filter((v) => v.startsWith(prefix)).sort();
  return { completion: { values: all.slice(0, 100), total: all.length, hasMore: all.length > 100 } };
}

/**
 * `completion/complete`: for the agent template, kinds and names (of the kind already chosen, when the client passes
 * it in `context.arguments`); for the document template, collections and document ids (of the chosen collection);
 * languages for the prompts' `language` argument; nothing otherwise.
 */
export async function completeArgument(platform: Platform, params: CompleteParams): Promise<CompleteResult> {
  const { ref, argument } = params;
  const chosen = params.context?.arguments ?? {};
  if (ref.type === 'ref/prompt') return complete(argument.name === 'language' ? LANGUAGES : [], argument.value);
  if (ref.uri === AGENT_TEMPLATE && (argument.name === 'kind' || argument.name === 'name')) {
    const q = new URLSearchParams({ limit: '100' });
    if (argument.name === 'name' && chosen.kind) q.set('kind', chosen.kind);
    const page = await upstream(() => platform.json<Page<unknown>>('api', `/api/v1/agents?${q}`));
    const agents = (page.items ?? []).filter(isAgent);
    return complete(
      agents.map((a) => (argument.name === 'kind' ? a.kind : a.name)),
      argument.value,
    );
  }
  if (ref.uri === DOCUMENT_TEMPLATE && argument.name === 'collection') return complete(await collectionNames(platform), argument.value);
  if (ref.uri === DOCUMENT_TEMPLATE && argument.name === 'docId' && chosen.collection) {
    const q = new URLSearchParams({ limit: '100', prefix: argument.value });
    const page = await upstream(
      () => platform.json<Page<unknown>>('rag', `${KNOWLEDGE}/${encodeURIComponent(chosen.collection!)}/documents?${q}`),
      () => new JsonRpcError(JSONRPC_ERRORS.invalidParams, `no knowledge collection ${chosen.collection}`),
    );
    return complete(
      (page.items ?? []).filter(isDocument).map((d) => d.id),
      argument.value,
    );
  }
  return complete([], argument.value);
}
