/**
 * The agent registry's wire and storage format as zod schemas: the stored record ({@link AgentSchema}), the
 * create and patch bodies, the list query and the error body every REST endpoint answers with.
 *
 * Input schemas are strict: an unknown field is an error rather than silently dropped, so a typo such as
 * `instruction` fails loudly instead of creating an agent without instructions. Messages name the rule, never
 * just "invalid", because they are shown to whoever wrote the request.
 *
 * NOTE: guest code has no ICU, so every pattern here is ASCII-only (no `\p{…}`).
 *
 * @module
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------------
// Building blocks

/** Agent names, kinds and skill ids: lowercase DNS-label-like slugs, safe in KV keys, URLs and file names. */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

const SLUG_RULE = '1-64 lowercase letters, digits and hyphens, starting and ending with a letter or digit';

/** The tools an agent may be granted; the agent runtime implements exactly these. */
export const TOOLS = ['search_knowledge', 'execute_code', 'ask_agent', 'remember', 'recall'] as const;
export type Tool = (typeof TOOLS)[number];

export const LIMITS = {
  description: 2000,
  /** Bytes of UTF-8, not characters: the limit protects storage and the model's context. */
  instructionsBytes: 32 * 1024,
  skills: 64,
  tags: 32,
  examples: 16,
  peers: 32,
  collections: 8,
  shortText: 128,
  url: 2048,
} as const;

/** Model aliases (`chat`) and provider-qualified names (`local/llama3.1:8b`, `cloud/gpt-4o-mini`). */
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;

/** Whether text has ASCII control characters, which single-line fields must not: they end up in logs and prompts. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A short, quoted rendering of a rejected value for messages (input can be hostile or huge). */
function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'nothing' : typeof value;
  return text.length > 48 ? `${text.slice(0, 45)}…"` : text;
}

/** A slug with a message that states the rule. */
export function slug(what: string) {
  return z
    .string({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .regex(SLUG, { error: (iss) => `${what} must be a slug (${SLUG_RULE}), got ${show(iss.input)}` });
}

const shortText = (what: string) =>
  z
    .string()
    .min(1, { error: `${what} must not be empty` })
    .max(LIMITS.shortText, { error: `${what} must be at most ${LIMITS.shortText} characters` })
    .refine((s) => !hasControl(s), { error: `${what} must not contain control characters` });

const utf8 = new TextEncoder();

const DescriptionSchema = z.string().max(LIMITS.description, { error: `description must be at most ${LIMITS.description} characters` });

export const InstructionsSchema = z
  .string()
  // The character count bounds the byte count from below, so the cheap check rejects most oversized input first.
  .max(LIMITS.instructionsBytes, { error: `instructions must be at most ${LIMITS.instructionsBytes} bytes (32 KiB) of UTF-8` })
  .refine((s) => utf8.encode(s).length <= LIMITS.instructionsBytes, {
    error: `instructions must be at most ${LIMITS.instructionsBytes} bytes (32 KiB) of UTF-8`,
  });

export const ModelSchema = z.string().regex(MODEL, {
  error: (iss) => `model must be a router alias or provider/model name (1-128 of [A-Za-z0-9._:/@+-]), got ${show(iss.input)}`,
});

/** What an agent can do, in the shape of an A2A agent card's `skills`, so cards can be generated from records. */
export const SkillSchema = z.strictObject({
  id: slug('skill id'),
  name: shortText('skill name'),
  description: DescriptionSchema.default(''),
  tags: z
    .array(shortText('tag'))
    .max(LIMITS.tags, { error: `a skill has at most ${LIMITS.tags} tags` })
    .default([]),
  examples: z
    .array(z.string().max(LIMITS.description, { error: `an example must be at most ${LIMITS.description} characters` }))
    .max(LIMITS.examples, { error: `a skill has at most ${LIMITS.examples} examples` })
    .optional(),
});
export type Skill = z.output<typeof SkillSchema>;

const SkillsSchema = z
  .array(SkillSchema)
  .max(LIMITS.skills, { error: `an agent has at most ${LIMITS.skills} skills` })
  .superRefine((skills, ctx) => {
    const seen = new Set<string>();
    skills.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate skill id ${show(s.id)}` });
      seen.add(s.id);
    });
  });

export const ToolSchema = z.enum(TOOLS, { error: (iss) => `unknown tool ${show(iss.input)}; known tools: ${TOOLS.join(', ')}` });

const ToolsSchema = z
  .array(ToolSchema)
  .max(TOOLS.length, { error: `there are only ${TOOLS.length} tools` })
  .superRefine((tools, ctx) => {
    tools.forEach((t, i) => {
      if (tools.indexOf(t) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate tool ${show(t)}` });
    });
  });

/** Spending limits the LLM router enforces for the agent (same fields as the router's budgets). */
export const AgentBudgetSchema = z.strictObject({
  dailyTokens: z.number().int().positive().optional(),
  monthlyTokens: z.number().int().positive().optional(),
  dailyCost: z.number().positive().optional(),
  monthlyCost: z.number().positive().optional(),
});
export type AgentBudget = z.output<typeof AgentBudgetSchema>;

/** An absolute http(s) URL; parsed with `URL` so that `https://` alone or a space in the host is rejected. */
const HttpUrlSchema = z
  .string()
  .max(LIMITS.url, { error: `a URL must be at most ${LIMITS.url} characters` })
  .refine(
    (s) => {
      if (!/^https?:\/\/[^\s]+$/i.test(s)) return false;
      try {
        const u = new URL(s);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
      } catch {
        return false;
      }
    },
    { error: (iss) => `cardUrl must be an absolute http:// or https:// URL, got ${show(iss.input)}` },
  );

/** Another agent this one may delegate to (`ask_agent`), known by its A2A agent card. */
export const PeerSchema = z.strictObject({ name: shortText('peer name'), cardUrl: HttpUrlSchema });
export type Peer = z.output<typeof PeerSchema>;

const PeersSchema = z
  .array(PeerSchema)
  .max(LIMITS.peers, { error: `an agent has at most ${LIMITS.peers} peers` })
  .superRefine((peers, ctx) => {
    const seen = new Set<string>();
    peers.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate peer name ${show(p.name)}` });
      seen.add(p.name);
    });
  });

/**
 * The knowledge collections an agent draws on: `search_knowledge` searches them, and unless `autoRetrieve` is off the
 * runtime adds the `topK` best passages for each message to the prompt.
 */
export const AgentKnowledgeSchema = z.strictObject({
  collections: z
    .array(slug('collection'))
    .min(1, { error: 'knowledge.collections must name at least one collection' })
    .max(LIMITS.collections, { error: `an agent searches at most ${LIMITS.collections} collections` }),
  autoRetrieve: z.boolean().default(true),
  topK: z.number().int().min(1).max(10).default(3),
});
export type AgentKnowledge = z.output<typeof AgentKnowledgeSchema>;

/** Where an agent is served once the agent runtime exists. */
export function agentUrl(kind: string, name: string): string {
  return `/agents/${kind}/${name}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// The record

/** A stored agent. `name` is unique per `kind`; `url` is derived from both and checked when a record is read. */
export const AgentSchema = z
  .strictObject({
    name: slug('name'),
    kind: slug('kind'),
    url: z.string(),
    description: DescriptionSchema,
    model: ModelSchema,
    instructions: InstructionsSchema,
    skills: SkillsSchema,
    tools: ToolsSchema,
    budget: AgentBudgetSchema.optional(),
    peers: PeersSchema.optional(),
    knowledge: AgentKnowledgeSchema.optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .superRefine((a, ctx) => {
    if (a.url !== agentUrl(a.kind, a.name))
      ctx.addIssue({ code: 'custom', path: ['url'], message: `url must be ${agentUrl(a.kind, a.name)}` });
  });
export type Agent = z.output<typeof AgentSchema>;

/** `POST /api/v1/agents`: `name` and `kind` are required, everything else has a default or is optional. */
export const CreateAgentSchema = z.strictObject({
  name: slug('name'),
  kind: slug('kind'),
  description: DescriptionSchema.default(''),
  model: ModelSchema.default('chat'),
  instructions: InstructionsSchema.default(''),
  skills: SkillsSchema.default([]),
  tools: ToolsSchema.default([]),
  budget: AgentBudgetSchema.optional(),
  peers: PeersSchema.optional(),
  knowledge: AgentKnowledgeSchema.optional(),
});
export type CreateAgentInput = z.input<typeof CreateAgentSchema>;
export type CreateAgent = z.output<typeof CreateAgentSchema>;

/**
 * `PATCH /api/v1/agents/:kind/:name`: a merge patch of the mutable fields. `budget: null` and `peers: null` remove
 * them. `name` and `kind` are accepted only when they repeat the agent's own (clients often send the whole record
 * back); a different value is rejected by {@link immutableFieldIssues}, since renaming would change the agent's key,
 * URL and memory.
 */
export const PatchAgentSchema = z.strictObject({
  name: slug('name').optional(),
  kind: slug('kind').optional(),
  description: DescriptionSchema.optional(),
  model: ModelSchema.optional(),
  instructions: InstructionsSchema.optional(),
  skills: SkillsSchema.optional(),
  tools: ToolsSchema.optional(),
  budget: AgentBudgetSchema.nullable().optional(),
  peers: PeersSchema.nullable().optional(),
  knowledge: AgentKnowledgeSchema.nullable().optional(),
});
export type PatchAgent = z.output<typeof PatchAgentSchema>;

/** A validation problem outside zod, shaped like a zod issue so `details` is uniform. */
export interface FieldIssue {
  code: 'custom';
  path: (string | number)[];
  message: string;
}

/** Issues (zod-shaped) for a patch that tries to change `name` or `kind`; empty when it does not. */
export function immutableFieldIssues(patch: PatchAgent, agent: { kind: string; name: string }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const field of ['kind', 'name'] as const) {
    const value = patch[field];
    if (value !== undefined && value !== agent[field])
      issues.push({
        code: 'custom',
        path: [field],
        message: `${field} is immutable: the agent is ${agent.kind}/${agent.name}; create a new agent instead of renaming`,
      });
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------------------------------
// Listing

/** Opaque list cursors: base64url without padding. */
export const CURSOR = /^[A-Za-z0-9_-]{1,512}$/;

/** `limit` of a paged list query: 1–100, 20 when absent. */
export const PageLimitSchema = z.coerce
  .number({ error: 'limit must be a number' })
  .int({ error: 'limit must be an integer' })
  .min(1, { error: 'limit must be between 1 and 100' })
  .max(100, { error: 'limit must be between 1 and 100' })
  .default(20);

/** `cursor` of a paged list query: a `nextCursor` from an earlier page. */
export const PageCursorSchema = z
  .string()
  .regex(CURSOR, { error: 'cursor must be a nextCursor value returned by a previous page' })
  .optional();

/** `GET /api/v1/agents` query. Strict, so a misspelt parameter (`kinds=`) is an error rather than ignored. */
export const AgentListQuerySchema = z.strictObject({
  kind: slug('kind').optional(),
  /** A skill id or tag (tags match case-insensitively). */
  skill: shortText('skill').optional(),
  limit: PageLimitSchema,
  cursor: PageCursorSchema,
});
export type AgentListQuery = z.output<typeof AgentListQuerySchema>;

/** A record the registry could not read; listed instead of failing the whole page. */
export interface CorruptRecord {
  key: string;
  message: string;
}

/** A page of `GET /api/v1/agents`; `nextCursor` is null on the last page. `corrupt` appears only when non-empty. */
export interface AgentPage {
  items: Agent[];
  nextCursor: string | null;
  corrupt?: CorruptRecord[];
}

// ---------------------------------------------------------------------------------------------------------------------
// Conversations

/** Conversation ids as the agent runtime mints them (UUIDs, ULIDs, slugs). */
export const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const ConversationIdSchema = z.string().regex(CONVERSATION_ID, {
  error: (iss) => `conversation id must be 1-128 of [A-Za-z0-9._-] starting with a letter or digit, got ${show(iss.input)}`,
});

/** `GET /api/v1/conversations?agent=<kind>/<name>`. */
export const ConversationListQuerySchema = z.strictObject({
  agent: z
    .string({ error: 'agent is required: ?agent=<kind>/<name>' })
    .regex(/^[a-z0-9-]{1,64}\/[a-z0-9-]{1,64}$/, { error: (iss) => `agent must be <kind>/<name>, got ${show(iss.input)}` })
    .transform((s, ctx) => {
      const [kind = '', name = ''] = s.split('/');
      if (!SLUG.test(kind) || !SLUG.test(name)) {
        ctx.addIssue({ code: 'custom', message: `agent must be <kind>/<name> with both parts slugs (${SLUG_RULE})` });
        return z.NEVER;
      }
      return { kind, name };
    }),
});

/** One conversation in an agent's memory. */
export interface Conversation {
  id: string;
  /** How many `memory` keys the conversation holds. */
  keys: number;
}

// ---------------------------------------------------------------------------------------------------------------------
// Errors

/** The body of every error response, as `shared/http/errors.ts` renders it; `details` holds zod issues for 400s. */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.output<typeof ErrorBodySchema>;
