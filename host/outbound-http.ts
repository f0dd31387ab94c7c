/**
 * Outbound HTTP over the network for guests (`wasi:http/outgoing-handler`), on Node's own HTTP client with
 * keep-alive pooling. Bodies stream both ways with backpressure; the `request-options` timeouts are honoured and
 * map onto `wasi:http` error codes.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { ByteQueue } from './wasi/io.ts';
import { HttpErrorCodeError, type HostRequest, type HostResponse, type OutboundOptions } from './wasi/http.ts';

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/** Feeds a Node readable into a queue, pausing the readable while the queue is full. */
export function pipeToQueue(source: NodeJS.ReadableStream & { destroy?(err?: Error): void }, queue: ByteQueue): void {
  source.on('data', (chunk: Buffer) => {
    queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (queue.capacity === 0 && !queue.cancelled) {
      source.pause();
      void queue.waitWritable().then(() => source.resume());
    }
    if (queue.cancelled) source.destroy?.();
  });
  source.on('end', () => queue.end());
  source.on('error', (err) => queue.fail(err));
  source.on('close', () => {
    if (!queue.ended) queue.fail(new HttpErrorCodeError({ tag: 'connection-terminated' }, 'connection closed before the body ended'));
  });
}

/** Writes a queue into a Node writable, honouring its backpressure. */
export async function pipeFromQueue(queue: ByteQueue, sink: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of queue) {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', resolve));
  }
}

/**
 * Sends a request to the network. Rejects with an {@link HttpErrorCodeError} carrying the `wasi:http` error code.
 */
export function sendNetwork(req: HostRequest, options: OutboundOptions, signal: AbortSignal): Promise<HostResponse> {
  return new Promise<HostResponse>((resolve, reject) => {
    const secure = req.scheme === 'https';
    const url = new URL(`${req.scheme}://${req.authority}${req.pathWithQuery}`);
    const headers: Record<string, string | string[]> = {};
    const decoder = new TextDecoder();
    for (const [name, value] of req.headers) {
      const v = typeof value === 'string' ? value : decoder.decode(value);
      const prev = headers[name];
      if (prev === undefined) headers[name] = v;
      else headers[name] = Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    let settled = false;
    const fail = (code: { tag: string; val?: unknown }, message: string) => {
      if (settled) return;
      settled = true;
      reject(new HttpErrorCodeError(code, message));
    };

    const request = (secure ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (secure ? 443 : 80),
      method: req.method,
      path: req.pathWithQuery,
      headers,
      agent: secure ? agents.https : agents.http,
      signal,
    });

    let firstByteTimer: NodeJS.Timeout | undefined;
    if (options.connectTimeoutMs !== undefined) {
      const connectTimer = setTimeout(() => {
        fail({ tag: 'connection-timeout' }, 'connect timeout');
        request.destroy();
      }, options.connectTimeoutMs);
      request.once('socket', (socket) => {
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.once('close', () => clearTimeout(connectTimer));
    }
    if (options.firstByteTimeoutMs !== undefined) {
      firstByteTimer = setTimeout(() => {
        fail({ tag: 'connection-read-timeout' }, 'no response within the first-byte timeout');
        request.destroy();
      }, options.firstByteTimeoutMs);
    }

    request.on('response', (res) => {
      clearTimeout(firstByteTimer);
      if (settled) {
        res.destroy();
        return;
      }
      settled = true;
      const body = new ByteQueue();
      pipeToQueue(res, body);
      if (options.betweenBytesTimeoutMs !== undefined) {
        res.setTimeout(options.betweenBytesTimeoutMs, () => {
          body.fail(new HttpErrorCodeError({ tag: 'connection-read-timeout' }, 'between-bytes timeout'));
          res.destroy();
        });
      }
      const pairs: [string, string][] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
      resolve({ status: res.statusCode ?? 502, headers: pairs, body });
    });

    request.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(firstByteTimer);
      if (err.name === 'AbortError') return fail({ tag: 'connection-terminated' }, 'request aborted');
      switch (err.code) {
        case 'ECONNREFUSED':
          return fail({ tag: 'connection-refused' }, err.message);
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
          return fail({ tag: 'DNS-error', val: { rcode: err.code, infoCode: undefined } }, err.message);
        case 'ETIMEDOUT':
          return fail({ tag: 'connection-timeout' }, err.message);
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
          return fail({ tag: 'destination-unavailable' }, err.message);
        default:
          return fail({ tag: 'connection-terminated' }, err.message);
      }
    });

    pipeFromQueue(req.body, request).then(
      () => request.end(),
      (err: unknown) => request.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
