/** The slice of `wasi:http@0.2.10` this guest calls directly (jco's JavaScript representation). */
declare module 'wasi:http/types@0.2.10' {
  export type ErrorCode = { tag: string; val?: unknown };
  export class Fields {
    constructor();
  }
  export class Pollable {
    block(): void;
  }
  export class IncomingResponse {
    status(): number;
  }
  export class FutureIncomingResponse {
    subscribe(): Pollable;
    get(): { tag: 'ok'; val: { tag: 'ok'; val: IncomingResponse } | { tag: 'err'; val: ErrorCode } } | { tag: 'err' } | undefined;
  }
  export class OutgoingRequest {
    constructor(headers: Fields);
    setScheme(scheme: { tag: 'HTTP' } | { tag: 'HTTPS' }): void;
    setAuthority(authority: string): void;
    setPathWithQuery(path: string): void;
  }
}
declare module 'wasi:http/outgoing-handler@0.2.10' {
  import type { FutureIncomingResponse, OutgoingRequest } from 'wasi:http/types@0.2.10';
  export function handle(request: OutgoingRequest, options: undefined): FutureIncomingResponse;
}
