/**
 * Splitting documents into chunks for embedding and full-text search.
 *
 * Markdown is split along its structure: every heading starts a section (and the chunk records the heading path
 * above it), fenced code blocks, lists and tables are kept whole when they fit, and a block that does not fit is cut
 * at its natural seams (sentences, list items, code lines, table rows) before ever cutting inside a line. Chunks
 * of one section overlap by up to `overlap` characters of prose, so a sentence cut from its context is still found
 * with it; code is never repeated as overlap (a half code block is noise). Plain text uses paragraphs and sentences;
 * JSON is flattened to `path: value` lines so keys are searchable next to their values.
 *
 * Sizes are in characters (UTF-16 units): the component has no tokenizer of the embedding model, and characters are
 * what limits the request and storage sizes.
 *
 * @module
 */
import type { ContentType } from '../protocol/knowledge.ts';

export interface Chunk {
  index: number;
  text: string;
  /** The Markdown headings above the chunk, outermost first; empty for plain text and JSON. */
  headings: string[];
}

export interface ChunkOptions {
  /** Target size in characters: chunks stay at or below it unless one line alone is longer. */
  size: number;
  /** Characters of prose repeated from the previous chunk of the same section. */
  overlap: number;
}

type BlockKind = 'heading' | 'paragraph' | 'list' | 'code' | 'table' | 'quote';

interface Block {
  kind: BlockKind;
  text: string;
  /** For headings: level and title. */
  level?: number;
  title?: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const LIST_ITEM = /^ {0,3}(?:[-*+]|[0-9]{1,9}[.)])(?:[ \t]|$)/;
const RULE = /^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;

/** Markdown as a flat sequence of blocks. */
export function markdownBlocks(text: string): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || RULE.test(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const body = [line];
      i++;
      while (i < lines.length) {
        const l = lines[i]!;
        body.push(l);
        i++;
        if (l.trimStart().startsWith(marker[0]!.repeat(marker.length)) && l.trim().replace(/[`~]/g, '') === '') break;
      }
      blocks.push({ kind: 'code', text: body.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', text: line.trim(), level: heading[1]!.length, title: (heading[2] ?? '').trim() });
      i++;
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const body: string[] = [];
      while (i < lines.length) {
        const l = lines[i]!;
        if (l.trim() === '') {
          // A blank line continues the list only when an item or an indented continuation follows.
          const next = lines[i + 1];
          if (next !== undefined && (LIST_ITEM.test(next) || /^(?: {2,}|\t)\S/.test(next))) {
            body.push(l);
            i++;
            continue;
          }
          break;
        }
        if (body.length > 0 && !LIST_ITEM.test(l) && !/^\s/.test(l) && (FENCE.test(l) || HEADING.test(l))) break;
        body.push(l);
        i++;
      }
      blocks.push({ kind: 'list', text: body.join('\n') });
      continue;
    }
    const kind: BlockKind = line.trimStart().startsWith('|') ? 'table' : line.trimStart().startsWith('>') ? 'quote' : 'paragraph';
    const body: string[] = [];
    while (i < lines.length) {
      const l = lines[i]!;
      if (l.trim() === '' || FENCE.test(l) || HEADING.test(l) || (kind === 'paragraph' && LIST_ITEM.test(l))) break;
      body.push(l);
      i++;
    }
    blocks.push({ kind, text: body.join('\n') });
  }
  return blocks;
}

/** Sentences of prose, each with its trailing space trimmed. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?:;])\s+(?=\S)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The seams a block may be cut at, in order; joining them with newlines or spaces gives the block back. */
function units(block: Block): { parts: string[]; joiner: string } {
  switch (block.kind) {
    case 'list': {
      const items: string[] = [];
      for (const l of block.text.split('\n')) {
        if (LIST_ITEM.test(l) || items.length === 0) items.push(l);
        else items[items.length - 1] += `\n${l}`;
      }
      return { parts: items, joiner: '\n' };
    }
    case 'code': {
      // The fences are put back around each piece by blockPieces.
      const lines = block.text.split('\n');
      const closed = lines.length > 1 && FENCE.test(lines[lines.length - 1]!);
      return { parts: lines.slice(1, closed ? -1 : undefined), joiner: '\n' };
    }
    case 'table':
    case 'quote':
      return { parts: block.text.split('\n'), joiner: '\n' };
    default:
      return { parts: sentences(block.text.replace(/\s*\n\s*/g, ' ')), joiner: ' ' };
  }
}

/** Cuts a single over-long line at whitespace (or anywhere, if it has none) into pieces of at most `size`. */
function hardSplit(text: string, size: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > size) {
    let cut = rest.lastIndexOf(' ', size);
    if (cut < size / 2) cut = size;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest !== '') out.push(rest);
  return out;
}

/** The last whole sentences (or, failing that, words) of `text` that fit in `budget` characters. */
function tail(text: string, budget: number): string {
  if (budget <= 0 || text.length === 0) return '';
  const ss = sentences(text.replace(/\s*\n\s*/g, ' '));
  let out = '';
  for (let i = ss.length - 1; i >= 0; i--) {
    const next = out === '' ? ss[i]! : `${ss[i]} ${out}`;
    if (next.length > budget) break;
    out = next;
  }
  // No whole sentence fits: no overlap, since a fragment of words only adds noise.
  return out;
}

interface Piece {
  text: string;
  /** Whether the piece may be repeated as overlap (prose, not code or tables). */
  prose: boolean;
}

/** Packs one section's pieces into chunks of at most `size`, overlapping by prose tails. */
function pack(pieces: Piece[], headings: string[], opts: ChunkOptions, out: Chunk[]): void {
  let cur: string[] = [];
  let len = 0;
  let lastProse = '';
  let lastPieceIsProse = false;
  // Whether `cur` holds more than the overlap carried over: a chunk of overlap alone is never emitted.
  let hasNew = false;
  const flush = () => {
    if (!hasNew) return;
    out.push({ index: out.length, text: cur.join('\n\n'), headings: [...headings] });
    lastProse = lastPieceIsProse ? (cur[cur.length - 1] ?? '') : '';
    cur = [];
    len = 0;
    hasNew = false;
  };
  for (const piece of pieces) {
    const extra = (cur.length > 0 ? 2 : 0) + piece.text.length;
    if (hasNew && len + extra > opts.size) {
      flush();
      const overlap = lastProse !== '' ? tail(lastProse, Math.min(opts.overlap, opts.size - piece.text.length - 2)) : '';
      if (overlap !== '') {
        cur.push(overlap);
        len = overlap.length;
      }
    }
    cur.push(piece.text);
    len += (cur.length > 1 ? 2 : 0) + piece.text.length;
    lastPieceIsProse = piece.prose;
    hasNew = true;
  }
  flush();
}

/**
 * Splits one block into pieces no longer than `size` (whole when it fits). Cut prose leaves room for `overlap`, so
 * the next chunk can start with the end of the previous one.
 */
function blockPieces(block: Block, size: number, overlap = 0): Piece[] {
  const prose = block.kind === 'paragraph' || block.kind === 'list' || block.kind === 'quote';
  if (block.text.length <= size) return [{ text: block.text, prose }];
  const { parts, joiner } = units(block);
  const fence = block.kind === 'code' ? codeFence(block.text) : undefined;
  const budget = fence ? size - fence[0].length - fence[1].length - 2 : prose ? Math.max(size - overlap - 2, size / 2) : size;
  const pieces: Piece[] = [];
  let cur = '';
  const emit = () => {
    if (cur === '') return;
    pieces.push({ text: fence ? `${fence[0]}\n${cur}\n${fence[1]}` : cur, prose });
    cur = '';
  };
  for (const part of parts.flatMap((p) => (p.length > budget ? hardSplit(p, Math.max(budget, 20)) : [p]))) {
    if (cur !== '' && cur.length + joiner.length + part.length > budget) emit();
    cur = cur === '' ? part : `${cur}${joiner}${part}`;
  }
  emit();
  return pieces;
}

function codeFence(text: string): [string, string] {
  const lines = text.split('\n');
  const open = lines[0]!;
  const marker = /[`~]{3,}/.exec(open)?.[0] ?? '```';
  return [open.trim(), marker];
}

/** Markdown chunks, section by section. */
export function chunkMarkdown(text: string, opts: ChunkOptions): Chunk[] {
  const out: Chunk[] = [];
  const path: { level: number; title: string }[] = [];
  let pieces: Piece[] = [];
  let headingOnly = false;
  const flushSection = () => {
    // A heading directly followed by a subheading has no text of its own; it lives on in the subsections' paths.
    if (pieces.length > 0 && !(headingOnly && pieces.length === 1)) {
      pack(
        pieces,
        path.map((h) => h.title),
        opts,
        out,
      );
    }
    pieces = [];
    headingOnly = false;
  };
  for (const block of markdownBlocks(text)) {
    if (block.kind === 'heading') {
      flushSection();
      while (path.length > 0 && path[path.length - 1]!.level >= block.level!) path.pop();
      path.push({ level: block.level!, title: block.title! });
      // The heading line opens the section's first chunk, so a chunk reads like the note it came from.
      pieces.push({ text: block.text, prose: false });
      headingOnly = true;
      continue;
    }
    pieces.push(...blockPieces(block, opts.size, opts.overlap));
  }
  flushSection();
  return out;
}

/** Plain text: paragraphs (blank-line separated), cut at sentences when too long. */
export function chunkText(text: string, opts: ChunkOptions): Chunk[] {
  const out: Chunk[] = [];
  const pieces = text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .flatMap((p) => blockPieces({ kind: 'paragraph', text: p }, opts.size, opts.overlap));
  pack(pieces, [], opts, out);
  return out;
}

/** JSON flattened to `path: value` lines; one top-level key's lines stay together when they fit. */
export function chunkJson(value: unknown, opts: ChunkOptions): Chunk[] {
  const lines: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) {
      if (v.length === 0) lines.push(`${path || '$'}: []`);
      v.forEach((x, i) => walk(x, `${path}[${i}]`));
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 0) lines.push(`${path || '$'}: {}`);
      for (const [k, x] of entries) walk(x, path ? `${path}.${k}` : k);
    } else lines.push(`${path || '$'}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  };
  walk(value, '');
  const out: Chunk[] = [];
  const block: Block = { kind: 'table', text: lines.join('\n') };
  pack(
    blockPieces(block, opts.size).map((p) => ({ ...p, prose: false })),
    [],
    opts,
    out,
  );
  return out;
}

/**
 * Chunks a document by its content type.
 * @throws {SyntaxError} when `contentType` is json and the content is not JSON
 */
export function chunkDocument(content: string, contentType: ContentType, opts: ChunkOptions): Chunk[] {
  if (contentType === 'markdown') return chunkMarkdown(content, opts);
  if (contentType === 'json') return chunkJson(JSON.parse(content) as unknown, opts);
  return chunkText(content, opts);
}

/**
 * The text that is embedded and indexed for a chunk: the document title and heading path first, so a chunk that
 * says "it" still matches questions that name its subject.
 */
export function contextualText(title: string | null | undefined, chunk: Pick<Chunk, 'text' | 'headings'>): string {
  const head = [title ?? '', chunk.headings.join(' > ')].filter((s) => s.trim() !== '');
  return head.length > 0 ? `${head.join('\n')}\n\n${chunk.text}` : chunk.text;
}
