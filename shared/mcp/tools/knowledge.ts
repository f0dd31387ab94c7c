/**
 * `search_knowledge`: the rag component's hybrid search (`rag_url`), with the hits' documents linked as resources.
 *
 * @module
 */
import { z } from 'zod';
import { CollectionNameSchema, FilterSchema, KNOWLEDGE_LIMITS, SEARCH_MODES } from '../../protocol/knowledge.ts';
import type { ContentBlock } from '../../protocol/mcp.ts';
import { CalleeError } from '../platform.ts';
import { tool } from '../tool.ts';
import { documentUri } from '../uris.ts';

const SearchHitSchema = z.looseObject({
  documentId: z.string(),
  chunkId: z.union([z.string(), z.number()]).optional(),
  score: z.number(),
  text: z.string(),
  title: z.string().nullish(),
  source: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const searchKnowledge = tool({
  name: 'search_knowledge',
  title: 'Search knowledge',
  description:
    'Hybrid (vector + keyword) search over a knowledge collection. Returns the best-matching chunks with their document ids; ' +
    'read a whole document as the resource edge-agents://knowledge/<collection>/<documentId>.',
  input: z.strictObject({
    collection: CollectionNameSchema.describe('Knowledge collection name'),
    query: z
      .string()
      .min(1, { error: 'query must not be empty' })
      .max(KNOWLEDGE_LIMITS.query)
      .describe('What to look for, in natural language or keywords'),
    mode: z.enum(SEARCH_MODES).optional().describe('hybrid (default), vector or keyword'),
    topK: z.number().int().min(1).max(KNOWLEDGE_LIMITS.topK).optional().describe(`How many chunks to return (1-${KNOWLEDGE_LIMITS.topK})`),
    filter: FilterSchema.optional().describe('Conditions on document metadata, e.g. {"tags": "rust"} or {"year": {"gte": 2024}}'),
    minScore: z.number().optional().describe('Drop hits scoring below this'),
  }),
  output: z.object({
    collection: z.string(),
    query: z.string(),
    results: z.array(
      z.object({
        documentId: z.string(),
        chunkId: z.string(),
        score: z.number(),
        text: z.string(),
        title: z.string().nullable(),
        source: z.string(),
        metadata: z.record(z.string(), z.unknown()),
        uri: z.string(),
      }),
    ),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const { collection, ...body } = args;
    const answer = await platform.json('rag', `/api/v1/knowledge/collections/${encodeURIComponent(collection)}/search`, { body });
    const parsed = z.object({ results: z.array(SearchHitSchema) }).safeParse(answer);
    if (!parsed.success) throw new CalleeError('rag', 200, 'invalid_response', 'rag returned search results this server cannot read');
    const results = parsed.data.results.map((r) => ({
      documentId: r.documentId,
      chunkId: String(r.chunkId ?? ''),
      score: r.score,
      text: r.text,
      title: r.title ?? null,
      source: r.source ?? `${collection}/${r.documentId}`,
      metadata: r.metadata ?? {},
      uri: documentUri(collection, r.documentId),
    }));
    const seen = new Set<string>();
    const links: ContentBlock[] = [];
    for (const r of results) {
      if (seen.has(r.uri)) continue;
      seen.add(r.uri);
      links.push({ type: 'resource_link', uri: r.uri, name: r.documentId, ...(r.title ? { title: r.title } : {}), mimeType: 'text/plain' });
    }
    return { structured: { collection, query: args.query, results }, extra: links };
  },
});
