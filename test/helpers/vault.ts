/**
 * A deterministic Obsidian-style vault for ingest tests: nested folders, YAML frontmatter, `#tags`, `[[wikilinks]]`
 * (plain, aliased, to headings), fenced code blocks, lists and a `.obsidian` folder that must be skipped.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const TOPICS = [
  ['postgres', 'Vacuum reclaims dead tuples; tune autovacuum_vacuum_scale_factor on hot tables.'],
  ['rust', 'The borrow checker enforces one mutable reference or many shared references at a time.'],
  ['kubernetes', 'A readiness probe gates traffic; a liveness probe restarts a stuck container.'],
  ['wasm', 'A component exports WIT interfaces; the host links imports by interface name and version.'],
  ['networking', 'TCP slow start doubles the congestion window each round trip until loss.'],
  ['git', 'An interactive rebase rewrites commits; never rebase what others have pulled.'],
  ['typescript', 'Conditional types distribute over unions when the checked type is a naked type parameter.'],
  ['security', 'Store password hashes with a memory-hard function such as argon2id.'],
] as const;

const FOLDERS = ['', 'projects', 'projects/edge', 'areas/ops', 'areas/dev/notes', 'archive/2023'];

/** A small seeded generator (mulberry32), so every run writes the same vault. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface VaultNote {
  path: string;
  name: string;
  topic: string;
  tags: string[];
  links: string[];
}

/** Writes `count` notes (at least 200 by default) under `dir` and returns what each holds. */
export function writeVault(dir: string, count = 220, seed = 7): VaultNote[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const names = Array.from({ length: count }, (_, i) => `note-${String(i).padStart(3, '0')}`);
  const notes: VaultNote[] = [];
  for (let i = 0; i < count; i++) {
    const [topic, fact] = TOPICS[i % TOPICS.length]!;
    const folder = FOLDERS[i % FOLDERS.length]!;
    const path = folder ? `${folder}/${names[i]}.md` : `${names[i]}.md`;
    const links = [names[(i + 1) % count]!, names[(i * 7 + 3) % count]!].filter((n) => n !== names[i]);
    const extraTag = pick(['draft', 'reviewed', 'idea', 'howto']);
    const tags = [topic, extraTag, `area/${folder.split('/')[0] || 'root'}`];
    const lines = [
      '---',
      `title: ${topic[0]!.toUpperCase()}${topic.slice(1)} note ${i}`,
      `tags: [${topic}, ${extraTag}]`,
      `created: 2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
      `priority: ${i % 5}`,
      'aliases:',
      `  - ${topic}-${i}`,
      '---',
      `# ${topic} note ${i}`,
      '',
      `${fact} This note (${i}) is about ${topic} and links to [[${links[0]}]] and [[${links[1] ?? links[0]}|a related note]]. #area/${folder.split('/')[0] || 'root'}`,
      '',
      '## Checklist',
      '',
      `- read the ${topic} documentation`,
      `- try it on a test cluster (see [[${names[(i + 5) % count]}#Checklist]])`,
      '  - nested item with more detail',
      '',
    ];
    if (i % 3 === 0) {
      lines.push('## Example', '', '```sh', `# not a tag: comment inside code`, `echo "${topic} ${i}"`, '```', '');
    }
    if (i % 4 === 0) lines.push('## Notes', '', `Unique marker zq${i}x for keyword search. ${fact}`, '');
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, lines.join('\n'));
    notes.push({ path, name: names[i]!, topic, tags, links });
  }
  // Obsidian's own folders are not notes.
  mkdirSync(join(dir, '.obsidian'), { recursive: true });
  writeFileSync(join(dir, '.obsidian', 'workspace.md'), '# not a note');
  return notes;
}
