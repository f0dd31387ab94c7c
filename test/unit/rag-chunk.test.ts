/**
 * The rag component's pure parts: Markdown-aware chunking, note parsing (frontmatter, tags, wikilinks), the content
 * hash and the metadata filter's SQL (parameters only, whatever the keys and values hold).
 */
import { describe, expect, it } from 'vitest';
import { FilterSchema } from '../../shared/protocol/knowledge.ts';
import { chunkDocument, chunkMarkdown, chunkText, contextualText, markdownBlocks } from '../../shared/rag/chunk.ts';
import { filterSql, SqlParams } from '../../shared/rag/filter.ts';
import { canonicalJson, documentHash } from '../../shared/rag/hash.ts';
import { parseNote, parseYamlSubset } from '../../shared/rag/markdown.ts';

const NOTE = `# Guide

Intro paragraph. It has two sentences.

## Install

- step one
- step two
  continued line
- step three

\`\`\`sh
npm install
npm test
\`\`\`

## Use

### Deep

Text under deep.

| a | b |
|---|---|
| 1 | 2 |
`;

describe('markdownBlocks', () => {
  it('recognises headings, lists, code fences, tables and paragraphs', () => {
    const kinds = markdownBlocks(NOTE).map((b) => b.kind);
    expect(kinds).toEqual(['heading', 'paragraph', 'heading', 'list', 'code', 'heading', 'heading', 'paragraph', 'table']);
  });
  it('keeps a fenced block whole even when it holds a heading-like line or blank lines', () => {
    const blocks = markdownBlocks('```py\n# comment, not a heading\n\nx = 1\n```\nafter');
    expect(blocks[0]).toMatchObject({ kind: 'code', text: '```py\n# comment, not a heading\n\nx = 1\n```' });
    expect(blocks[1]).toMatchObject({ kind: 'paragraph', text: 'after' });
  });
});

describe('chunkMarkdown', () => {
  it('starts a chunk at every section and records the heading path', () => {
    const chunks = chunkMarkdown(NOTE, { size: 1000, overlap: 0 });
    expect(chunks.map((c) => c.headings)).toEqual([['Guide'], ['Guide', 'Install'], ['Guide', 'Use', 'Deep']]);
    expect(chunks[1]!.text).toContain('```sh\nnpm install\nnpm test\n```');
    expect(chunks[1]!.text.startsWith('## Install')).toBe(true);
    // "## Use" has no text of its own: no chunk, but it is in the path of its subsection.
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2]);
  });

  it('keeps chunks within the size, cutting prose at sentences and lists at items', () => {
    const para = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
    const list = Array.from({ length: 30 }, (_, i) => `- item ${i} with some words`).join('\n');
    const chunks = chunkMarkdown(`# T\n\n${para}\n\n${list}\n`, { size: 200, overlap: 0 });
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(200);
    for (const c of chunks)
      for (const line of c.text.split('\n')) if (line.startsWith('- ')) expect(line).toMatch(/^- item \d+ with some words$/);
    expect(chunks.some((c) => c.text.startsWith('Sentence number') || c.text.includes('Sentence number 0'))).toBe(true);
    const all = chunks.map((c) => c.text).join(' ');
    for (let i = 0; i < 40; i++) expect(all).toContain(`Sentence number ${i} is here.`);
  });

  it('cuts an oversized code block at lines and re-fences every piece', () => {
    const code = Array.from({ length: 60 }, (_, i) => `const v${i} = ${i};`).join('\n');
    const chunks = chunkMarkdown(`\`\`\`ts\n${code}\n\`\`\`\n`, { size: 250, overlap: 50 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      expect(c.text.startsWith('```ts\n')).toBe(true);
      expect(c.text.endsWith('\n```')).toBe(true);
      expect(c.text.length).toBeLessThanOrEqual(250);
    }
    // Code is never repeated as overlap.
    const lines = chunks.flatMap((c) => c.text.split('\n').filter((l) => l.startsWith('const')));
    expect(lines).toHaveLength(60);
  });

  it('overlaps consecutive chunks of one section with whole sentences of prose', () => {
    const text = Array.from({ length: 12 }, (_, i) => `Fact ${i} is stated in this sentence.`).join(' ');
    const chunks = chunkText(text, { size: 120, overlap: 40 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(120);
    for (let i = 1; i < chunks.length; i++) {
      const prevLast = chunks[i - 1]!.text.split(/(?<=\.)\s+/).pop()!;
      expect(chunks[i]!.text.startsWith(`${prevLast}\n\n`)).toBe(true);
    }
  });

  it('flattens JSON into path: value lines and rejects invalid JSON', () => {
    const chunks = chunkDocument(JSON.stringify({ a: { b: [1, 'two'] }, c: null }), 'json', { size: 500, overlap: 0 });
    expect(chunks[0]!.text).toBe('a.b[0]: 1\na.b[1]: two\nc: null');
    expect(() => chunkDocument('{nope', 'json', { size: 500, overlap: 0 })).toThrow(SyntaxError);
  });

  it('puts the title and heading path in front of the embedded text', () => {
    expect(contextualText('Doc', { text: 'body', headings: ['A', 'B'] })).toBe('Doc\nA > B\n\nbody');
    expect(contextualText(null, { text: 'body', headings: [] })).toBe('body');
  });
});

describe('parseNote', () => {
  it('reads frontmatter, #tags outside code and [[wikilinks]] with aliases and headings', () => {
    const note = parseNote(
      '---\ntitle: "Hello: world"\ntags: [a, "b c"]\npriority: 3\ndraft: false\naliases:\n  - one\n  - two\nnested:\n  k: v\n---\n' +
        '# Title\n\nText #tag1 and #nested/tag, not#this, [[Target]] and [[Other|alias]] and [[Third#Heading]].\n\n```\n#include <x>\n[[NotALink]]\n```\n',
    );
    expect(note.frontmatter).toEqual({
      title: 'Hello: world',
      tags: ['a', 'b c'],
      priority: 3,
      draft: false,
      aliases: ['one', 'two'],
      nested: { k: 'v' },
    });
    expect(note.tags).toEqual(['a', 'b c', 'tag1', 'nested/tag']);
    expect(note.links).toEqual(['Target', 'Other', 'Third']);
    expect(note.body.startsWith('# Title')).toBe(true);
  });
  it('treats a note without frontmatter as all body', () => {
    expect(parseNote('# Just text').frontmatter).toEqual({});
    expect(parseYamlSubset('a: 1\nb: [x, y]\nc:\n')).toEqual({ a: 1, b: ['x', 'y'], c: null });
  });
});

describe('documentHash', () => {
  it('is independent of metadata key order and changes with any field', async () => {
    const base = { title: null, content: 'x', contentType: 'markdown' as const, metadata: { a: 1, b: { c: 2, d: 3 } } };
    const same = await documentHash({ ...base, metadata: { b: { d: 3, c: 2 }, a: 1 } });
    expect(await documentHash(base)).toBe(same);
    expect(await documentHash({ ...base, content: 'y' })).not.toBe(same);
    expect(await documentHash({ ...base, metadata: { a: 2, b: { c: 2, d: 3 } } })).not.toBe(same);
    expect(canonicalJson({ z: [1, { y: 1, x: 2 }], a: null })).toBe('{"a":null,"z":[1,{"x":2,"y":1}]}');
  });
});

describe('filterSql', () => {
  const HOSTILE = ["'; DROP TABLE rag_chunks; --", 'a") OR 1=1 --', '$1', '\\x00', "key' || pg_sleep(5) || '"];

  it('binds every key and value as a parameter, never as statement text', () => {
    for (const evil of HOSTILE) {
      const filter = FilterSchema.parse({
        [evil]: evil,
        [`${evil}2`]: { in: [evil, 1] },
        [`${evil}3`]: { gte: evil },
        [`${evil}4`]: { exists: true },
      });
      const p = new SqlParams();
      const sql = filterSql(filter, p);
      // The statement text is exactly what a harmless filter of the same shape gives.
      const benign = FilterSchema.parse({ k: 'v', k2: { in: ['v', 1] }, k3: { gte: 'v' }, k4: { exists: true } });
      expect(sql).toBe(filterSql(benign, new SqlParams()));
      expect(sql).not.toMatch(/DROP|pg_sleep|OR 1=1/);
      expect(p.values.some((v) => typeof v === 'string' && v.includes(evil.slice(0, 5)))).toBe(true);
    }
  });

  it('renders each operator', () => {
    const p = new SqlParams();
    const sql = filterSql(FilterSchema.parse({ a: 1, b: { ne: 'x' }, c: { in: ['y'] }, d: { gt: 1, lte: 5 }, e: { exists: false } }), p);
    expect(sql).toContain('d.metadata @> $1::text::jsonb OR d.metadata @> $2::text::jsonb');
    expect(sql).toContain('NOT (d.metadata @>');
    expect(sql).toContain('jsonb_array_elements(');
    expect(sql).toContain('IS NULL');
    expect(p.values[0]).toBe('{"a":1}');
    expect(p.values[1]).toBe('{"a":[1]}');
    expect(filterSql(undefined, new SqlParams())).toBe('TRUE');
  });

  it('rejects filters that are not the documented structure', () => {
    expect(FilterSchema.safeParse({ a: { $where: 'x' } }).success).toBe(false);
    expect(FilterSchema.safeParse({ a: { in: [] } }).success).toBe(false);
    expect(FilterSchema.safeParse({ a: [1, 2] }).success).toBe(false);
    expect(FilterSchema.safeParse(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 1]))).success).toBe(false);
  });
});
