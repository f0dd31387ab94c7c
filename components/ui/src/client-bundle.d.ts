/**
 * Modules made by the build's `client-bundle:` esbuild plugin (scripts/client-bundle.ts): a browser app's files as
 * strings. The shape is repeated here because guest code cannot import the (Node) build script.
 */
declare module 'client-bundle:*' {
  const files: {
    /** Relative to the mount point: `index.html`, `assets/main-<hash>.js`. */
    path: string;
    contentType: string;
    body: string;
    /** Gzip of the body, base64; empty when compression does not pay. */
    gzip: string;
    etag: string;
    /** The name carries the content hash. */
    immutable: boolean;
  }[];
  export default files;
}
