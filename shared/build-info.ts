/** Facts the build bakes into every component (see `scripts/build.ts`, esbuild `define`). */
declare const __EDGE_AGENTS_VERSION__: string;
declare const __EDGE_AGENTS_COMPONENTS__: string[];

export const VERSION: string = typeof __EDGE_AGENTS_VERSION__ === 'string' ? __EDGE_AGENTS_VERSION__ : '0.0.0-dev';
export const COMPONENTS: readonly string[] = typeof __EDGE_AGENTS_COMPONENTS__ === 'object' ? __EDGE_AGENTS_COMPONENTS__ : [];
