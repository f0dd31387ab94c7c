/**
 * The knowledge API (`/api/v1/knowledge`, the `rag` component) as zod schemas: collections, documents, search and
 * the reasoning bank. Input schemas are strict (unknown fields are errors) and every limit is stated in its message.
 *
 * NOTE: guest code has no ICU, so every pattern here is ASCII-only (no `\p{…}`).
 *
 * @module
 */
import { z } from 'zod';

export const KNOWLEDGE_LIMITS = {
  /** Largest accepted request body of a document ingest, in bytes (413 beyond). */
  documentBodyBytes: 4 * 1024 * 1024,
  /** Largest accepted `content`, in UTF-8 bytes (413 beyond). */
  contentBytes: 2 * 1024 * 1024,
  /** Other request bodies (collections, search, reasoning). */
  smallBodyBytes: 256 * 1024,
  /** Serialized metadata of one document. */
  metadataBytes: 32 * 1024,
  /** Chunks one document may produce (413 beyond: split the document or raise chunkSize). */
  chunksPerDocument: 5000,
  query: 4000,
  topK: 50,
  filterKeys: 16,
  filterValues: 100,
  /** pgvector's HNSW index covers vectors up to this many dimensions. */
  dimensions: 2000,
} as const;

/** Collection names: lowercase slugs, safe in URLs and logs. */
export const COLLECTION_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

/** Embedding model aliases (`embed`) and provider-qualified names (`local/all-minilm`, `builtin/offline`). */
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;

/** Full-text search configurations a collection may use (each ships with Postgres). */
export const LANGUAGES = ['simple', 'english', 'german', 'french', 'spanish', 'italian', 'portuguese', 'dutch'] as const;

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export const CollectionNameSchema = z.string().regex(COLLECTION_NAME, {
  error: 'a collection name is 1-64 lowercase letters, digits, dots, underscores and hyphens, starting and ending with a letter or digit',
});

/** Document ids: any 1-512 characters without control characters (paths such as `notes/a.md` included). */
export const DocumentIdSchema = z
  .string()
  .min(1, { error: 'a document id must not be empty' })
  .max(512, { error: 'a document id is at most 512 characters' })
  .refine((s) => !hasControl(s), { error: 'a document id must not contain control characters' });

export const EmbeddingModelSchema = z
  .string()
  .regex(MODEL, { error: 'an embedding model is an alias or <provider>/<model>, 1-128 characters' });

export const CreateCollectionSchema = z
  .strictObject({
    name: CollectionNameSchema,
    description: z.string().max(2000).optional(),
    /** The router alias or model that embeds this collection; fixed for the collection's lifetime. */
    embeddingModel: EmbeddingModelSchema.optional(),
    /** Asks the router for this many dimensions (models that support it); otherwise the model's own size is used. */
    dimensions: z.number().int().min(1).max(KNOWLEDGE_LIMITS.dimensions).optional(),
    /** Target chunk size in characters. */
    chunkSize: z.number().int().min(100).max(8000).optional(),
    /** Characters of the previous chunk repeated at the start of the next, within one section. */
    chunkOverlap: z.number().int().min(0).max(2000).optional(),
    language: z.enum(LANGUAGES).optional(),
  })
  .refine((c) => (c.chunkOverlap ?? 0) <= (c.chunkSize ?? DEFAULT_CHUNK_SIZE) / 2, {
    error: 'chunkOverlap must be at most half of chunkSize',
    path: ['chunkOverlap'],
  });
export type CreateCollection = z.infer<typeof CreateCollectionSchema>;

export const DEFAULT_EMBEDDING_MODEL = 'embed';
export const DEFAULT_CHUNK_SIZE = 1000;
export const DEFAULT_CHUNK_OVERLAP = 100;

export const CONTENT_TYPES = ['text', 'markdown', 'json'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

/** Accepts the short names and the usual media types (`text/markdown`, `application/json`, `text/plain`). */
export const ContentTypeSchema = z.string().transform((s, ctx): ContentType => {
  const t = s.toLowerCase().split(';')[0]!.trim();
  if (t === 'text' || t === 'text/plain' || t === 'plain') return 'text';
  if (t === 'markdown' || t === 'md' || t === 'text/markdown' || t === 'text/x-markdown') return 'markdown';
  if (t === 'json' || t === 'application/json') return 'json';
  ctx.addIssue({ code: 'custom', message: 'contentType must be text, markdown or json (or text/plain, text/markdown, application/json)' });
  return z.NEVER;
});

export const MetadataSchema = z
  .record(z.string().min(1).max(128), z.json())
  .refine((m) => JSON.stringify(m).length <= KNOWLEDGE_LIMITS.metadataBytes, {
    error: `metadata is at most ${KNOWLEDGE_LIMITS.metadataBytes} bytes of JSON`,
  });

export const IngestDocumentSchema = z.strictObject({
  id: DocumentIdSchema.optional(),
  title: z.string().max(1000).optional(),
  content: z.string().min(1, { error: 'content must not be empty' }),
  contentType: ContentTypeSchema.optional(),
  metadata: MetadataSchema.optional(),
  /** When set, must equal the collection's model (409 otherwise): a guard for clients that pin a model. */
  embeddingModel: EmbeddingModelSchema.optional(),
});
export type IngestDocument = z.infer<typeof IngestDocumentSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Search

const ScalarSchema = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.null()]);
export type FilterScalar = z.infer<typeof ScalarSchema>;
const Bound = z.union([z.number().finite(), z.string().max(1024)]);

/**
 * One metadata condition. A bare value is equality; equality also matches an array that contains the value, so
 * `{ tags: "rust" }` finds documents tagged rust.
 */
export const FilterConditionSchema = z.union([
  ScalarSchema,
  z.strictObject({ eq: ScalarSchema }),
  z.strictObject({ ne: ScalarSchema }),
  z.strictObject({ in: z.array(ScalarSchema).min(1).max(KNOWLEDGE_LIMITS.filterValues) }),
  z.strictObject({ exists: z.boolean() }),
  z
    .strictObject({ gt: Bound.optional(), gte: Bound.optional(), lt: Bound.optional(), lte: Bound.optional() })
    .refine((r) => Object.keys(r).length > 0, { error: 'a range needs at least one of gt, gte, lt, lte' }),
]);
export type FilterCondition = z.infer<typeof FilterConditionSchema>;

/** Conditions on document metadata keys, all of which must hold. Keys and values only ever reach SQL as parameters. */
export const FilterSchema = z
  .record(z.string().min(1).max(128), FilterConditionSchema)
  .refine((f) => Object.keys(f).length <= KNOWLEDGE_LIMITS.filterKeys, {
    error: `a filter has at most ${KNOWLEDGE_LIMITS.filterKeys} keys`,
  });
export type Filter = z.infer<typeof FilterSchema>;

export const SEARCH_MODES = ['hybrid', 'vector', 'keyword'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/**
 * How hybrid search merges its two lists: `score` (default) averages each list's min-max-normalised scores;
 * `rrf` is reciprocal-rank fusion (k = 60), which looks at positions only. See test/fixtures/rag-eval/README.md.
 */
export const FUSIONS = ['score', 'rrf'] as const;
export type Fusion = (typeof FUSIONS)[number];

export const SearchSchema = z
  .strictObject({
    query: z.string().max(KNOWLEDGE_LIMITS.query).optional(),
    /** A query vector computed by the caller with the collection's model, instead of embedding `query`. */
    embedding: z.array(z.number().finite()).min(1).max(KNOWLEDGE_LIMITS.dimensions).optional(),
    mode: z.enum(SEARCH_MODES).optional(),
    /** Hybrid mode only. */
    fusion: z.enum(FUSIONS).optional(),
    topK: z.number().int().min(1).max(KNOWLEDGE_LIMITS.topK).optional(),
    filter: FilterSchema.optional(),
    minScore: z.number().finite().optional(),
    embeddingModel: EmbeddingModelSchema.optional(),
  })
  .refine((s) => (s.query !== undefined && s.query.trim() !== '') || s.embedding !== undefined, {
    error: 'give a non-empty query (or an embedding for vector search)',
    path: ['query'],
  });
export type SearchRequest = z.infer<typeof SearchSchema>;

export interface SearchResult {
  documentId: string;
  /** `<documentId>#<index>`: stable while the document is unchanged. */
  chunkId: string;
  /** Position of the chunk in its document, from 0. */
  index: number;
  /**
   * vector: cosine similarity; keyword: BM25-style weight; hybrid: mean of both min-max-normalised (fusion `rrf`:
   * reciprocal-rank sum scaled so that first in both lists is 1); 1 = first in both.
   */
  score: number;
  text: string;
  title: string | null;
  /** The Markdown headings above the chunk, outermost first. */
  headings: string[];
  metadata: Record<string, unknown>;
  /** Where to cite it from: `metadata.source`, else `metadata.path`, else `<collection>/<documentId>`. */
  source: string;
}

// ---------------------------------------------------------------------------------------------------------------------
// Listing

export const ListDocumentsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(2048).optional(),
  prefix: z.string().max(512).optional(),
});

// ---------------------------------------------------------------------------------------------------------------------
// Reasoning bank

export const OUTCOMES = ['success', 'partial', 'failure'] as const;

const AgentRefSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => !hasControl(s), { error: 'agent must not contain control characters' });

export const StoreReasoningSchema = z.strictObject({
  /** Who solved it, e.g. `coder/ada`. */
  agent: AgentRefSchema,
  task: z.string().min(1).max(8000),
  approach: z.string().min(1).max(32000),
  outcome: z.enum(OUTCOMES).optional(),
  /** How well it went, 0 (useless) to 1 (perfect). */
  score: z.number().min(0).max(1),
  metadata: MetadataSchema.optional(),
});
export type StoreReasoning = z.infer<typeof StoreReasoningSchema>;

export const SearchReasoningSchema = z.strictObject({
  query: z.string().min(1).max(KNOWLEDGE_LIMITS.query),
  agent: AgentRefSchema.optional(),
  outcome: z.enum(OUTCOMES).optional(),
  topK: z.number().int().min(1).max(KNOWLEDGE_LIMITS.topK).optional(),
  /** Only trajectories whose own score is at least this. */
  minScore: z.number().min(0).max(1).optional(),
  /** Only trajectories at least this similar to the query (cosine, -1..1). */
  minSimilarity: z.number().min(-1).max(1).optional(),
});
export type SearchReasoning = z.infer<typeof SearchReasoningSchema>;
