/**
 * One request through one fresh instance, with Spin's failure behaviour:
 * - a trap, an exit or a missing response before the response was set → 500 with an empty body;
 * - `response-outparam.set(err(…))` → 500;
 * - a trap after the response started → the body fails, so the listener truncates the response.
 *
 * @module
 */
import type { LoadedComponent } from './component.ts';
import { ByteQueue } from './wasi/io.ts';
import { IncomingRequest, ResponseOutparam, type ErrorCode, type HostRequest, type HostResponse, type ResponseSlot } from './wasi/http.ts';

export function internalError(): HostResponse {
  const body = new ByteQueue();
  body.end();
  return { status: 500, headers: [], body };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/**
 * Runs `req` through a new instance of `component`. Resolves as soon as the guest has set its response (the body
 * keeps streaming); never rejects.
 * @param log where Spin-style error lines go (`Error processing request: …`)
 * @param onFinished called once the instance is gone (its export returned or trapped)
 */
export function invoke(
  component: LoadedComponent,
  imports: Record<string, unknown>,
  req: HostRequest,
  log: (line: string) => void,
  onFinished?: () => void,
): Promise<HostResponse> {
  return new Promise<HostResponse>((resolve) => {
    let settled = false;
    let responseBody: ByteQueue | undefined;
    const slot: ResponseSlot = {
      get settled() {
        return settled;
      },
      settle(result) {
        settled = true;
        if ('ok' in result) {
          responseBody = result.ok.body;
          resolve(result.ok);
        } else {
          log(`Error processing request: guest returned an error response: ${describe((result.err as ErrorCode).tag)}`);
          resolve(internalError());
        }
      },
    };

    let instance: ReturnType<LoadedComponent['instantiate']>;
    try {
      instance = component.instantiate(imports);
    } catch (err) {
      log(`Error processing request: failed to instantiate component '${component.id}': ${describe(err)}`);
      resolve(internalError());
      onFinished?.();
      return;
    }

    let running: Promise<void>;
    try {
      running = instance.exports.incomingHandler.handle(new IncomingRequest(req), new ResponseOutparam(slot));
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      () => {
        instance.release();
        onFinished?.();
        if (!settled) {
          settled = true;
          log(`Error processing request: component '${component.id}' returned without setting a response`);
          resolve(internalError());
        } else if (responseBody && !responseBody.ended && !responseBody.errored && !responseBody.cancelled) {
          // The guest is gone and never finished its body. Nothing written means an empty body (StarlingMonkey
          // answers an uncaught handler exception this way: a 500 whose body it never finishes); a partial body
          // is cut, so the client sees a truncated message rather than a complete-looking one.
          if (responseBody.bytesIn === 0) responseBody.end();
          else responseBody.fail(new Error('component returned before finishing the response body'));
        }
      },
      (err: unknown) => {
        instance.release();
        onFinished?.();
        if (!settled) {
          settled = true;
          log(`Error processing request: ${describe(err)}`);
          resolve(internalError());
        } else {
          log(`Component error after response started: ${describe(err)}`);
          responseBody?.fail(err);
        }
      },
    );
  });
}
