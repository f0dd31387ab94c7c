/**
 * How a step reaches its agent: `POST <agents_url>/agents/<kind>/<name>/chat` with the rendered prompt, the
 * caller's `Authorization` forwarded. A step that names only a kind uses that kind's default agent
 * `<kind>/workflow`, created through `POST <agents_url>/api/v1/agents` the first time the chat answers 404 (that
 * needs an `admin` key when authentication is on; the failure says so).
 *
 * Failures are {@link StepError}s: timeouts, network errors, 429 and 5xx are transient (the step's retry policy
 * applies); other statuses are not.
 *
 * @module
 */
import { z } from 'zod';
import { parseAgentRef } from './graph.ts';

/** Name of the agent a kind-only step uses. */
export const DEFAULT_AGENT_NAME = 'workflow';

export class StepError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = retryable;
  }
}

export interface AgentClientOptions {
  /** `agents_url`, without a trailing slash. */
  baseUrl: string;
  authorization?: string | undefined;
}

/** Sends one prompt; resolves with the agent's reply. */
export type AskAgent = (agent: string, message: string, conversationId: string, timeoutMs: number) => Promise<string>;

const ReplySchema = z.object({ reply: z.string() });
const ErrorSchema = z.object({ error: z.object({ message: z.string() }) });

async function describe(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  let detail = text.slice(0, 300);
  try {
    const parsed = ErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) detail = parsed.data.error.message;
  } catch {
    // not JSON: keep the text
  }
  return `${res.status}${detail ? `: ${detail}` : ''}`;
}

/** `fetch` raced against a timer (the guest's fetch ignores AbortSignal; the host cuts the abandoned request). */
async function fetchWithin(url: string, init: RequestInit, timeoutMs: number, what: string): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepError('timeout', `${what} did not answer within ${timeoutMs} ms`, true)), timeoutMs);
  });
  try {
    return await Promise.race([fetch(url, init), timeout]);
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError('unreachable', `cannot reach ${what}: ${err instanceof Error ? err.message : String(err)}`, true, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** An {@link AskAgent} over HTTP. */
export function agentClient(o: AgentClientOptions): AskAgent {
  const headers = (): Record<string, string> => {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (o.authorization) h.authorization = o.authorization;
    return h;
  };

  async function createDefault(kind: string, timeoutMs: number): Promise<void> {
    const res = await fetchWithin(
      `${o.baseUrl}/api/v1/agents`,
      {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({
          name: DEFAULT_AGENT_NAME,
          kind,
          description: `Default ${kind} agent of workflow steps that name only the kind (created on first use)`,
        }),
      },
      timeoutMs,
      'the agent registry',
    );
    // 409: a concurrent step created it first, which is just as good.
    if (res.ok || res.status === 409) {
      await res.arrayBuffer().catch(() => undefined);
      return;
    }
    throw new StepError(
      'agent_unavailable',
      `the default agent ${kind}/${DEFAULT_AGENT_NAME} does not exist and could not be created (${await describe(res)}); ` +
        'create it with POST /api/v1/agents or run the workflow with an admin key',
      res.status === 429 || res.status >= 500,
    );
  }

  return async (agent, message, conversationId, timeoutMs) => {
    const ref = parseAgentRef(agent);
    const name = ref.name ?? DEFAULT_AGENT_NAME;
    const started = Date.now();
    const left = () => Math.max(1, timeoutMs - (Date.now() - started));
    const send = () =>
      fetchWithin(
        `${o.baseUrl}/agents/${ref.kind}/${name}/chat`,
        { method: 'POST', headers: headers(), body: JSON.stringify({ message, conversationId }) },
        left(),
        `agent ${ref.kind}/${name}`,
      );
    let res = await send();
    if (res.status === 404 && ref.name === undefined) {
      await res.arrayBuffer().catch(() => undefined);
      await createDefault(ref.kind, left());
      res = await send();
    }
    if (!res.ok) {
      const retryable = res.status === 429 || res.status >= 500;
      throw new StepError(
        res.status === 404 ? 'agent_not_found' : 'agent_error',
        `agent ${ref.kind}/${name} answered ${await describe(res)}`,
        retryable,
      );
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new StepError('agent_error', `agent ${ref.kind}/${name} sent a reply that is not JSON`, true, { cause: err });
    }
    const parsed = ReplySchema.safeParse(body);
    if (!parsed.success) throw new StepError('agent_error', `agent ${ref.kind}/${name} sent a reply without a reply text`, false);
    return parsed.data.reply;
  };
}
