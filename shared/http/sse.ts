/**
 * Reading the server-sent events of the platform's streaming endpoints (agent chat, workflow runs), for the MCP
 * tools and the A2A handler.
 *
 * @module
 */
import { withTimeout } from './timeout.ts';

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Parses an SSE body into events (`event:` + `data:` lines; data parsed as JSON when it is JSON). With `deadline`
 * (epoch ms), a stream still open then ends with `onTimeout()`'s error: a stalled callee must not hold the request.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, deadline?: number, onTimeout?: () => Error): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const parse = (block: string): SseEvent | undefined => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length === 0) return undefined;
    const text = data.join('\n');
    try {
      return { event, data: JSON.parse(text) as unknown };
    } catch {
      return { event, data: text };
    }
  };
  const timeoutError = onTimeout ?? (() => new Error('the event stream did not end in time'));
  for (;;) {
    const { done, value } =
      deadline === undefined ? await reader.read() : await withTimeout(reader.read(), Math.max(0, deadline - Date.now()), timeoutError);
    if (value) buffer += decoder.decode(value, { stream: true });
    let at: number;
    while ((at = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at).replace(/^\r?\n\r?\n/, '');
      const e = parse(block);
      if (e) yield e;
    }
    if (done) break;
  }
  const last = parse(buffer);
  if (last) yield last;
}

/** The first of `names` that `data` (an event payload) has. */
export function field(data: unknown, ...names: string[]): unknown {
  if (typeof data !== 'object' || data === null) return undefined;
  for (const n of names) if (n in data) return (data as Record<string, unknown>)[n];
  return undefined;
}
