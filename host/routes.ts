/**
 * HTTP routing and the `spin-*` request headers, as Spin 3.x does them.
 *
 * Spin routes with `routefinder` 0.5.4; this is a port of its parser, matcher and sort order, so precedence
 * quirks carry over: segments compare left to right (literal > `:param` > `*`), then more dots win, then the
 * shorter route, and among routes of the same shape the one declared first wins. Routes are matched against the
 * raw path (no percent-decoding, no query) with leading and trailing slashes trimmed on both sides.
 *
 * @module
 */
import { HostError } from './errors.ts';
import type { Component, HttpTrigger, Manifest } from './manifest.ts';

type Segment =
  { kind: 'slash' } | { kind: 'dot' } | { kind: 'exact'; text: string } | { kind: 'param'; name: string } | { kind: 'wildcard' };

/** A routable trigger, as the router holds it. */
export interface RouteEntry {
  trigger: HttpTrigger;
  /** What the route leads to: the component id, or the trigger id for a static response. */
  key: string;
  /** The route as written in the manifest. */
  rawRoute: string;
  /** The route with a leading `/` and without one trailing `/` (`""` for `/`). */
  basedRoute: string;
  /** True for trailing-wildcard routes (`/x/...`, `/x/*`). */
  wildcard: boolean;
  /** {@link basedRoute} without the wildcard suffix. */
  prefix: string;
  segments: readonly Segment[];
}

/** A route dropped because a later trigger declared the same raw route. */
export interface DuplicateRoute {
  /** The based route, `/` for the root. */
  route: string;
  /** Key of the trigger that will never be used. */
  replacedKey: string;
  /** Key of the trigger that replaced it. */
  effectiveKey: string;
}

/** A request routed to an app trigger. */
export interface TriggerMatch {
  kind: 'trigger';
  trigger: HttpTrigger;
  key: string;
  rawRoute: string;
  basedRoute: string;
  /** `:name` captures in route order; a repeated name keeps its last value (Spin collects them in a map). */
  params: [string, string][];
  /** What the trailing wildcard matched (leading `/`, trailing `/` kept); `""` for exact routes. */
  pathInfo: string;
}

/** A request under `/.well-known/spin/`, which the host answers itself. */
export interface WellKnownMatch {
  kind: 'well-known';
  /** `health` → 200 `OK`, `info` → 200 JSON app info, `not-found` → 404 (any method). */
  name: 'health' | 'info' | 'not-found';
}

export type RouteMatch = TriggerMatch | WellKnownMatch;

/** The prefix Spin reserves for its own endpoints. */
export const WELL_KNOWN_PREFIX = '/.well-known/spin/';

/** The route with a leading `/` added and one trailing `/` removed, as Spin stores it (`"/"` becomes `""`). */
export function basedRoute(raw: string): string {
  const absolute = raw.startsWith('/') ? raw : `/${raw}`;
  return absolute.endsWith('/') ? absolute.slice(0, -1) : absolute;
}

/** Which reserved endpoint a path hits, or undefined when it is not under `/.well-known/spin/`. */
export function wellKnown(path: string): WellKnownMatch['name'] | undefined {
  if (!path.startsWith(WELL_KNOWN_PREFIX)) return undefined;
  const rest = path.slice(WELL_KNOWN_PREFIX.length);
  return rest === 'health' || rest === 'info' ? rest : 'not-found';
}

// routefinder `RouteSpec::from_str`.
function parseSpec(source: string): Segment[] {
  const trimmed = source.replace(/^\/+/, '').replace(/\/+$/, '');
  const ends: number[] = [];
  for (let i = 0; i < trimmed.length; i++) if (trimmed[i] === '.' || trimmed[i] === '/') ends.push(i);
  ends.push(trimmed.length);
  const segments: Segment[] = [];
  let last = 0;
  for (const end of ends) {
    const before = last === 0 ? undefined : trimmed[last - 1];
    const section = trimmed.slice(last, end);
    last = end + 1;
    let segment: Segment | undefined;
    if (section.startsWith('*')) {
      if (section.length > 1)
        throw new Error(`since there can only be one wildcard, it doesn't need a name. replace \`${section}\` with \`*\``);
      segment = { kind: 'wildcard' };
    } else if (section.startsWith(':')) {
      if (section.length === 1) throw new Error('params must be named');
      segment = { kind: 'param', name: section.slice(1) };
    } else if (section !== '') {
      segment = { kind: 'exact', text: section };
    }
    if (before === '.') {
      const prev = segments.at(-1);
      if (prev?.kind === 'exact') prev.text += '.';
      else segments.push({ kind: 'dot' });
    }
    if (segment) {
      if (before === '/') segments.push({ kind: 'slash' });
      segments.push(segment);
    }
  }
  // routefinder panics when matching reaches a non-terminal wildcard; refuse such routes up front instead.
  if (segments.slice(0, -1).some((s) => s.kind === 'wildcard')) throw new Error('a wildcard must be the last segment of a route');
  return segments;
}

// routefinder `RouteSpec::matches`: the captures (params, then the wildcard) or null.
function matchSpec(segments: readonly Segment[], path: string): string[] | null {
  let p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  const captures: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const next = segments[i + 1];
    switch (segment.kind) {
      case 'exact':
        if (!p.startsWith(segment.text)) return null;
        p = p.slice(segment.text.length);
        break;
      case 'param': {
        if (p === '') return null;
        if (next === undefined || next.kind === 'slash') {
          const capture = p.split('/')[0]!;
          captures.push(capture);
          p = p.slice(capture.length);
        } else if (next.kind === 'dot') {
          const index = p.search(/[./]/);
          if (index === -1 || p[index] !== '.') return null;
          captures.push(p.slice(0, index));
          p = p.slice(index);
        } else {
          return null;
        }
        break;
      }
      case 'wildcard':
        captures.push(p);
        p = '';
        break;
      case 'slash':
        if (p.startsWith('/') && next !== undefined) p = p.slice(1);
        else if (!(p === '' && (next === undefined || next.kind === 'wildcard'))) return null;
        break;
      case 'dot':
        if (!p.startsWith('.')) return null;
        p = p.slice(1);
        break;
    }
  }
  return p === '' || p === '/' ? captures : null;
}

// routefinder `Segment::cmp` (not a consistent total order for dots, faithfully so).
function compareSegment(mine: Segment, theirs: Segment): number {
  const a = mine.kind;
  const b = theirs.kind;
  const separator = (k: Segment['kind']) => k === 'slash' || k === 'dot';
  if (a === b || (separator(a) && separator(b))) return 0;
  if (a === 'dot' || a === 'exact') return 1;
  if (a === 'param') return b === 'exact' ? -1 : 1;
  if (a === 'wildcard') return b === 'exact' || b === 'param' ? -1 : 1;
  return -1;
}

// routefinder `RouteSpec::cmp`: negative when `a` sorts (and so is tried) before `b`; never 0.
function compareSpec(a: readonly Segment[], b: readonly Segment[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareSegment(a[i]!, b[i]!);
    if (c !== 0) return -c;
  }
  const dots = (s: readonly Segment[]) => s.filter((x) => x.kind === 'dot').length;
  const d = dots(a) - dots(b);
  if (d !== 0) return -Math.sign(d);
  const l = b.length - a.length;
  if (l !== 0) return -Math.sign(l);
  return 1;
}

/** Routes requests to the manifest's HTTP triggers. Build once at startup. */
export class Router {
  /** Routable triggers in precedence order (the order `spin up` lists them). */
  readonly routes: readonly RouteEntry[];
  /** Raw routes declared more than once; the last declaration wins. */
  readonly duplicates: readonly DuplicateRoute[];
  /** True when some route lies under `/.well-known/spin/`, which the host always answers itself. */
  readonly hasReservedRoute: boolean;
  readonly #triggers: readonly HttpTrigger[];
  readonly #components: Readonly<Record<string, Component>>;

  /**
   * @throws {HostError} `route-invalid` for `{ private = false }` and for patterns routefinder rejects.
   */
  constructor(app: Pick<Manifest, 'triggers' | 'components'>) {
    this.#triggers = app.triggers;
    this.#components = app.components;

    // Keyed by raw route: a duplicate replaces the value but keeps the first declaration's position.
    const byRaw = new Map<string, { trigger: HttpTrigger; key: string; raw: string; based: string }>();
    const duplicates: DuplicateRoute[] = [];
    for (const trigger of app.triggers) {
      const key = trigger.component ?? trigger.id;
      if (typeof trigger.route !== 'string') {
        if (trigger.route.private === true) continue;
        throw new HostError(`route must be a string pattern or '{ private = true }': '${key}' has { private = false }`, {
          code: 'route-invalid',
        });
      }
      const raw = trigger.route;
      const entry = { trigger, key, raw, based: basedRoute(raw) };
      const replaced = byRaw.get(raw);
      byRaw.set(raw, entry);
      if (replaced) duplicates.push({ route: replaced.based === '' ? '/' : replaced.based, replacedKey: replaced.key, effectiveKey: key });
    }

    const sorted: RouteEntry[] = [];
    for (const { trigger, key, raw, based } of byRaw.values()) {
      let spec = based;
      let prefix = based;
      let wildcard = true;
      if (based.endsWith('/...')) {
        prefix = based.slice(0, -4);
        spec = `${prefix}/*`;
      } else if (based.endsWith('/*')) {
        prefix = based.slice(0, -2);
      } else {
        wildcard = false;
      }
      let segments: Segment[];
      try {
        segments = parseSpec(spec);
      } catch (err) {
        throw new HostError(`Error parsing route ${based} associated with component ${key}: ${(err as Error).message}`, {
          code: 'route-invalid',
          hint: 'routes are literal segments, `:name` parameters and an optional trailing `/...`',
        });
      }
      const entry: RouteEntry = { trigger, key, rawRoute: raw, basedRoute: based, wildcard, prefix, segments };
      // BTreeMap insertion with routefinder's order: before the first route this one sorts ahead of.
      const at = sorted.findIndex((other) => compareSpec(segments, other.segments) < 0);
      if (at === -1) sorted.push(entry);
      else sorted.splice(at, 0, entry);
    }

    this.routes = sorted;
    this.duplicates = duplicates;
    this.hasReservedRoute = sorted.some((r) => r.basedRoute.startsWith(WELL_KNOWN_PREFIX));
  }

  /**
   * Routes a request path. `/.well-known/spin/*` is answered before app routes; anything after `?` is ignored.
   * Returns null when nothing matches (Spin answers 404 with an empty body).
   */
  match(pathname: string): RouteMatch | null {
    const q = pathname.indexOf('?');
    const path = q === -1 ? pathname : pathname.slice(0, q);
    const reserved = wellKnown(path);
    if (reserved) return { kind: 'well-known', name: reserved };
    for (const route of this.routes) {
      const captures = matchSpec(route.segments, path);
      if (!captures) continue;
      const params = new Map<string, string>();
      let wildcard: string | undefined;
      let i = 0;
      for (const s of route.segments) {
        if (s.kind === 'param') params.set(s.name, captures[i++]!);
        else if (s.kind === 'wildcard') wildcard = captures[i++]!;
      }
      return {
        kind: 'trigger',
        trigger: route.trigger,
        key: route.key,
        rawRoute: route.rawRoute,
        basedRoute: route.basedRoute,
        params: [...params],
        pathInfo: wildcard === undefined ? '' : pathInfo(wildcard, path.endsWith('/')),
      };
    }
    return null;
  }

  /**
   * The HTTP trigger a service-chaining request to `componentId` runs under (route and `private` are ignored;
   * with several triggers for one component the last declared applies), or undefined when it has none.
   */
  triggerForComponent(componentId: string): HttpTrigger | undefined {
    return this.#triggers.findLast((t) => t.component === componentId);
  }

  /**
   * The `Available Routes:` lines `spin up` prints: `  <key>: <baseUrl><route>` in precedence order, wildcards as
   * `<prefix> (wildcard)`, each followed by the component's description indented four spaces. Private routes are
   * not listed.
   */
  routeTable(baseUrl: string): string[] {
    const lines: string[] = [];
    for (const route of this.routes) {
      lines.push(`  ${route.key}: ${baseUrl}${route.wildcard ? `${route.prefix} (wildcard)` : route.basedRoute}`);
      const description = route.trigger.component !== undefined ? this.#components[route.trigger.component]?.description : undefined;
      if (description) lines.push(`    ${description}`);
    }
    return lines;
  }
}

// Spin has always reported the slashes around a trailing wildcard, which routefinder drops.
function pathInfo(wildcard: string, endsWithSlash: boolean): string {
  if (wildcard === '') return endsWithSlash ? '/' : '';
  return endsWithSlash ? `/${wildcard}/` : `/${wildcard}`;
}

/** Facts about an inbound request that the `spin-*` headers report. */
export interface RequestFacts {
  /** The listener's scheme (`https` when serving TLS). */
  scheme: 'http' | 'https';
  /** The request's `Host` header; `localhost` when absent. */
  host?: string | undefined;
  /** The request target's path and query, as received. */
  pathWithQuery: string;
  /** The peer address formatted as a Rust SocketAddr (`127.0.0.1:53152`, `[::1]:53152`). */
  clientAddr: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// http::HeaderValue::from_bytes: no control characters other than tab.
// oxlint-disable-next-line no-control-regex -- matching control characters is the point.
const VALID_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;

function headerList(pairs: [string, string][]): [string, string][] {
  return pairs.filter(([name, value]) => TOKEN.test(name) && VALID_VALUE.test(value));
}

/**
 * The headers Spin appends to a routed request, in Spin's order: `spin-path-info`, `spin-full-url`,
 * `spin-matched-route`, `spin-base-path`, `spin-raw-component-route`, `spin-component-route`, `spin-client-addr`,
 * then one `spin-path-match-<name>` per parameter (upper-cased then lower-cased, `_` → `-`). Pairs that are not
 * valid header names or values are dropped, as Spin drops them. Client headers are kept and not de-duplicated.
 */
export function spinHeaders(match: TriggerMatch, facts: RequestFacts): [string, string][] {
  const pairs: [string, string][] = [
    ['spin-path-info', match.pathInfo],
    ['spin-full-url', `${facts.scheme}://${facts.host ?? 'localhost'}${facts.pathWithQuery}`],
    ['spin-matched-route', match.basedRoute],
    ['spin-base-path', '/'],
    ['spin-raw-component-route', match.rawRoute],
    ['spin-component-route', match.rawRoute.endsWith('/...') ? match.rawRoute.slice(0, -4) : match.rawRoute],
    ['spin-client-addr', facts.clientAddr],
  ];
  for (const [name, value] of match.params) pairs.push([`spin-path-match-${headerKey(name)}`, value]);
  return headerList(pairs);
}

function headerKey(name: string): string {
  // Spin upper-cases the name, then lower-cases the whole header key: net effect, ASCII lower case.
  return name.replaceAll('_', '-').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * The headers for a service-chaining request to `componentId` (`http://<id>.spin.internal/...`): Spin routes it as
 * if it matched `/...`, so `spin-path-info` is the whole path, the routes are `/...` (component route `""`) and
 * the client address is `0.0.0.0:0`.
 *
 * @param query the query string without `?`, if any.
 */
export function chainedHeaders(componentId: string, path: string, query?: string): [string, string][] {
  const search = query ? `?${query.replace(/^\?/, '')}` : '';
  return headerList([
    ['spin-path-info', path],
    ['spin-full-url', `http://${componentId}.spin.internal${path}${search}`],
    ['spin-matched-route', '/...'],
    ['spin-base-path', '/'],
    ['spin-raw-component-route', '/...'],
    ['spin-component-route', ''],
    ['spin-client-addr', '0.0.0.0:0'],
  ]);
}
