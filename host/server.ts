/**
 * The HTTP listener: Node's server in front of the app, with the wire behaviour of Spin's (hyper) listener.
 *
 * - Header fields up to 128 KiB (Spin's limit); larger ones get Node's 431.
 * - No automatic `Connection`/`Keep-Alive` response headers (connections are still kept alive).
 * - A body the guest finished empty goes out with `content-length: 0`; any other body is streamed chunked unless
 *   the guest set `content-length`.
 * - A client that disconnects cancels the response body and aborts the instance's outbound requests.
 *
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeFromQueue, pipeToQueue } from './outbound-http.ts';
import { ByteQueue } from './wasi/io.ts';
import type { HostRequest, HostResponse } from './wasi/http.ts';

/** Per-request facts the listener knows and the app needs. */
export interface RequestContext {
  /** Peer address as Spin formats a SocketAddr (`127.0.0.1:53152`, `[::1]:53152`). */
  clientAddr: string;
  /** Aborted when the client goes away before the response is complete. */
  signal: AbortSignal;
}

export interface RequestHandler {
  handle(req: HostRequest, ctx: RequestContext): Promise<HostResponse>;
}

/** Spin's `FIELD_SIZE_LIMIT`. */
export const MAX_HEADER_BYTES = 128 * 1024;

function socketAddr(address: string | undefined, port: number | undefined): string {
  if (!address) return '0.0.0.0:0';
  const host = address.startsWith('::ffff:') ? address.slice(7) : address;
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

const decoder = new TextDecoder();

/** Writes a host response to Node's response object; resolves when it is fully sent or abandoned. */
export async function writeResponse(res: http.ServerResponse, response: HostResponse): Promise<void> {
  // Wait for the first chunk (or the end) so an empty body can be announced as such.
  await response.body.waitReadable();
  res.statusCode = response.status;
  const grouped = new Map<string, string[]>();
  for (const [name, value] of response.headers) {
    const key = name.toLowerCase();
    const v = typeof value === 'string' ? value : decoder.decode(value);
    const list = grouped.get(key);
    if (list) list.push(v);
    else grouped.set(key, [v]);
  }
  for (const [name, values] of grouped) {
    try {
      res.setHeader(name, values.length === 1 ? values[0]! : values);
    } catch {
      // A header Node refuses (invalid characters) is dropped rather than failing the whole response.
    }
  }
  res.removeHeader('connection');
  if (response.body.ended && response.body.size === 0 && !grouped.has('content-length')) {
    res.setHeader('content-length', '0');
  }
  try {
    await pipeFromQueue(response.body, res);
    res.end();
  } catch {
    // The guest failed after the response started: cut the connection so the client sees a truncated message.
    res.destroy();
  }
}

export interface ListenOptions {
  host: string;
  port: number;
}

/** Starts listening; resolves with the server and its actual address. */
export function listen(
  handler: RequestHandler,
  options: ListenOptions,
): Promise<{ server: http.Server; url: string; address: AddressInfo }> {
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0, keepAliveTimeout: 5000 }, (req, res) => {
    const body = new ByteQueue();
    pipeToQueue(req, body);
    const controller = new AbortController();
    let response: HostResponse | undefined;
    res.on('close', () => {
      if (!res.writableFinished) {
        controller.abort();
        response?.body.cancel();
      }
      body.cancel();
    });
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    const hostReq: HostRequest = {
      method: req.method ?? 'GET',
      pathWithQuery: req.url ?? '/',
      scheme: 'http',
      authority: req.headers.host ?? '',
      headers,
      body,
    };
    handler.handle(hostReq, { clientAddr: socketAddr(req.socket.remoteAddress, req.socket.remotePort), signal: controller.signal }).then(
      (r) => {
        response = r;
        if (res.destroyed) r.body.cancel();
        return writeResponse(res, r);
      },
      (err: unknown) => {
        console.error(`Error processing request: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.removeHeader('connection');
          res.setHeader('content-length', '0');
          res.end();
        } else res.destroy();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({ server, url: `http://${host}:${address.port}`, address });
    });
  });
}
