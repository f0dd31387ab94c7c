/**
 * `allowed_outbound_hosts`: parsing entries and checking outbound destinations against them, as Spin 3.x does
 * (`spin-outbound-networking-config`).
 *
 * Entries are `scheme://host[:port]` with no path. Templates (`{{ var }}`) must be rendered before parsing here.
 * Matching quirks kept on purpose so an app behaves as it does under `spin up`: schemes compare case-sensitively,
 * request hosts are normalized (lower-cased, IDNA, `127.1` → `127.0.0.1`) before comparison, a request without a
 * port is checked against its scheme's default port, and port ranges are half-open.
 *
 * @module
 */
import { HostError } from './errors.ts';

/** Default ports Spin assumes for a scheme when an entry or a request has none. */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = Object.freeze({
  postgres: 5432,
  mysql: 3306,
  redis: 6379,
  mqtt: 1883,
  http: 80,
  https: 443,
});

/** The scheme's well-known port, if it has one (`tcp`, `udp` and `*` have none). */
export function defaultPort(scheme: string): number | undefined {
  return Object.hasOwn(DEFAULT_PORTS, scheme) ? DEFAULT_PORTS[scheme] : undefined;
}

export type HostPattern =
  | { kind: 'any' }
  /** `*.example.com`: any domain ending in `suffix` (which includes the leading dot). */
  | { kind: 'subdomain'; suffix: string }
  /** `self` / `self.alt`: only relative (self) requests, see {@link AllowedHosts.allowsSelf}. */
  | { kind: 'self' }
  | { kind: 'domain'; name: string }
  | { kind: 'ipv4'; address: string }
  | { kind: 'cidr'; address: string; prefix: number };

export type PortPattern = { kind: 'any' } | { kind: 'port'; port: number } | { kind: 'range'; start: number; end: number };

/** One parsed `allowed_outbound_hosts` entry. */
export interface AllowedHostEntry {
  /** The entry as written (after template rendering). */
  original: string;
  /** `*` or one scheme, compared case-sensitively. */
  scheme: string;
  host: HostPattern;
  port: PortPattern;
}

/** A destination to check: a URL, or its parts (`port` omitted or null means the scheme's default). */
export type OutboundTarget = URL | { scheme: string; host: string; port?: number | null | undefined };

const HINT =
  'entries have the form <scheme>://<host>[:<port>] with no path, e.g. "https://api.example.com", "redis://localhost:6379", "*://10.0.0.0/8:*"';

function invalid(entry: string, reason: string, hint = HINT): HostError {
  return new HostError(`invalid allowed_outbound_hosts entry ${JSON.stringify(entry)}: ${reason}`, {
    code: 'outbound-host-invalid',
    hint,
  });
}

/**
 * Parses one entry (already template-rendered).
 *
 * @throws {HostError} `outbound-host-invalid`, with Spin's reason: missing `://`, a path, a non-alphabetic scheme,
 * a missing port for a scheme without a default (`tcp`, `udp`, `*`), a bad port or range, a misplaced wildcard,
 * `insecure:allow-all`, or an IPv6 address (not supported by this host).
 */
export function parseAllowedHost(entry: string): AllowedHostEntry {
  const url = entry.trim();
  const sep = url.indexOf('://');
  if (sep === -1) {
    if (url === 'insecure:allow-all') {
      throw invalid(entry, "'insecure:allow-all' is not allowed", "use '*://*:*' instead if you really want to allow all outbound traffic");
    }
    if (url === '*' || url === ':' || url === '' || url === '?') {
      throw invalid(
        entry,
        'not an allowed outbound host format',
        "hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each; '*://*:*' allows all outbound networking",
      );
    }
    throw invalid(entry, "does not contain a scheme (e.g., 'http://' or '*://')");
  }
  const schemeText = url.slice(0, sep);
  const rest = url.slice(sep + 3);

  // Spin 3.6 half-accepts bracketed IPv6 (only with an explicit port); this host does not route IPv6 at all.
  if (rest.includes('[') || (rest.split('/')[0] ?? '').split(':').length > 2) {
    throw invalid(entry, 'IPv6 addresses are not supported', 'use an IPv4 address, an IPv4 CIDR range or a host name');
  }

  const colon = rest.lastIndexOf(':');
  const hostText = colon === -1 ? rest : rest.slice(0, colon);
  const afterColon = colon === -1 ? '' : rest.slice(colon + 1);
  const slash = afterColon.indexOf('/');
  let portText = afterColon;
  if (slash !== -1) {
    if (afterColon.slice(slash + 1) !== '') throw invalid(entry, 'has a path but is not allowed to');
    portText = afterColon.slice(0, slash);
  }

  // Same order as Spin: port, then scheme, then host.
  const port = parsePort(entry, portText, schemeText);
  const scheme = parseScheme(entry, schemeText);
  const host = parseHostPattern(entry, hostText);
  return { original: entry, scheme, host, port };
}

function parsePort(entry: string, text: string, scheme: string): PortPattern {
  if (text === '') {
    const port = defaultPort(scheme);
    if (port === undefined) {
      throw invalid(
        entry,
        `no port was provided and the scheme ${JSON.stringify(scheme)} does not have a known default port number`,
        `add a port, e.g. "${scheme}://host:8080", or "*" for any port`,
      );
    }
    return { kind: 'port', port };
  }
  if (text === '*') return { kind: 'any' };
  if (text.startsWith('{')) throw invalid(entry, 'port lists are not yet supported');
  const range = text.indexOf('..');
  if (range !== -1) {
    const start = parseU16(text.slice(0, range));
    const end = parseU16(text.slice(range + 2));
    if (start === undefined || end === undefined) throw invalid(entry, `port range ${JSON.stringify(text)} contains non-number`);
    return { kind: 'range', start, end };
  }
  const port = parseU16(text);
  if (port === undefined) throw invalid(entry, `port ${JSON.stringify(text)} is not a number`);
  return { kind: 'port', port };
}

// Rust's u16::from_str: optional '+', ASCII digits, 0..=65535.
function parseU16(text: string): number | undefined {
  if (!/^\+?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseScheme(entry: string, text: string): string {
  if (text === '*') return '*';
  if (text.startsWith('{')) throw invalid(entry, 'scheme lists are not supported');
  if (!/^\p{Alphabetic}*$/u.test(text))
    throw invalid(entry, `invalid scheme ${JSON.stringify(text)}: only alphabetic characters are allowed`);
  return text;
}

function parseHostPattern(entry: string, raw: string): HostPattern {
  let host = raw.trim();
  if (host === '*') return { kind: 'any' };
  if (host === 'self' || host === 'self.alt') return { kind: 'self' };
  if (host.startsWith('{')) throw invalid(entry, 'host lists are not yet supported');
  const cidr = parseCidr(host);
  if (cidr) return cidr;
  host = host.replace(/\/+$/, '');
  if (host.includes('/')) throw invalid(entry, `host ${JSON.stringify(host)} must not include a path`);
  if (host.startsWith('*.')) {
    const domain = host.slice(2);
    if (domain.includes('*')) throw invalid(entry, 'wildcards are allowed only as prefixes');
    // Spin keeps the suffix as written (not lower-cased), so `*.Example.com` matches nothing there either.
    return { kind: 'subdomain', suffix: `.${domain}` };
  }
  if (host.includes('*')) throw invalid(entry, 'wildcards are allowed only as subdomains');
  const parsed = parseHost(host);
  if (!parsed) throw invalid(entry, `invalid host ${JSON.stringify(host)}`);
  if (parsed.kind === 'ipv6')
    throw invalid(entry, 'IPv6 addresses are not supported', 'use an IPv4 address, an IPv4 CIDR range or a host name');
  return parsed.kind === 'ipv4' ? { kind: 'ipv4', address: parsed.address } : { kind: 'domain', name: parsed.name };
}

// `ip_network::IpNetwork::from_str_truncate`: strict dotted quad, prefix 0..=32, host bits cleared.
function parseCidr(text: string): HostPattern | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  // Rust's Ipv4Addr parser rejects leading zeros ("010"), which could be read as octal.
  if (m.slice(1, 5).some((o) => o.length > 1 && o.startsWith('0'))) return undefined;
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const masked = (ipv4ToInt(octets.join('.')) & prefixMask(prefix)) >>> 0;
  return { kind: 'cidr', address: intToIpv4(masked), prefix };
}

type ParsedHost = { kind: 'ipv4'; address: string } | { kind: 'domain'; name: string } | { kind: 'ipv6' };

// url::Host::parse semantics via WHATWG host parsing: IDNA + lower-casing for domains, IPv4 shorthands normalized.
function parseHost(host: string): ParsedHost | undefined {
  if (host === '') return undefined;
  if (host.startsWith('[') || host.includes(':')) return { kind: 'ipv6' };
  if (/[\s/?#@\\%]/.test(host)) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname === '') return undefined;
  return /^\d+\.\d+\.\d+\.\d+$/.test(hostname) ? { kind: 'ipv4', address: hostname } : { kind: 'domain', name: hostname };
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function hostMatches(pattern: HostPattern, target: ParsedHost): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'subdomain':
      return target.kind === 'domain' && target.name.endsWith(pattern.suffix);
    case 'domain':
      return target.kind === 'domain' && target.name === pattern.name;
    case 'ipv4':
      return target.kind === 'ipv4' && target.address === pattern.address;
    case 'cidr':
      return target.kind === 'ipv4' && (ipv4ToInt(target.address) & prefixMask(pattern.prefix)) >>> 0 === ipv4ToInt(pattern.address);
    case 'self':
      // Self grants are checked separately (relative URLs), never against a named host.
      return false;
  }
}

function portMatches(pattern: PortPattern, port: number): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'port':
      return pattern.port === port;
    case 'range':
      return port >= pattern.start && port < pattern.end;
  }
}

function targetParts(target: OutboundTarget): { scheme: string; host: string; port: number | undefined } {
  if (target instanceof URL) {
    return { scheme: target.protocol.replace(/:$/, ''), host: target.hostname, port: target.port === '' ? undefined : Number(target.port) };
  }
  return { scheme: target.scheme, host: target.host, port: target.port ?? undefined };
}

/** The domain used for service chaining: `http://<component-id>.spin.internal/...`. */
export const SERVICE_CHAINING_SUFFIX = '.spin.internal';

/**
 * The component a service-chaining host (`<id>.spin.internal`, optionally with a port) targets, else undefined.
 * Like Spin, only the first label is the id and the comparison is case-sensitive.
 */
export function serviceChainingTarget(host: string): string | undefined {
  const colon = host.lastIndexOf(':');
  const name = colon === -1 ? host : host.slice(0, colon);
  const dot = name.indexOf('.');
  if (dot === -1) return undefined;
  return name.slice(dot + 1) === 'spin.internal' ? name.slice(0, dot) : undefined;
}

/** A component's parsed `allowed_outbound_hosts`. An empty list denies everything. */
export class AllowedHosts {
  readonly entries: readonly AllowedHostEntry[];

  constructor(entries: readonly AllowedHostEntry[]) {
    this.entries = entries;
  }

  /**
   * Parses rendered entries and expands `*.spin.internal` into one `<id>.spin.internal` entry per component.
   *
   * @throws {HostError} `outbound-host-invalid` for the first bad entry (see {@link parseAllowedHost}).
   */
  static parse(entries: readonly string[], componentIds: readonly string[]): AllowedHosts {
    const parsed: AllowedHostEntry[] = [];
    for (const text of entries) {
      const entry = parseAllowedHost(text);
      if (entry.host.kind === 'subdomain' && entry.host.suffix === SERVICE_CHAINING_SUFFIX) {
        for (const id of componentIds) parsed.push({ ...entry, host: { kind: 'domain', name: `${id}${SERVICE_CHAINING_SUFFIX}` } });
      } else {
        parsed.push(entry);
      }
    }
    return new AllowedHosts(parsed);
  }

  /**
   * True when some entry allows the destination. A target without a port is checked against its scheme's default
   * port, and denied if the scheme has none. Self requests (relative URLs, `self.alt`) must use {@link allowsSelf}.
   */
  allows(target: OutboundTarget): boolean {
    const { scheme, host, port } = targetParts(target);
    const parsedHost = parseHost(host);
    if (!parsedHost) return false;
    const effectivePort = port ?? defaultPort(scheme);
    return this.entries.some(
      (e) =>
        (e.scheme === '*' || e.scheme === scheme) &&
        hostMatches(e.host, parsedHost) &&
        (e.port.kind === 'any' || (effectivePort !== undefined && portMatches(e.port, effectivePort))),
    );
  }

  /**
   * True when relative requests to the app itself (no authority, or host `self.alt`) are allowed: an entry whose
   * scheme is `*`, `http` or `https` and whose host is `self`, `self.alt` or `*`. Ports are not checked.
   */
  allowsSelf(): boolean {
    return this.entries.some(
      (e) => (e.scheme === '*' || e.scheme === 'http' || e.scheme === 'https') && (e.host.kind === 'self' || e.host.kind === 'any'),
    );
  }

  /** True when a `<id>.spin.internal` destination could be allowed (Spin's "requires service chaining"). */
  get usesServiceChaining(): boolean {
    return this.entries.some((e) => e.host.kind === 'domain' && e.host.name.endsWith(SERVICE_CHAINING_SUFFIX));
  }
}

/**
 * The `<scheme>://<authority>` Spin reports for a denied destination: the port is included only when the target
 * names one (for a URL, only when it differs from the scheme's URL default).
 */
export function deniedDestination(target: OutboundTarget): string {
  const { scheme, host, port } = targetParts(target);
  return `${scheme}://${port === undefined ? host : `${host}:${port}`}`;
}

/**
 * The two lines Spin prints on the terminal when a component is denied a destination (`scheme` plus
 * `authority`, as in {@link deniedDestination}; authority `self` for denied self requests).
 */
export function denialMessage(scheme: string, authority: string): string {
  const pattern = `${scheme}://${authority}`;
  const first =
    scheme.startsWith('http') && authority === 'self'
      ? 'A component tried to make an HTTP request to its own app but it does not have permission.'
      : `A component tried to make an outbound network connection to disallowed destination '${pattern}'.`;
  return `${first}\nTo allow this request, add 'allowed_outbound_hosts = ["${pattern}"]' to the manifest component section.`;
}
