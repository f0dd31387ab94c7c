/**
 * Scaffolds a new agent kind: its component and its `spin.toml` entries.
 *
 *   node scripts/new-agent.ts <kind> [--description "…"] [--instructions "…"] [--tools remember,recall]
 *                             [--root <dir>] [--manifest <path>]
 *
 * Writes `components/agent-<kind>/src/index.ts` (the same shape as `agent-coder`'s: a {@link KindDefinition}
 * served by `shared/agents/app.ts`), inserts the `[[trigger.http]] route = "/agents/<kind>/..."` trigger after the
 * manifest's last HTTP trigger and appends the `[component.agent-<kind>]` table (source, key-value stores, outbound
 * host, variables, build and the `tool.edge-agents` build table with world `agent`). Comments and layout of the
 * manifest are kept: the entries are inserted as text, and the result is validated with the host's own manifest
 * parser before anything is written.
 *
 * `--root` is the project to scaffold into (default: this repository) and `--manifest` its manifest (default
 * `<root>/spin.toml`), so tests can scaffold into a temporary copy. `--tools` names the tools agents of the kind are
 * meant to be granted; the kind's default instructions mention them and the printed example creates an agent with
 * them (which tools an agent may call is decided by its registry record, not by its component).
 *
 * Exits 1 with a message naming the problem when the kind is not a valid slug, already exists (component, route or
 * folder), or the manifest would not validate; nothing is written then.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { HostError } from '../host/errors.ts';
import { identifierError, parseManifest, type Manifest } from '../host/manifest.ts';
import { SLUG, TOOLS, type Tool } from '../shared/protocol/agents.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE =
  'usage: node scripts/new-agent.ts <kind> [--description "…"] [--instructions "…"] [--tools remember,recall] [--root <dir>] [--manifest <path>]';

/** A scaffolding failure the user can fix; the message says what and how. */
export class ScaffoldError extends Error {
  override readonly name = 'ScaffoldError';
}

/** What the generated {@link KindDefinition} says about the kind. */
export interface KindSpec {
  kind: string;
  description: string;
  instructions: string;
}

/** Options of {@link scaffoldAgentKind}. */
export interface ScaffoldOptions {
  kind: string;
  description?: string | undefined;
  instructions?: string | undefined;
  tools?: readonly string[] | undefined;
  /** Project root: where `components/` and `shared/` are. Default: this repository. */
  root?: string | undefined;
  /** The manifest to add the kind to. Default: `<root>/spin.toml`. */
  manifest?: string | undefined;
}

/** What {@link scaffoldAgentKind} wrote and what to do next. */
export interface ScaffoldResult {
  componentId: string;
  /** Absolute path of the generated component source. */
  source: string;
  /** Absolute path of the manifest that was changed. */
  manifest: string;
  /** Tools requested with `--tools` that no agent component can run yet (agents granted them are not offered them). */
  /** Human-readable next steps. */
  nextSteps: string[];
}

// ---------------------------------------------------------------------------------------------------------------------
// Templates. They mirror agent-coder's source and manifest entries; test/host/new-agent.test.ts renders them for
// `coder` and compares with the real files, so the two cannot drift apart unnoticed.

/** The component id of an agent kind. */
export function componentId(kind: string): string {
  return `agent-${kind}`;
}

/** The route of an agent kind's component. */
export function kindRoute(kind: string): string {
  return `/agents/${kind}/...`;
}

/**
 * The component source of a kind, before formatting (the scaffold runs prettier over it with the project's
 * config). String values are emitted as JSON literals, which are valid TypeScript whatever they contain; prettier
 * then normalises the quotes.
 */
export function renderComponentSource(spec: KindSpec): string {
  const id = componentId(spec.kind);
  return `/**
 * \`${id}\`: the component serving every agent of kind \`${spec.kind}\` at \`/agents/${spec.kind}/<name>/…\`
 * (profile, chat with JSON or SSE, conversations). Agents themselves are records in KV \`agents\`.
 *
 * @module
 */
import type { KindDefinition } from '../../../shared/agents/app.ts';
import { serveKind } from '../../../shared/agents/component.ts';

const kind: KindDefinition = {
  kind: ${JSON.stringify(spec.kind)},
  description: ${JSON.stringify(spec.description)},
  instructions: ${JSON.stringify(spec.instructions)},
};

serveKind(kind);
`;
}

/** The `[[trigger.http]]` table of a kind. */
export function renderTrigger(kind: string): string {
  return `[[trigger.http]]\nroute = "${kindRoute(kind)}"\ncomponent = "${componentId(kind)}"\n`;
}

/**
 * The `[component.agent-<kind>]` table of a kind. `entry` and `watch` are relative to the manifest's folder, as
 * Spin resolves them; `componentDir` is the component's folder relative to it, with `/` separators.
 */
export function renderComponentToml(kind: string, componentDir = `components/${componentId(kind)}`): string {
  const id = componentId(kind);
  return [
    `[component.${id}]`,
    `description = "Agents of kind ${kind}"`,
    `source = "dist/${id}.wasm"`,
    `key_value_stores = ["agents", "memory", "tasks"]`,
    `allowed_outbound_hosts = ["{{ router_url }}", "{{ a2a_push_hosts }}", "{{ a2a_peer_hosts }}", "{{ rag_url }}", "{{ sandbox_url }}", "{{ agents_url }}"]`,
    `[component.${id}.variables]`,
    `api_keys = "{{ api_keys }}"`,
    `router_url = "{{ router_url }}"`,
    `a2a_push_hosts = "{{ a2a_push_hosts }}"`,
    `a2a_peer_hosts = "{{ a2a_peer_hosts }}"`,
    `rag_url = "{{ rag_url }}"`,
    `sandbox_url = "{{ sandbox_url }}"`,
    `agents_url = "{{ agents_url }}"`,
    `[component.${id}.build]`,
    `command = "npm run build -- ${id}"`,
    `watch = ["${componentDir}/src/**/*.ts", "shared/**/*.ts"]`,
    `[component.${id}.tool.edge-agents]`,
    `entry = "${componentDir}/src/index.ts"`,
    `world = "agent"`,
    '',
  ].join('\n');
}

/** Default description and instructions of a kind, from what the user gave. */
export function defaultSpec(
  kind: string,
  description: string | undefined,
  instructions: string | undefined,
  tools: readonly Tool[],
): KindSpec {
  const desc = description?.trim() || `Agents of kind ${kind}.`;
  if (instructions?.trim()) return { kind, description: desc, instructions: instructions.trim() };
  const toolHint =
    tools.includes('remember') && tools.includes('recall')
      ? ' Use remember and recall for facts that matter across conversations.'
      : tools.includes('remember')
        ? ' Store facts that matter later with the remember tool.'
        : tools.includes('recall')
          ? ' Look up facts stored earlier with the recall tool.'
          : '';
  // A given description becomes the second sentence (with its full stop); the placeholder one says nothing new.
  const given = description?.trim();
  const sentence = given ? (/[.!?]$/.test(given) ? ` ${given}` : ` ${given}.`) : '';
  return { kind, description: desc, instructions: `You are a ${kind} agent.${sentence} Answer precisely and briefly.${toolHint}` };
}

// ---------------------------------------------------------------------------------------------------------------------
// Manifest editing

const TABLE_HEADER = /^\s*\[/;
const HTTP_TRIGGER_HEADER = /^\s*\[\[\s*trigger\.http\s*\]\]\s*(#.*)?$/;

/**
 * The manifest text with the kind's trigger placed after the last `[[trigger.http]]` table (so the triggers stay
 * together) and its component table appended at the end. Comment lines directly above the table that follows the
 * last trigger belong to that table, so the trigger goes above them.
 */
export function insertKind(text: string, kind: string, componentDir?: string): string {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const trigger = renderTrigger(kind).trimEnd().split('\n');
  const component = renderComponentToml(kind, componentDir).trimEnd().split('\n');

  let last = -1;
  lines.forEach((l, i) => {
    if (HTTP_TRIGGER_HEADER.test(l)) last = i;
  });
  if (last === -1) {
    // No HTTP trigger yet: both go at the end.
    return appendBlocks(lines, [trigger, component]).join(newline);
  }
  let next = lines.findIndex((l, i) => i > last && TABLE_HEADER.test(l));
  if (next === -1) next = lines.length;
  let at = next;
  while (at > last + 1 && (lines[at - 1]!.trim() === '' || lines[at - 1]!.trimStart().startsWith('#'))) at--;
  const before = lines.slice(0, at);
  const after = lines.slice(at);
  // One blank line between tables, as the rest of the manifest has.
  const withTrigger = [...before, '', ...trigger, ...(after.length > 0 && after[0]!.trim() !== '' ? [''] : []), ...after];
  return appendBlocks(withTrigger, [component]).join(newline);
}

function appendBlocks(lines: string[], blocks: string[][]): string[] {
  const out = [...lines];
  while (out.length > 0 && out.at(-1)!.trim() === '') out.pop();
  for (const b of blocks) out.push('', ...b);
  out.push(''); // the file ends with a newline
  return out;
}

/** Why a kind cannot be added to this manifest and project, or undefined. */
function conflict(manifest: Manifest, kind: string, componentFolder: string, root: string): string | undefined {
  const id = componentId(kind);
  if (manifest.components[id]) return `agent kind '${kind}' already exists: ${manifest.file} has [component.${id}]`;
  const prefix = `/agents/${kind}`;
  const routed = manifest.triggers.find((t) => typeof t.route === 'string' && (t.route === prefix || t.route.startsWith(`${prefix}/`)));
  if (routed)
    return `agent kind '${kind}' already exists: ${manifest.file} routes ${String(routed.route)} to component '${routed.component ?? '(static response)'}'`;
  if (existsSync(componentFolder))
    return `agent kind '${kind}' already exists: ${relative(root, componentFolder) || componentFolder}/ is there`;
  return undefined;
}

function parseTools(tools: readonly string[]): Tool[] {
  const out: Tool[] = [];
  for (const raw of tools) {
    const t = raw.trim();
    if (t === '') continue;
    if (!(TOOLS as readonly string[]).includes(t)) throw new ScaffoldError(`unknown tool '${t}'; known tools: ${TOOLS.join(', ')}`);
    if (!out.includes(t as Tool)) out.push(t as Tool);
  }
  return out;
}

/** Formats TypeScript with the target project's prettier config, or this repository's when it has none. */
async function formatSource(source: string, file: string): Promise<string> {
  const config = (await resolveConfig(file)) ?? (await resolveConfig(join(ROOT, 'scripts/new-agent.ts'))) ?? {};
  return format(source, { ...config, filepath: file });
}

/**
 * Adds an agent kind to a project: validates everything first, then writes the component source and the
 * manifest (the manifest last and atomically, by rename). Throws {@link ScaffoldError} without writing anything
 * when the kind is invalid or exists, or the manifest would not validate.
 */
export async function scaffoldAgentKind(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const kind = options.kind;
  if (!SLUG.test(kind))
    throw new ScaffoldError(
      `invalid kind ${JSON.stringify(kind)}: a kind is a slug of 1-64 lowercase letters, digits and hyphens, starting and ending with a letter or digit`,
    );
  const id = componentId(kind);
  // Spin's component ids are stricter than slugs: every hyphen-separated word must start with a letter.
  const idError = identifierError(id, '-', false);
  if (idError) throw new ScaffoldError(`invalid kind '${kind}': its component id '${id}' is not a valid Spin id (${idError})`);

  const tools = parseTools(options.tools ?? []);
  const root = resolve(options.root ?? ROOT);
  const manifestPath = resolve(options.manifest ?? join(root, 'spin.toml'));
  if (!existsSync(join(root, 'shared/agents/app.ts')))
    throw new ScaffoldError(`${root} has no shared/agents/app.ts: --root must be the edge-agents project root`);

  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch {
    throw new ScaffoldError(`cannot read the manifest ${manifestPath}`);
  }
  const manifest = parseWith(text, manifestPath, 'the manifest does not validate as it is');

  const folder = join(root, 'components', id);
  const why = conflict(manifest, kind, folder, root);
  if (why) throw new ScaffoldError(why);

  const manifestDir = dirname(manifestPath);
  const componentDir = relative(manifestDir, folder).split(sep).join('/');
  if (componentDir.startsWith('..'))
    throw new ScaffoldError(
      `the component folder ${folder} is outside the manifest's folder ${manifestDir}; pass a --manifest inside --root`,
    );
  const updated = insertKind(text, kind, componentDir);
  const checked = parseWith(updated, manifestPath, `the manifest would not validate with agent kind '${kind}' added`);
  const trigger = checked.triggers.find((t) => t.route === kindRoute(kind));
  if (!checked.components[id] || trigger?.component !== id)
    throw new ScaffoldError(`internal error: the updated manifest does not route ${kindRoute(kind)} to ${id}`);

  const spec = defaultSpec(kind, options.description, options.instructions, tools);
  const sourcePath = join(folder, 'src', 'index.ts');
  const source = await formatSource(renderComponentSource(spec), sourcePath);

  mkdirSync(dirname(sourcePath), { recursive: true });
  writeFileSync(sourcePath, source);
  const tmp = `${manifestPath}.new-agent-${process.pid}`;
  try {
    writeFileSync(tmp, updated);
    renameSync(tmp, manifestPath);
  } catch (err) {
    rmSync(tmp, { force: true });
    rmSync(folder, { recursive: true, force: true });
    throw new ScaffoldError(`could not write ${manifestPath}: ${err instanceof Error ? err.message : String(err)}`);
  }

  return {
    componentId: id,
    source: sourcePath,
    manifest: manifestPath,
    nextSteps: nextSteps(kind, manifestPath, root, tools),
  };
}

function parseWith(text: string, file: string, what: string): Manifest {
  try {
    return parseManifest(text, file);
  } catch (err) {
    if (err instanceof HostError) throw new ScaffoldError(`${what}:\n${err.message}`);
    throw err;
  }
}

function nextSteps(kind: string, manifestPath: string, root: string, tools: readonly Tool[]): string[] {
  const id = componentId(kind);
  const defaultManifest = manifestPath === join(ROOT, 'spin.toml');
  const from = defaultManifest ? '' : ` -f ${relative(process.cwd(), manifestPath) || manifestPath}`;
  const agent = JSON.stringify({ name: 'first', kind, ...(tools.length > 0 ? { tools } : {}) });
  return [
    `edit the kind's description and default instructions in ${relative(process.cwd(), join(root, 'components', id, 'src/index.ts'))}`,
    `npm run build --${from} ${id}`,
    `npm run spinkube${defaultManifest ? '' : ` -- --manifest ${relative(process.cwd(), manifestPath) || manifestPath}`}   # one SpinApp per component in spinkube/`,
    `npm start${defaultManifest ? '' : ` -- -f ${relative(process.cwd(), manifestPath) || manifestPath}`}, then create an agent and talk to it:`,
    `  curl localhost:3000/api/v1/agents -H 'content-type: application/json' -d '${agent}'`,
    `  curl localhost:3000/agents/${kind}/first/chat -H 'content-type: application/json' -d '{"message":"Hello"}'`,
  ];
}

// ---------------------------------------------------------------------------------------------------------------------
// CLI

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        description: { type: 'string' },
        instructions: { type: 'string' },
        tools: { type: 'string' },
        root: { type: 'string' },
        manifest: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) {
    console.error(`expected exactly one kind, got ${positionals.length}\n${USAGE}`);
    process.exit(2);
  }
  try {
    const r = await scaffoldAgentKind({
      kind: positionals[0]!,
      description: values.description,
      instructions: values.instructions,
      tools: values.tools?.split(','),
      root: values.root,
      manifest: values.manifest,
    });
    console.log(`Scaffolded agent kind '${positionals[0]}':`);
    console.log(`  ${relative(process.cwd(), r.source)}`);
    console.log(
      `  ${relative(process.cwd(), r.manifest) || r.manifest}: [[trigger.http]] ${kindRoute(positionals[0]!)} and [component.${r.componentId}]`,
    );
    console.log('Next steps:');
    r.nextSteps.forEach((s) => console.log(s.startsWith('  ') ? `   ${s}` : `  - ${s}`));
  } catch (err) {
    if (err instanceof ScaffoldError) {
      console.error(`new-agent: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}
