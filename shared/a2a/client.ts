/**
 * A small guest-side A2A client, for agents that delegate to remote peers (the `ask_agent` tool; peers are the
 * `{name, cardUrl}` entries of an agent record). It resolves the peer's card, sends one message over JSON-RPC
 * (v1.0 `SendMessage` when the card offers a 1.0 interface, else v0.3 `message/send`), blocks until the peer's task
 * is done, and returns the reply as text.
 *
 * Web APIs only (fetch), so it runs in components. Every URL it fetches must be allowed by the calling component's
 * `allowed_outbound_hosts` (agent kinds: `{{ a2a_peer_hosts }}`, default `https://*:443`). `fetch` ignores
 * AbortSignal in the guest, so the timeout races each call with a timer.
 *
 * @module
 */

/** A peer that cannot be reached, answers with an error, or answers with something that is not A2A. */
export class A2APeerError extends Error {
  override readonly name = 'A2APeerError';
  /** The JSON-RPC error code, when the peer sent one. */
  readonly code: number | undefined;

  constructor(message: string, code?: number) {
    super(message);
    this.code = code;
  }
}

export interface PeerOptions {
  /** Per HTTP call; default 60 s. */
  timeoutMs?: number;
  /** Sent as `Authorization` (e.g. `Bearer <key>` the peer gave us). */
  authorization?: string;
  /** Continue a conversation with the peer. */
  contextId?: string;
  /** Defaults to the global fetch. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

export interface ResolvedPeer {
  name: string;
  endpoint: string;
  version: '1.0' | '0.3';
  card: Record<string, unknown>;
}

export interface PeerReply {
  /** The reply text (artifacts' text parts, else the status message, else a direct message). */
  text: string;
  /** The peer's final task state (`completed`, `failed`, …, lower case), or `message` for a direct message. */
  state: string;
  taskId?: string | undefined;
  contextId?: string | undefined;
}

const MAX_CARD_BYTES = 256 * 1024;

async function call(url: string, init: RequestInit, options: PeerOptions): Promise<Response> {
  const doFetch = options.fetch ?? ((u: string, i: RequestInit) => fetch(u, i));
  const ms = options.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new A2APeerError(`${url} did not answer within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([doFetch(url, init), timeout]);
  } catch (err) {
    if (err instanceof A2APeerError) throw err;
    throw new A2APeerError(`${url} cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Fetches a card and picks its JSON-RPC endpoint, preferring a 1.0 interface. */
export async function resolvePeer(cardUrl: string, options: PeerOptions = {}): Promise<ResolvedPeer> {
  const headers: Record<string, string> = { accept: 'application/json', 'a2a-version': '1.0' };
  if (options.authorization) headers.authorization = options.authorization;
  const res = await call(cardUrl, { headers }, options);
  if (!res.ok) throw new A2APeerError(`the agent card at ${cardUrl} answered ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_CARD_BYTES) throw new A2APeerError(`the agent card at ${cardUrl} is larger than ${MAX_CARD_BYTES} bytes`);
  let card: unknown;
  try {
    card = JSON.parse(text);
  } catch {
    throw new A2APeerError(`the agent card at ${cardUrl} is not JSON`);
  }
  if (!isObject(card)) throw new A2APeerError(`the agent card at ${cardUrl} is not an object`);
  const name = typeof card.name === 'string' ? card.name : cardUrl;
  const interfaces = Array.isArray(card.supportedInterfaces) ? card.supportedInterfaces.filter(isObject) : [];
  const jsonrpc = interfaces.filter((i) => String(i.protocolBinding).toUpperCase() === 'JSONRPC' && typeof i.url === 'string');
  const v1 = jsonrpc.find((i) => String(i.protocolVersion).startsWith('1.'));
  if (v1) return { name, endpoint: new URL(v1.url as string, cardUrl).href, version: '1.0', card };
  const legacy = jsonrpc.find((i) => String(i.protocolVersion).startsWith('0.'));
  if (legacy) return { name, endpoint: new URL(legacy.url as string, cardUrl).href, version: '0.3', card };
  if (
    typeof card.url === 'string' &&
    (card.preferredTransport === undefined || String(card.preferredTransport).toUpperCase() === 'JSONRPC')
  )
    return { name, endpoint: new URL(card.url, cardUrl).href, version: '0.3', card };
  throw new A2APeerError(`the agent card at ${cardUrl} offers no JSON-RPC interface`);
}

function partsText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts
    .filter(isObject)
    .map((p) => (typeof p.text === 'string' ? p.text : p.data !== undefined ? JSON.stringify(p.data) : ''))
    .filter((t) => t !== '')
    .join('\n');
}

/** The reply in a SendMessage result (v1.0 `{task}`/`{message}`, or a v0.3 object with `kind`). */
export function replyOf(result: unknown): PeerReply {
  if (!isObject(result)) throw new A2APeerError('the peer answered without a result object');
  const task = isObject(result.task) ? result.task : result.kind === 'task' ? result : undefined;
  const message = isObject(result.message) && !task ? result.message : result.kind === 'message' ? result : undefined;
  if (task) {
    const status = isObject(task.status) ? task.status : {};
    const state = String(status.state ?? 'unknown')
      .replace(/^TASK_STATE_/, '')
      .toLowerCase()
      .replace(/_/g, '-');
    const artifacts = Array.isArray(task.artifacts) ? task.artifacts.filter(isObject) : [];
    const fromArtifacts = artifacts
      .map((a) => partsText(a.parts))
      .filter(Boolean)
      .join('\n');
    const fromStatus = isObject(status.message) ? partsText(status.message.parts) : '';
    return {
      text: fromArtifacts || fromStatus,
      state,
      taskId: typeof task.id === 'string' ? task.id : undefined,
      contextId: typeof task.contextId === 'string' ? task.contextId : undefined,
    };
  }
  if (message)
    return {
      text: partsText(message.parts),
      state: 'message',
      contextId: typeof message.contextId === 'string' ? message.contextId : undefined,
    };
  throw new A2APeerError('the peer answered with neither a task nor a message');
}

/** Sends one message to a resolved peer and waits for its reply. */
export async function sendToPeer(peer: ResolvedPeer, text: string, options: PeerOptions = {}): Promise<PeerReply> {
  const messageId = crypto.getRandomValues(new Uint32Array(4)).join('-');
  const body =
    peer.version === '1.0'
      ? {
          jsonrpc: '2.0',
          id: 1,
          method: 'SendMessage',
          params: { message: { messageId, role: 'ROLE_USER', parts: [{ text }], contextId: options.contextId } },
        }
      : {
          jsonrpc: '2.0',
          id: 1,
          method: 'message/send',
          params: { message: { kind: 'message', messageId, role: 'user', parts: [{ kind: 'text', text }], contextId: options.contextId } },
        };
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'a2a-version': peer.version };
  if (options.authorization) headers.authorization = options.authorization;
  const res = await call(peer.endpoint, { method: 'POST', headers, body: JSON.stringify(body) }, options);
  const raw = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new A2APeerError(`${peer.endpoint} answered ${res.status} with a body that is not JSON`);
  }
  if (isObject(json) && isObject(json.error)) {
    const code = typeof json.error.code === 'number' ? json.error.code : undefined;
    throw new A2APeerError(`${peer.name} answered with error ${code ?? '?'}: ${String(json.error.message ?? '')}`, code);
  }
  if (!res.ok || !isObject(json)) throw new A2APeerError(`${peer.endpoint} answered ${res.status}`);
  return replyOf(json.result);
}

/** Resolves the card at `cardUrl`, sends `text`, and returns the peer's reply: what `ask_agent` needs. */
export async function askPeer(cardUrl: string, text: string, options: PeerOptions = {}): Promise<PeerReply> {
  return sendToPeer(await resolvePeer(cardUrl, options), text, options);
}
