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
  /** Stamped on the response the client gets (X-Request-Id). */
  readonly requestId: string;
  /** The client's body stream (or a BodyLimit over it), or null for a request without a body; small chunks are batched (see ChunkCoalescer). */
  readonly body: Readable | null;
}

/** Why a forwarded request failed, and whether part of the answer had already reached the client. */
export interface ForwardFailure {
  readonly error: Error;
  readonly responseStarted: boolean;
}

/**
 * Streams one request to a backend and its answer back to the client through undici's `dispatch`
 * (the leanest pooled path), with backpressure both ways: a slow client pauses the upstream read
 * instead of growing the gateway's memory. The request body goes up in batches of small chunks, so
 * a client that sends 1-byte chunks does not cost a write per byte here and a parse per byte on
 * the backend. `onDone` is called exactly once: with nothing when the response was relayed whole,
 * with the failure otherwise. Timeouts are the dispatcher's own (see UpstreamPools), set once.
 */
export function forwardRequest(
  dispatcher: Dispatcher,
  request: ForwardRequest,
  res: ServerResponse,
  onDone: (failure: ForwardFailure | undefined) => void,
): { abort(reason: Error): void } {
  const handler = new StreamingResponseHandler(res, request.requestId, onDone);
  dispatcher.dispatch(
    {
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: request.body && coalescedBody(request.body),
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
  private settled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly requestId: string,
    private readonly onDone: (failure: ForwardFailure | undefined) => void,
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
    if (this.res.destroyed) {
      controller.abort(new Error('client went away'));
      return;
    }
    this.res.writeHead(statusCode, statusMessage || undefined, downstreamResponseHeaders(headers, this.requestId));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.res.end();
    this.settle(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle({ error, responseStarted: this.started });
  }

  private settle(failure: ForwardFailure | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.onDone(failure);
  }
}
