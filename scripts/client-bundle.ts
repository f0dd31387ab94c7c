/**
 * An esbuild plugin that embeds a browser app in a component: `import files from 'client-bundle:../app/main.tsx'`
 * bundles that entry for browsers (its JavaScript and the CSS it imports, under content-hashed names) together with
 * the `index.html` beside it, and resolves to a module whose default export is every file as a string.
 *
 * `index.html` names its assets with placeholders: `{{main.js}}` and `{{main.css}}` become the hashed bundle paths,
 * and `{{<file>}}` for any other file next to the entry (an icon) copies that file under a hashed name. Paths are
 * relative (`assets/main-3F2A….js`), so the page sets `<base href>` to where it is mounted.
 *
 * The files go into the component's own bundle, so the build cache (a hash of that bundle) covers the client
 * sources: any change to the app rebuilds the component.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const PREFIX = 'client-bundle:';
const NAMESPACE = 'client-bundle';

/** One embedded file, as the default export of a `client-bundle:` import carries it. */
export interface ClientFile {
  /** Path relative to the app's mount point: `index.html`, `assets/main-<hash>.js`. */
  path: string;
  contentType: string;
  body: string;
  /** The body gzip-compressed, base64-encoded; empty when compression does not pay. */
  gzip: string;
  /** A strong validator derived from the body. */
  etag: string;
  /** Whether the name carries the content hash, so it may be cached forever. */
  immutable: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

function contentType(path: string): string {
  const type = CONTENT_TYPES[extname(path)];
  if (!type) throw new Error(`client bundle: no content type for ${path} (text files only: ${Object.keys(CONTENT_TYPES).join(', ')})`);
  return type;
}

const digest = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

function file(path: string, body: string, immutable: boolean): ClientFile {
  const compressed = gzipSync(body, { level: 9 });
  return {
    path,
    contentType: contentType(path),
    body,
    gzip: compressed.length < body.length * 0.9 ? compressed.toString('base64') : '',
    etag: `"${digest(body, 20)}"`,
    immutable,
  };
}

/** Bundles one browser app (see the module comment) into its files. */
export async function bundleClient(entry: string): Promise<ClientFile[]> {
  const dir = dirname(resolve(entry));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    outdir: join(dir, 'out'),
    entryNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files: ClientFile[] = [];
  const byName = new Map<string, string>();
  for (const out of result.outputFiles) {
    const path = relative(join(dir, 'out'), out.path).split('\\').join('/');
    files.push(file(path, out.text, true));
    // `assets/main-ABC.js` answers to the placeholder `{{main.js}}`.
    byName.set(`${basename(path).replace(/-[A-Z0-9]+(\.[a-z]+)$/, '$1')}`, path);
  }
  const template = join(dir, 'index.html');
  const html = readFileSync(template, 'utf8').replace(/\{\{([A-Za-z0-9._-]+)\}\}/g, (_, name: string) => {
    const built = byName.get(name);
    if (built) return built;
    const source = resolve(dir, name);
    if (dirname(source) !== dir || !existsSync(source))
      throw new Error(`${template}: placeholder {{${name}}} names no bundle output or file`);
    const body = readFileSync(source, 'utf8');
    const ext = extname(name);
    const path = `assets/${basename(name, ext)}-${digest(body, 8).toUpperCase()}${ext}`;
    files.push(file(path, body, true));
    return path;
  });
  files.push(file('index.html', html, false));
  return files;
}

/** The plugin: resolves `client-bundle:<path>` (relative to the importer) to the module of that app's files. */
export function clientBundlePlugin(): Plugin {
  return {
    name: 'client-bundle',
    setup(b) {
      b.onResolve({ filter: /^client-bundle:/ }, (args) => ({
        path: resolve(args.resolveDir, args.path.slice(PREFIX.length)),
        namespace: NAMESPACE,
      }));
      b.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        try {
          const files = await bundleClient(args.path);
          return { contents: `export default ${JSON.stringify(files)};`, loader: 'js' };
        } catch (cause) {
          const errors = (cause as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
          const text = errors
            ? errors.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('\n  ')
            : cause instanceof Error
              ? cause.message
              : String(cause);
          return { errors: [{ text: `client bundle ${args.path}: ${text}` }] };
        }
      });
    },
  };
}
