/**
 * What an Obsidian-style note carries besides its text: YAML frontmatter, `#tags` and `[[wikilinks]]`.
 *
 * The frontmatter reader covers the YAML that notes actually use (scalars, quoted strings, inline `[a, b]` lists,
 * block `- item` lists, one level of nesting) without a YAML dependency in the component; anything it cannot read
 * is kept as a string rather than failing the ingest.
 *
 * @module
 */

export interface NoteParts {
  /** The frontmatter as JSON values; empty when there is none. */
  frontmatter: Record<string, unknown>;
  /** The text after the frontmatter. */
  body: string;
  /** Tags from the frontmatter (`tags`, `tag`) and from `#tag` in the body, without `#`, in first-seen order. */
  tags: string[];
  /** Targets of `[[target]]`, `[[target|alias]]` and `[[target#heading]]`, without alias or heading. */
  links: string[];
}

const FRONTMATTER = /^---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;

/** Splits a note into frontmatter, body, tags and links. */
export function parseNote(text: string): NoteParts {
  const m = FRONTMATTER.exec(text);
  const frontmatter = m ? parseYamlSubset(m[1]!) : {};
  const body = m ? text.slice(m[0].length) : text;
  const tags: string[] = [];
  const add = (t: unknown) => {
    if (typeof t !== 'string') return;
    const tag = t.trim().replace(/^#/, '');
    if (tag && !tags.includes(tag)) tags.push(tag);
  };
  for (const key of ['tags', 'tag']) {
    const v = frontmatter[key];
    if (Array.isArray(v)) v.forEach(add);
    else if (typeof v === 'string') v.split(/[,\s]+/).forEach(add);
  }
  const prose = stripCode(body);
  // A tag starts after whitespace or line start, is not a heading (`# `) and holds letters, digits, _ - /.
  for (const t of prose.matchAll(/(?:^|[\s(])#([A-Za-z_][A-Za-z0-9_/-]*)/g)) add(t[1]);
  const links: string[] = [];
  for (const l of prose.matchAll(/!?\[\[([^\]|#\n]+)(?:#[^\]|\n]*)?(?:\|[^\]\n]*)?\]\]/g)) {
    const target = l[1]!.trim();
    if (target && !links.includes(target)) links.push(target);
  }
  return { frontmatter, body, tags, links };
}

/** The text with fenced code blocks and inline code blanked out, so `#include` in code is no tag. */
function stripCode(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?(?:^\1[^\n]*$|(?![\s\S]))/gm, '').replace(/`[^`\n]*`/g, '');
}

/** A scalar as YAML 1.2 core schema reads it. */
function scalar(raw: string): unknown {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return s.slice(1, -1);
    }
  }
  if (s.startsWith("'") && s.endsWith("'") && s.length >= 2) return s.slice(1, -1).replace(/''/g, "'");
  if (s.startsWith('[') && s.endsWith(']')) return splitFlow(s.slice(1, -1)).map(scalar);
  return s.replace(/\s+#.*$/, '');
}

/** Items of a flow sequence, respecting quotes. */
function splitFlow(inner: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (const ch of inner) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.filter((s) => s.trim() !== '');
}

/** Reads `key: value` lines, block lists and one level of nested mappings. */
export function parseYamlSubset(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const m = /^([A-Za-z0-9_][^:#]*?)\s*:(?:\s+(.*))?$/.exec(line);
    i++;
    if (!m) continue;
    const key = m[1]!.trim();
    const rest = (m[2] ?? '').trim();
    if (rest !== '' && rest !== '|' && rest !== '>') {
      out[key] = scalar(rest);
      continue;
    }
    // A block: a list of `- item`, a nested mapping, or a literal/folded string.
    const block: string[] = [];
    while (i < lines.length && (/^\s+\S/.test(lines[i]!) || /^-\s/.test(lines[i]!) || lines[i]!.trim() === '')) block.push(lines[i++]!);
    const items = block.filter((l) => l.trim() !== '');
    if (rest === '|' || rest === '>') out[key] = items.map((l) => l.trim()).join(rest === '|' ? '\n' : ' ');
    else if (items.length > 0 && items.every((l) => /^\s*-(\s|$)/.test(l))) out[key] = items.map((l) => scalar(l.replace(/^\s*-\s?/, '')));
    else if (items.length > 0) out[key] = parseYamlSubset(items.map((l) => l.replace(/^\s+/, '')).join('\n'));
    else out[key] = null;
  }
  return out;
}
