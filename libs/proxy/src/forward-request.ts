import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { coalescedBody } from './chunk-coalescer';
import { downstreamResponseHeaders } from './hop-by-hop';

export interface ForwardRequest {
  readonly path: string;
  readonly method: string;
  /** Flat [name, value, ...] list, already cleaned (see upstreamRequestHeaders). */
  readonly headers: string[];
  /** The client's body stream (or a BodyLimit over it), or null for a request without a body; small chunks are batched (see ChunkCoalescer). */
  readonly body: Readable | null;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

export type ForwardOutcome =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly error: Error; readonly responseStarted: boolean; readonly status?: number };

/**
 * Streams one request to a backend and its answer back to the client through undici's `dispatch`
 * (the leanest pooled path), with backpressure both ways: a slow client pauses the upstream read
 * instead of growing the gateway's memory. The request body goes up in batches of small chunks, so
 * a client that sends 1-byte chunks does not cost a write per byte here and a parse per byte on
 * the backend. `onDone` is called exactly once.
 */
export function forwardRequest(
  dispatcher: Dispatcher,
  request: ForwardRequest,
  res: ServerResponse,
  onDone: (outcome: ForwardOutcome) => void,
): { abort(reason: Error): void } {
  const handler = new StreamingResponseHandler(res, onDone);
  dispatcher.dispatch(
    {
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: request.body && coalescedBody(request.body),
      headersTimeout: request.headersTimeoutMs,
      bodyTimeout: request.bodyTimeoutMs,
      // The request body is a one-shot stream: undici must never replay it on its own.
      idempotent: false,
      blocking: true,
    },
    handler,
  );
  return handler;
}

class StreamingResponseHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private pendingAbort: Error | undefined;
  private started = false;
  private status: number | undefined;
  private settled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly onDone: (outcome: ForwardOutcome) => void,
  ) {}

  abort(reason: Error): void {
    if (this.settled) return;
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the client's own server sends its 100
    this.started = true;
    this.status = statusCode;
    if (this.res.destroyed) {
      controller.abort(new Error('client went away'));
      return;
    }
    this.res.writeHead(statusCode, statusMessage || undefined, downstreamResponseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.res.end();
    this.settle({ ok: true, status: this.status ?? 0 });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle({ ok: false, error, responseStarted: this.started, status: this.status });
  }

  private settle(outcome: ForwardOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.onDone(outcome);
  }
}
