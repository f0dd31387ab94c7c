/**
 * The dashboard's SSE parser (components/ui/app/sse.ts): chunks split anywhere, every line ending, comments, ids,
 * multi-line data, a BOM, and a stream that ends mid-event.
 */
import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseEvent } from '../../components/ui/app/sse.ts';

const STREAM =
  '\ufeff: comment\nevent: token\ndata: {"text":"He"}\n\nevent: token\r\ndata: {"text":"llo"}\r\n\r\nid: 7\rdata: line 1\rdata: line 2\r\revent: done\ndata: {}\n\n';
const EXPECTED: SseEvent[] = [
  { event: 'token', data: '{"text":"He"}' },
  { event: 'token', data: '{"text":"llo"}' },
  { event: 'message', data: 'line 1\nline 2', id: '7' },
  { event: 'done', data: '{}', id: '7' },
];

function parseInChunks(text: string, size: number): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
  return [...out, ...p.end()];
}

describe('SseParser', () => {
  it('parses LF, CRLF and CR line endings, comments, ids and multi-line data', () => {
    expect(parseInChunks(STREAM, STREAM.length)).toEqual(EXPECTED);
  });

  it('gives the same events however the stream is split (a CRLF split in two included)', () => {
    for (let size = 1; size <= 12; size++) expect(parseInChunks(STREAM, size), `chunks of ${size}`).toEqual(EXPECTED);
  });

  it('drops an event that never got its blank line, and ignores fields it does not know', () => {
    expect(parseInChunks('retry: 10\nfoo: bar\ndata: a\n\ndata: cut off', 4)).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('treats "data" without a colon as an empty data line and keeps a value’s extra spaces', () => {
    expect(parseInChunks('data\n\ndata:  two spaces\n\n', 3)).toEqual([
      { event: 'message', data: '' },
      { event: 'message', data: ' two spaces' },
    ]);
  });

  it('does not dispatch an event with no data field', () => {
    expect(parseInChunks('event: ping\n\n', 5)).toEqual([]);
  });
});

describe('readSse', () => {
  it('reads a byte stream, UTF-8 split across chunks included', async () => {
    const bytes = new TextEncoder().encode('event: token\ndata: {"text":"héllo ✓"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const e of readSse(body)) events.push(e);
    expect(events).toEqual([{ event: 'token', data: '{"text":"héllo ✓"}' }]);
  });
});
