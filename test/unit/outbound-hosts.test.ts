import { describe, expect, it } from 'vitest';
import type { HostError } from '../../host/errors.ts';
import {
  AllowedHosts,
  defaultPort,
  deniedDestination,
  denialMessage,
  parseAllowedHost,
  serviceChainingTarget,
} from '../../host/outbound-hosts.ts';

function parseError(entry: string): HostError {
  try {
    parseAllowedHost(entry);
  } catch (err) {
    return err as HostError;
  }
  throw new Error(`expected ${JSON.stringify(entry)} to be rejected`);
}

const allowed = (...entries: string[]) => AllowedHosts.parse(entries, []);

describe('parseAllowedHost', () => {
  it('parses scheme, host and port', () => {
    expect(parseAllowedHost('http://spin.fermyon.dev')).toEqual({
      original: 'http://spin.fermyon.dev',
      scheme: 'http',
      host: { kind: 'domain', name: 'spin.fermyon.dev' },
      port: { kind: 'port', port: 80 },
    });
    expect(parseAllowedHost('https://example.com:4443').port).toEqual({ kind: 'port', port: 4443 });
    expect(parseAllowedHost('*://example.com:*')).toMatchObject({ scheme: '*', port: { kind: 'any' } });
    expect(parseAllowedHost('*://*:*')).toMatchObject({ scheme: '*', host: { kind: 'any' }, port: { kind: 'any' } });
    expect(parseAllowedHost('  http://example.com  ').original).toBe('  http://example.com  ');
  });

  it('uses the scheme default port when the port is omitted', () => {
    expect(parseAllowedHost('http://a').port).toEqual({ kind: 'port', port: 80 });
    expect(parseAllowedHost('https://a').port).toEqual({ kind: 'port', port: 443 });
    expect(parseAllowedHost('redis://a').port).toEqual({ kind: 'port', port: 6379 });
    expect(parseAllowedHost('postgres://a').port).toEqual({ kind: 'port', port: 5432 });
    expect(parseAllowedHost('mysql://a').port).toEqual({ kind: 'port', port: 3306 });
    expect(parseAllowedHost('mqtt://a').port).toEqual({ kind: 'port', port: 1883 });
  });

  it('requires a port for schemes without a default (tcp, udp, *)', () => {
    for (const entry of ['tcp://localhost', 'udp://localhost', '*://localhost', '*://self']) {
      const err = parseError(entry);
      expect(err.code).toBe('outbound-host-invalid');
      expect(err.reason).toContain('no port was provided and the scheme');
      expect(err.reason).toContain('does not have a known default port number');
    }
    expect(parseAllowedHost('tcp://localhost:7').port).toEqual({ kind: 'port', port: 7 });
  });

  it('parses port ranges as half-open', () => {
    expect(parseAllowedHost('http://a:8000..8080').port).toEqual({ kind: 'range', start: 8000, end: 8080 });
    expect(parseError('http://a:80..x').reason).toContain('port range "80..x" contains non-number');
    expect(parseError('http://a:port').reason).toContain('port "port" is not a number');
    expect(parseError('http://a:65536').reason).toContain('is not a number');
    expect(parseError('http://a:{80,81}').reason).toContain('port lists are not yet supported');
  });

  it('requires ://', () => {
    expect(parseError('spin.fermyon.dev').reason).toContain("does not contain a scheme (e.g., 'http://' or '*://')");
    expect(parseError('spin.fermyon.dev:80').reason).toContain('does not contain a scheme');
    expect(parseError('localhost').code).toBe('outbound-host-invalid');
    expect(parseError('*').reason).toContain('not an allowed outbound host format');
    expect(parseError('').reason).toContain('not an allowed outbound host format');
  });

  it("rejects 'insecure:allow-all'", () => {
    const err = parseError('insecure:allow-all');
    expect(err.reason).toContain("'insecure:allow-all' is not allowed");
    expect(err.hint).toContain('*://*:*');
    expect(() => AllowedHosts.parse(['https://a', 'insecure:allow-all'], [])).toThrow();
  });

  it('rejects paths but allows a trailing slash', () => {
    expect(parseAllowedHost('http://spin.fermyon.dev/').host).toEqual({ kind: 'domain', name: 'spin.fermyon.dev' });
    expect(parseError('http://spin.fermyon.dev/a').reason).toContain('must not include a path');
    expect(parseError('http://spin.fermyon.dev:6666/a/b').reason).toContain('has a path but is not allowed to');
    expect(parseError('http://*.fermyon.dev/a').code).toBe('outbound-host-invalid');
  });

  it('validates the scheme', () => {
    expect(parseError('h2c://a:80').reason).toContain('only alphabetic characters are allowed');
    expect(parseError('{http,https}://a:80').reason).toContain('scheme lists are not supported');
    // Case is kept: HTTP://a never matches an http request, as in Spin.
    expect(parseAllowedHost('HTTP://a:80').scheme).toBe('HTTP');
  });

  it('parses host forms', () => {
    expect(parseAllowedHost('http://*.example.com').host).toEqual({ kind: 'subdomain', suffix: '.example.com' });
    expect(parseAllowedHost('http://self').host).toEqual({ kind: 'self' });
    expect(parseAllowedHost('https://self.alt').host).toEqual({ kind: 'self' });
    expect(parseAllowedHost('http://192.168.1.1:3002').host).toEqual({ kind: 'ipv4', address: '192.168.1.1' });
    expect(parseAllowedHost('http://Example.COM').host).toEqual({ kind: 'domain', name: 'example.com' });
    expect(parseAllowedHost('http://api.spin.internal').host).toEqual({ kind: 'domain', name: 'api.spin.internal' });
    expect(parseError('http://ex*ample.com').reason).toContain('wildcards are allowed only as subdomains');
    expect(parseError('http://*.*.example.com').reason).toContain('wildcards are allowed only as prefixes');
    expect(parseError('http://{a,b}').reason).toContain('host lists are not yet supported');
  });

  it('parses CIDR ranges, truncating host bits', () => {
    expect(parseAllowedHost('*://127.0.0.0/24:80').host).toEqual({ kind: 'cidr', address: '127.0.0.0', prefix: 24 });
    expect(parseAllowedHost('*://127.0.0.1/24:63551').host).toEqual({ kind: 'cidr', address: '127.0.0.0', prefix: 24 });
    expect(parseAllowedHost('*://10.1.2.3/8:*').host).toEqual({ kind: 'cidr', address: '10.0.0.0', prefix: 8 });
    // No port and no default for '*'.
    expect(parseError('*://127.0.0.0/24').code).toBe('outbound-host-invalid');
  });

  it('rejects IPv6 literals', () => {
    for (const entry of ['http://[::1]:8001', 'http://[::1]', '*://ff00::/8:80']) {
      expect(parseError(entry).reason).toContain('IPv6 addresses are not supported');
    }
  });
});

describe('AllowedHosts.allows', () => {
  it('matches scheme, host and port (Spin test_allowed_hosts_can_be_specific)', () => {
    const hosts = allowed('*://spin.fermyon.dev:443', 'http://example.com:8383');
    expect(hosts.allows(new URL('https://spin.fermyon.dev'))).toBe(true);
    expect(hosts.allows(new URL('https://spin.fermyon.dev/'))).toBe(true);
    expect(hosts.allows(new URL('http://example.com/'))).toBe(false);
    expect(hosts.allows(new URL('http://google.com/'))).toBe(false);
    expect(hosts.allows({ scheme: 'https', host: 'spin.fermyon.dev', port: 443 })).toBe(true);
    expect(hosts.allows({ scheme: 'http', host: 'example.com', port: 8383 })).toBe(true);
  });

  it('checks a request without a port against its scheme default', () => {
    const hosts = allowed('http://localhost:80', 'redis://cache');
    expect(hosts.allows({ scheme: 'http', host: 'localhost' })).toBe(true);
    expect(hosts.allows({ scheme: 'http', host: 'localhost', port: null })).toBe(true);
    expect(hosts.allows(new URL('http://localhost:80/x'))).toBe(true);
    expect(hosts.allows({ scheme: 'redis', host: 'cache' })).toBe(true);
    expect(hosts.allows(new URL('redis://cache:6379'))).toBe(true);
    expect(hosts.allows(new URL('redis://cache:6380'))).toBe(false);
    // No default for tcp: a portless tcp target matches only '*' ports.
    expect(allowed('*://localhost:7').allows({ scheme: 'tcp', host: 'localhost' })).toBe(false);
    expect(allowed('*://localhost:*').allows({ scheme: 'tcp', host: 'localhost' })).toBe(true);
  });

  it('matches subdomain wildcards on any depth but not the bare domain (Spin test)', () => {
    const hosts = allowed('http://*.example.com', 'http://*.example2.com:8383');
    expect(hosts.allows(new URL('http://a.example.com/foo'))).toBe(true);
    expect(hosts.allows(new URL('http://a.b.example.com/foo/bar'))).toBe(true);
    expect(hosts.allows(new URL('http://a.b.example2.com:8383/foo/bar'))).toBe(true);
    expect(hosts.allows(new URL('http://a.b.example2.com/foo/bar'))).toBe(false);
    expect(hosts.allows(new URL('http://example.com/foo/bar'))).toBe(false);
    expect(hosts.allows(new URL('http://example.com:8383/foo/bar'))).toBe(false);
    expect(hosts.allows(new URL('http://myexample.com/foo/bar'))).toBe(false);
    // Domains only.
    expect(allowed('http://*.0.0.1').allows({ scheme: 'http', host: '127.0.0.1' })).toBe(false);
  });

  it('compares host names case-insensitively and normalizes IPv4 forms', () => {
    expect(allowed('redis://localhost').allows({ scheme: 'redis', host: 'LocalHost' })).toBe(true);
    expect(allowed('http://127.0.0.1').allows({ scheme: 'http', host: '127.1' })).toBe(true);
    expect(allowed('http://127.0.0.1').allows({ scheme: 'http', host: 'localhost' })).toBe(false);
    expect(allowed('https://my.api.com/').allows(new URL('https://my.api.com'))).toBe(true);
  });

  it('compares schemes exactly', () => {
    expect(allowed('https://a').allows(new URL('http://a:443'))).toBe(false);
    expect(allowed('http://a:80').allows({ scheme: 'https', host: 'a', port: 80 })).toBe(false);
    expect(allowed('*://a:80').allows({ scheme: 'mqtt', host: 'a', port: 80 })).toBe(true);
  });

  it('matches CIDR ranges for IPv4 targets only', () => {
    const hosts = allowed('*://127.0.0.0/24:63551');
    expect(hosts.allows({ scheme: 'tcp', host: '127.0.0.1', port: 63551 })).toBe(true);
    expect(hosts.allows({ scheme: 'tcp', host: '127.0.0.255', port: 63551 })).toBe(true);
    expect(hosts.allows({ scheme: 'tcp', host: '127.0.1.1', port: 63551 })).toBe(false);
    expect(hosts.allows({ scheme: 'tcp', host: '127.0.0.1', port: 63552 })).toBe(false);
    expect(hosts.allows({ scheme: 'tcp', host: 'localhost', port: 63551 })).toBe(false);
    expect(allowed('*://0.0.0.0/0:*').allows({ scheme: 'tcp', host: '8.8.8.8', port: 53 })).toBe(true);
  });

  it('treats port ranges as half-open', () => {
    const hosts = allowed('http://a:8000..8002');
    expect(hosts.allows({ scheme: 'http', host: 'a', port: 8000 })).toBe(true);
    expect(hosts.allows({ scheme: 'http', host: 'a', port: 8001 })).toBe(true);
    expect(hosts.allows({ scheme: 'http', host: 'a', port: 8002 })).toBe(false);
  });

  it('follows the conformance tcp-sockets permission cases', () => {
    const target = { scheme: 'tcp', host: '127.0.0.1', port: 7 };
    expect(allowed('*://127.0.0.1:7').allows(target)).toBe(true);
    expect(allowed('*://127.0.0.0/24:7').allows(target)).toBe(true);
    expect(allowed('*://127.0.0.2:6001').allows(target)).toBe(false);
    expect(allowed('*://127.0.0.1:6002').allows(target)).toBe(false);
  });

  it('never matches self entries against named hosts; an empty list denies all', () => {
    expect(allowed('http://self').allows({ scheme: 'http', host: 'self' })).toBe(false);
    expect(allowed().allows(new URL('http://localhost:1234'))).toBe(false);
    expect(allowed('http://*:*').allows({ scheme: 'http', host: '' })).toBe(false);
  });

  it('expands *.spin.internal into one entry per component', () => {
    const hosts = AllowedHosts.parse(
      ['pg://localhost:5656', 'http://*.spin.internal', 'https://spinframework.dev'],
      ['first', 'second', 'third'],
    );
    expect(hosts.entries.map((e) => (e.host.kind === 'domain' ? e.host.name : e.host.kind))).toEqual([
      'localhost',
      'first.spin.internal',
      'second.spin.internal',
      'third.spin.internal',
      'spinframework.dev',
    ]);
    expect(hosts.allows(new URL('http://second.spin.internal/x'))).toBe(true);
    expect(hosts.allows(new URL('https://second.spin.internal/x'))).toBe(false);
    expect(hosts.allows(new URL('http://fourth.spin.internal/x'))).toBe(false);
    expect(hosts.usesServiceChaining).toBe(true);
    expect(allowed('http://api.spin.internal').usesServiceChaining).toBe(true);
    expect(allowed('http://example.com').usesServiceChaining).toBe(false);
  });
});

describe('AllowedHosts.allowsSelf', () => {
  it('is granted by self, self.alt or * hosts with an http-ish scheme', () => {
    expect(allowed('http://self').allowsSelf()).toBe(true);
    expect(allowed('https://self.alt').allowsSelf()).toBe(true);
    expect(allowed('*://self:*').allowsSelf()).toBe(true);
    expect(allowed('http://*:*').allowsSelf()).toBe(true);
    expect(allowed('*://*:*').allowsSelf()).toBe(true);
    expect(allowed('redis://self').allowsSelf()).toBe(false);
    expect(allowed('http://localhost:3000').allowsSelf()).toBe(false);
    expect(allowed().allowsSelf()).toBe(false);
  });
});

describe('helpers', () => {
  it('knows default ports', () => {
    expect(defaultPort('http')).toBe(80);
    expect(defaultPort('tcp')).toBeUndefined();
    expect(defaultPort('toString')).toBeUndefined();
  });

  it('finds service chaining targets', () => {
    expect(serviceChainingTarget('api.spin.internal')).toBe('api');
    expect(serviceChainingTarget('api.spin.internal:8080')).toBe('api');
    expect(serviceChainingTarget('a.b.spin.internal')).toBeUndefined();
    expect(serviceChainingTarget('spin.internal')).toBeUndefined();
    expect(serviceChainingTarget('example.com')).toBeUndefined();
  });

  it('formats the denied destination like Spin', () => {
    expect(deniedDestination(new URL('http://localhost:1234/x'))).toBe('http://localhost:1234');
    expect(deniedDestination(new URL('http://example.com:80/x'))).toBe('http://example.com');
    expect(deniedDestination({ scheme: 'tcp', host: '127.0.0.1', port: 7 })).toBe('tcp://127.0.0.1:7');
  });

  it('produces the denial text', () => {
    expect(denialMessage('http', 'localhost:1234')).toBe(
      "A component tried to make an outbound network connection to disallowed destination 'http://localhost:1234'.\n" +
        'To allow this request, add \'allowed_outbound_hosts = ["http://localhost:1234"]\' to the manifest component section.',
    );
    expect(denialMessage('http', 'self')).toBe(
      'A component tried to make an HTTP request to its own app but it does not have permission.\n' +
        'To allow this request, add \'allowed_outbound_hosts = ["http://self"]\' to the manifest component section.',
    );
  });
});
