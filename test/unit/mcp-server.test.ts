/**
 * The MCP server's pure parts under Node: cursors, resource URIs, the Origin rules, the 2026-07-28 header encoding,
 * the SSE reader the workflow tool uses, prompts, and the tool schemas as validators (ajv, as the clients use it)
 * see them.
 */
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { decodeHeaderValue, originAllowed } from '../../shared/mcp/http.ts';
import { decodeCursor, encodeCursor, page } from '../../shared/mcp/pagination.ts';
import { describeErrorBody } from '../../shared/mcp/platform.ts';
import { getPrompt, PROMPT_DESCRIPTORS } from '../../shared/mcp/prompts.ts';
import { negotiate } from '../../shared/mcp/server.ts';
import { readSse } from '../../shared/http/sse.ts';
import { TOOL_DESCRIPTORS } from '../../shared/mcp/tools/index.ts';
import { agentUri, documentUri, parseResourceUri } from '../../shared/mcp/uris.ts';

describe('cursors', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];

  it('pages through a fixed list', () => {
    const p1 = page(items, 'tools', undefined, 2);
    expect(p1.items).toEqual(['a', 'b']);
    const p2 = page(items, 'tools', p1.nextCursor, 2);
    expect(p2.items).toEqual(['c', 'd']);
    const p3 = page(items, 'tools', p2.nextCursor, 2);
    expect(p3).toEqual({ items: ['e'] });
  });

  it('rejects cursors of another list, past the end, or made up, with -32602', () => {
    const other = encodeCursor({ list: 'prompts', offset: 2 });
    for (const cursor of [
      other,
      encodeCursor({ list: 'tools', offset: 5 }),
      encodeCursor({ list: 'tools', offset: -1 }),
      'e30',
      '!!',
      'eyJsaXN0',
    ]) {
      expect(() => page(items, 'tools', cursor, 2), cursor).toThrow(expect.objectContaining({ code: -32602 }));
    }
  });

  it('wraps an upstream cursor and checks it', () => {
    const c = encodeCursor({ list: 'resources', upstream: 'abc_DEF-1' });
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, 'resources')).toEqual({ list: 'resources', upstream: 'abc_DEF-1' });
    expect(() => decodeCursor(encodeCursor({ list: 'resources', upstream: 'a/b' }), 'resources')).toThrow();
  });
});

describe('resource URIs', () => {
  it('round-trip, with awkward document ids percent-encoded', () => {
    expect(parseResourceUri(agentUri('coder', 'alice'))).toEqual({ type: 'agent', kind: 'coder', name: 'alice' });
    const uri = documentUri('notes', 'daily/2026 11 22.md');
    expect(uri).toBe('edge-agents://knowledge/notes/daily%2F2026%2011%2022.md');
    expect(parseResourceUri(uri)).toEqual({ type: 'document', collection: 'notes', docId: 'daily/2026 11 22.md' });
  });

  it('rejects other schemes, missing or extra segments, dot segments and bad escapes', () => {
    for (const uri of [
      'file:///etc/passwd',
      'edge-agents://agents/coder',
      'edge-agents://agents/coder/alice/extra',
      'edge-agents://agents/coder/%2E%2E',
      'edge-agents://knowledge/notes/%E0%A4%A',
      'edge-agents://other/a/b',
      'edge-agents://agents/coder/alice?x=1',
    ]) {
      expect(parseResourceUri(uri), uri).toBeUndefined();
    }
  });
});

describe('Origin rules', () => {
  it('allows loopback origins and listed ones', () => {
    expect(originAllowed('http://localhost:3000', 'mcp.example.com', '', false)).toBe(true);
    expect(originAllowed('http://127.0.0.1:9', 'mcp.example.com', '', false)).toBe(true);
    expect(originAllowed('http://[::1]:8080', 'mcp.example.com', '', false)).toBe(true);
    expect(originAllowed('http://app.localhost', 'mcp.example.com', '', false)).toBe(true);
    expect(originAllowed('https://app.example.com', 'x', 'https://other.example, https://app.example.com/', false)).toBe(true);
    expect(originAllowed('https://anything.example', 'x', '*', false)).toBe(true);
  });

  it('allows the own host only with authentication on (DNS rebinding otherwise)', () => {
    expect(originAllowed('https://mcp.example.com', 'mcp.example.com', '', true)).toBe(true);
    expect(originAllowed('https://mcp.example.com', 'mcp.example.com', '', false)).toBe(false);
  });

  it('refuses everything else', () => {
    for (const origin of [
      'https://evil.example',
      'null',
      'file://',
      'chrome-extension://abc',
      'not a url',
      'http://localhost.evil.example',
    ]) {
      expect(originAllowed(origin, 'mcp.example.com', 'https://app.example.com', true), origin).toBe(false);
    }
  });
});

describe('2026-07-28 header values', () => {
  it('decode the base64 sentinel as UTF-8 and pass plain values through', () => {
    expect(decodeHeaderValue('get_weather')).toBe('get_weather');
    expect(decodeHeaderValue('=?base64?SGVsbG8sIOS4lueVjA==?=')).toBe('Hello, 世界');
    expect(decodeHeaderValue('=?base64?/w==?=')).toBeUndefined();
  });
});

describe('readSse', () => {
  async function collect(chunks: string[]) {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    });
    const out = [];
    for await (const e of readSse(body)) out.push(e);
    return out;
  }

  it('parses events split across chunks, CRLF, multi-line data and comments', async () => {
    const evs = await collect([
      ': keep-alive\n\nevent: step_started\ndata: {"st',
      'ep":"specification"}\n\nevent: note\r\ndata: line one\r\ndata: line two\r\n\r\n',
      'data: {"last":true}',
    ]);
    expect(evs).toEqual([
      { event: 'step_started', data: { step: 'specification' } },
      { event: 'note', data: 'line one\nline two' },
      { event: 'message', data: { last: true } },
    ]);
  });
});

describe('readSse deadline', () => {
  it('ends a stalled stream with the timeout error', async () => {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode('event: step_started\ndata: {}\n\n'));
        // and then nothing, ever
      },
    });
    const seen: string[] = [];
    const run = async () => {
      for await (const e of readSse(body, Date.now() + 50, () => new Error('too slow'))) seen.push(e.event);
    };
    await expect(run()).rejects.toThrow('too slow');
    expect(seen).toEqual(['step_started']);
  });
});

describe('prompts', () => {
  it('are the five SPARC phases, in order', () => {
    expect(PROMPT_DESCRIPTORS.map((p) => p.name)).toEqual(['specification', 'pseudocode', 'architecture', 'refinement', 'completion']);
  });

  it('render their arguments and refuse missing required ones or unknown prompts', () => {
    const r = getPrompt('architecture', { specification: 'SPEC-TEXT', pseudocode: 'PSEUDO-TEXT' });
    expect(r.messages[0]!.content.text).toContain('SPEC-TEXT');
    expect(r.messages[0]!.content.text).toContain('PSEUDO-TEXT');
    expect(() => getPrompt('architecture', { specification: '  ' })).toThrow(expect.objectContaining({ code: -32602 }));
    expect(() => getPrompt('nope')).toThrow(expect.objectContaining({ code: -32602 }));
  });
});

describe('tool schemas', () => {
  it('have valid names and object schemas without $schema (so draft-07 validators accept them)', () => {
    for (const t of TOOL_DESCRIPTORS) {
      expect(t.name).toMatch(/^[A-Za-z0-9_.-]{1,128}$/);
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.inputSchema.$schema).toBeUndefined();
    }
  });

  it('compile under ajv draft-07 (the 1.x client) and 2020-12, and validate sample results', () => {
    const samples: Record<string, unknown> = {
      execute_code: {
        stdout: 'hi\n',
        stderr: '',
        result: 42,
        error: null,
        durationMs: 3,
        truncated: false,
        timedOut: false,
        language: 'javascript',
      },
      list_agents: { agents: [], nextCursor: null },
      search_knowledge: {
        collection: 'c',
        query: 'q',
        results: [{ documentId: 'd', chunkId: 'd#0', score: 0.5, text: 't', title: null, source: 'c/d', metadata: {}, uri: 'u' }],
      },
    };
    for (const ajv of [new Ajv({ strict: false }), new Ajv2020({ strict: false })]) {
      for (const t of TOOL_DESCRIPTORS) {
        ajv.compile(t.inputSchema);
        const validate = ajv.compile(t.outputSchema!);
        if (samples[t.name]) expect(validate(samples[t.name]), `${t.name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
    }
  });
});

describe('misc', () => {
  it('negotiates initialize versions', () => {
    expect(negotiate('2025-06-18')).toBe('2025-06-18');
    expect(negotiate('2024-11-05')).toBe('2025-11-25');
    expect(negotiate('2026-07-28')).toBe('2025-11-25');
  });

  it('summarises callee error bodies', () => {
    expect(describeErrorBody('{"error":{"code":"not_found","message":"no agent"}}')).toEqual({ code: 'not_found', message: 'no agent' });
    expect(describeErrorBody('<html>bad gateway</html>')).toEqual({ message: '<html>bad gateway</html>' });
    expect(describeErrorBody('')).toEqual({ message: undefined });
  });
});
