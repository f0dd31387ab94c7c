/**
 * Agent cards: what an A2A client reads first. One description ({@link CardInput}) renders as a v1.0 card
 * (`supportedInterfaces`, ProtoJSON security objects) or as a v0.3 card (`url`, `preferredTransport`,
 * `protocolVersion`, OpenAPI-style security), and {@link cardResponse} serves it with `ETag`/`Cache-Control` and
 * answers a matching `If-None-Match` with 304.
 *
 * Which format a request gets: `/.well-known/agent.json` (the 0.2/0.3 path) is always v0.3; at
 * `/.well-known/agent-card.json` an `A2A-Version: 1.x` header (or `?A2A-Version=`) selects v1.0, and no header
 * means 0.3, as the specification says a missing version does (§3.6). The v0.3 card also lists `supportedInterfaces`,
 * so a v1.0 client that sends no header still finds the 1.0 interface; both interfaces are the same URL, since the
 * two versions' method names never collide.
 *
 * @module
 */
import { offeredTools, type ToolServices } from '../agents/tools.ts';
import type { Agent, Skill, Tool } from '../protocol/agents.ts';
import { strip, type ProtocolVersion } from '../protocol/a2a.ts';
import { VERSION } from '../build-info.ts';

export interface CardSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples?: string[] | undefined;
}

/** Everything a card says, independent of the wire version. */
export interface CardInput {
  name: string;
  description: string;
  /** Absolute URL of the JSON-RPC endpoint. */
  endpoint: string;
  /** Origin of the platform, for `provider.url`. */
  origin: string;
  skills: CardSkill[];
  streaming: boolean;
  pushNotifications: boolean;
  /** Authentication is on: the card declares bearer API keys and the extended card. */
  auth: boolean;
}

export const INPUT_MODES = ['text/plain', 'application/json'];
export const OUTPUT_MODES = ['text/plain'];

const BEARER_DESCRIPTION = 'An edge-agents API key (scope invoke to send messages, read to read tasks)';

/** Skill descriptions are required and non-empty in v1.0; an empty one falls back to the name. */
function skillOut(s: CardSkill, withExamples: boolean): Record<string, unknown> {
  return strip({
    id: s.id,
    name: s.name,
    description: s.description || s.name,
    tags: s.tags,
    examples: withExamples && s.examples?.length ? s.examples : undefined,
  });
}

/** The card in v1.0 form; `extended` adds what only authenticated callers see (the skills' examples). */
export function cardV1(input: CardInput, extended = false): Record<string, unknown> {
  return strip({
    name: input.name,
    description: input.description,
    supportedInterfaces: [
      { url: input.endpoint, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: input.endpoint, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ],
    provider: { organization: 'edge-agents', url: input.origin },
    version: VERSION,
    capabilities: strip({
      streaming: input.streaming,
      pushNotifications: input.pushNotifications,
      extendedAgentCard: input.auth ? true : undefined,
    }),
    securitySchemes: input.auth ? { bearer: { httpAuthSecurityScheme: { scheme: 'Bearer', description: BEARER_DESCRIPTION } } } : undefined,
    securityRequirements: input.auth ? [{ schemes: { bearer: { list: [] } } }] : undefined,
    defaultInputModes: INPUT_MODES,
    defaultOutputModes: OUTPUT_MODES,
    skills: input.skills.map((s) => skillOut(s, extended || !input.auth)),
  });
}

/** The card in v0.3 form (plus `supportedInterfaces`, see the module comment). */
export function cardV03(input: CardInput, extended = false): Record<string, unknown> {
  const v1 = cardV1(input, extended);
  return strip({
    protocolVersion: '0.3.0',
    name: input.name,
    description: input.description,
    url: input.endpoint,
    preferredTransport: 'JSONRPC',
    supportedInterfaces: v1.supportedInterfaces,
    provider: v1.provider,
    version: VERSION,
    capabilities: { streaming: input.streaming, pushNotifications: input.pushNotifications, stateTransitionHistory: false },
    securitySchemes: input.auth ? { bearer: { type: 'http', scheme: 'bearer', description: BEARER_DESCRIPTION } } : undefined,
    security: input.auth ? [{ bearer: [] }] : undefined,
    supportsAuthenticatedExtendedCard: input.auth ? true : undefined,
    defaultInputModes: INPUT_MODES,
    defaultOutputModes: OUTPUT_MODES,
    skills: v1.skills,
  });
}

/** The version a request for a card (or a JSON-RPC call) speaks: its `A2A-Version`, 0.3 when it has none. */
export function requestedVersion(req: Request): string | undefined {
  const header = req.headers.get('a2a-version');
  if (header !== null && header.trim() !== '') return header.trim();
  const query = new URL(req.url).searchParams.get('A2A-Version');
  return query !== null && query.trim() !== '' ? query.trim() : undefined;
}

/** `1.0`, `1.0.1`, `0.3`, `0.3.0` → the supported Major.Minor; undefined for anything else. */
export function supportedVersion(text: string | undefined): ProtocolVersion | undefined {
  if (text === undefined) return '0.3';
  const m = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(text);
  if (!m) return undefined;
  const mm = `${Number(m[1])}.${Number(m[2])}`;
  return mm === '1.0' || mm === '0.3' ? mm : undefined;
}

/** Which card format a GET asks for (see the module comment). */
export function cardFormat(req: Request): ProtocolVersion {
  if (new URL(req.url).pathname.endsWith('/agent.json')) return '0.3';
  return supportedVersion(requestedVersion(req)) === '1.0' ? '1.0' : '0.3';
}

async function etagOf(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)));
  let hex = '';
  for (const b of digest.subarray(0, 12)) hex += b.toString(16).padStart(2, '0');
  return `"${hex}"`;
}

/** Whether an `If-None-Match` value matches the entity tag (weak comparison, as RFC 9110 asks for GET). */
export function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/** Cards change when agents do; a minute of caching keeps polling clients cheap without serving stale skills long. */
export const CARD_MAX_AGE_SECONDS = 60;

/** Serves a card as JSON with `ETag`, `Cache-Control` and `Vary: A2A-Version`; 304 when `If-None-Match` matches. */
export async function cardResponse(req: Request, card: Record<string, unknown>): Promise<Response> {
  const body = JSON.stringify(card);
  const etag = await etagOf(body);
  const headers = {
    etag,
    'cache-control': `public, max-age=${CARD_MAX_AGE_SECONDS}`,
    vary: 'A2A-Version',
  };
  if (etagMatches(req.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });
  return new Response(req.method === 'HEAD' ? null : body, { headers: { ...headers, 'content-type': 'application/json' } });
}

/** The origin clients reached us at: Spin's `spin-full-url` header, else the request URL. */
export function publicOrigin(req: Request): string {
  const full = req.headers.get('spin-full-url');
  try {
    return new URL(full ?? req.url).origin;
  } catch {
    return new URL(req.url).origin;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Capability-derived skills

const TOOL_SKILLS: Partial<Record<Tool, { name: string; description: string; tags: string[] }>> = {
  remember: { name: 'Remember facts', description: 'Stores facts you tell it and uses them in later conversations.', tags: ['memory'] },
  recall: { name: 'Recall facts', description: 'Looks up facts stored in earlier conversations.', tags: ['memory'] },
  search_knowledge: { name: 'Search knowledge', description: 'Answers from the platform knowledge base.', tags: ['rag', 'search'] },
  execute_code: {
    name: 'Run code',
    description: 'Runs JavaScript/TypeScript in a sandbox to check its answers.',
    tags: ['code', 'sandbox'],
  },
  ask_agent: { name: 'Ask other agents', description: 'Delegates questions to peer agents over A2A.', tags: ['a2a', 'delegation'] },
};

function fromSkill(s: Skill, kind: string): CardSkill {
  return { id: s.id, name: s.name, description: s.description, tags: s.tags.length > 0 ? s.tags : [kind], examples: s.examples };
}

/**
 * An agent's skills as its own card lists them: the skills in its record, then one `tool-<name>` skill per tool
 * the agent is both granted (its record) and able to run (its component: `offeredTools`). A tool the component
 * cannot run is never advertised, whatever the record says.
 */
export function agentSkills(agent: Agent, services: ToolServices = {}): CardSkill[] {
  const skills = agent.skills.map((s) => fromSkill(s, agent.kind));
  for (const tool of offeredTools(agent, services)) {
    const t = TOOL_SKILLS[tool];
    if (t) skills.push({ id: `tool-${tool}`, name: t.name, description: t.description, tags: ['tool', ...t.tags] });
  }
  if (skills.length === 0)
    skills.push({
      id: 'chat',
      name: 'Chat',
      description: agent.description || `Chat with the ${agent.kind} agent ${agent.name}.`,
      tags: [agent.kind],
    });
  return skills;
}

/** The platform card's skill id for one agent's skill: `<kind>/<name>/<skillId>` (unique across agents). */
export function platformSkillId(agent: { kind: string; name: string }, skillId: string): string {
  return `${agent.kind}/${agent.name}/${skillId}`;
}

/**
 * The platform card's skills: every registered agent's record skills (or one chat skill for agents without any), then
 * `extra` (the workflow skills, which the platform runs itself).
 */
export function platformSkills(agents: readonly Agent[], extra: readonly CardSkill[] = []): CardSkill[] {
  const skills: CardSkill[] = [];
  for (const a of agents) {
    const own =
      a.skills.length > 0
        ? a.skills.map((s) => fromSkill(s, a.kind))
        : [{ id: 'chat', name: `Chat with ${a.name}`, description: a.description, tags: [a.kind] }];
    for (const s of own)
      skills.push({ ...s, id: platformSkillId(a, s.id), description: s.description || `${s.name} (agent ${a.kind}/${a.name})` });
  }
  skills.push(...extra);
  if (skills.length === 0)
    skills.push({ id: 'none', name: 'No agents yet', description: 'No agents are registered on this platform yet.', tags: ['platform'] });
  return skills;
}
