/**
 * Server-sent events over `fetch`: an incremental parser for `text/event-stream` (the WHATWG algorithm's fields:
 * `event`, `data`, `id`, comments, CR/LF/CRLF line ends, a leading BOM) and a reader for a response body.
 *
 * `EventSource` cannot POST or send an `Authorization` header, and chat and workflow runs are POSTs with the user's
 * API key, hence this.
 *
 * @module
 */

/** One dispatched event; `event` defaults to `message`. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Feeds text chunks (split anywhere, even inside a CRLF) and returns the events each chunk completes. */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #hasData = false;
  #id: string | undefined;
  #started = false;

  push(chunk: string): SseEvent[] {
    if (!this.#started && chunk.length > 0) {
      this.#started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.#buffer += chunk;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const c = this.#buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (c === '\r' && i === this.#buffer.length - 1) break;
      this.#line(this.#buffer.slice(start, i), events);
      if (c === '\r' && this.#buffer[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.#buffer = this.#buffer.slice(start);
    return events;
  }

  /** The stream ended: a lone CR still ends its line, but an event without its blank line is dropped, as the spec says. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.#buffer.endsWith('\r')) this.#line(this.#buffer.slice(0, -1), events);
    this.#buffer = '';
    this.#event = '';
    this.#data = [];
    this.#hasData = false;
    return events;
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.#hasData) {
        const e: SseEvent = { event: this.#event || 'message', data: this.#data.join('\n') };
        if (this.#id !== undefined) e.id = this.#id;
        events.push(e);
      }
      this.#event = '';
      this.#data = [];
      this.#hasData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') {
      this.#data.push(value);
      this.#hasData = true;
    } else if (field === 'id' && !value.includes('\0')) this.#id = value;
  }
}

/** Reads an event-stream body to its end, yielding events as they arrive. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    reader.releaseLock();
  }
}
