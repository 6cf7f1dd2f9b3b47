import type { ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { ms, positiveInt } from './env';
import { problem, writeRawProblem } from './problem';

/**
 * How long a client may take to send a request on one listener: the slow-loris guards. Both count
 * until the request has been read, never the response, so long polls, SSE streams, WebSockets and
 * long `/work` requests are not cut by them.
 */
export interface ListenerTimeouts {
  /** Request line and headers; past it the client gets 408 and the connection is closed. */
  readonly headersTimeoutMs: number;
  /** The whole request, body included (0: no limit); past it, 408 (or a cut if an answer has started). */
  readonly requestTimeoutMs: number;
}

/** The variables every Nest app (registry, backend-sim, the gateway's admin port) reads for its listener. */
export const LISTENER_TIMEOUT_ENV = {
  HTTP_HEADERS_TIMEOUT_MS: positiveInt(86_400_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: ms.default(30_000),
};

export function listenerTimeoutsFrom(env: { readonly HTTP_HEADERS_TIMEOUT_MS: number; readonly HTTP_REQUEST_TIMEOUT_MS: number }): ListenerTimeouts {
  return { headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS };
}

/**
 * node:http server options that enforce the timeouts. Node checks deadlines on a timer,
 * `connectionsCheckingInterval`, every 30 s by default, so a 10 s deadline could let a slow client
 * stay 40 s; here the timer runs at a quarter of the shortest deadline, at least every second.
 * The headers deadline never exceeds the request deadline (Node refuses that combination).
 */
export function httpServerTimeouts({ headersTimeoutMs, requestTimeoutMs }: ListenerTimeouts): Required<Pick<ServerOptions, 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'>> {
  const headersTimeout = requestTimeoutMs > 0 ? Math.min(headersTimeoutMs, requestTimeoutMs) : headersTimeoutMs;
  return {
    headersTimeout,
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 4))),
  };
}

/**
 * FastifyAdapter options for every Nest app's listener: the timeouts, and problem+json for what
 * Node refuses before any route runs (408 too slow, 431 headers too large, 400 not HTTP).
 */
export function fastifyListenerOptions(timeouts: ListenerTimeouts) {
  return {
    requestTimeout: timeouts.requestTimeoutMs, // Fastify sets the server's own from this (its default is 0)
    http: httpServerTimeouts(timeouts),
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket),
  };
}

/**
 * Node's `clientError`: a request it refused before any handler (malformed, headers too large, too
 * slow). Answered with problem+json on the raw socket and closed, unless the connection is reset
 * or an answer to it has already begun (then it is only closed, as Node itself does).
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, maxHeaderBytes?: number): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || socket.destroyed || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  writeRawProblem(socket, clientErrorProblem(error.code, maxHeaderBytes));
}

function clientErrorProblem(code: string | undefined, maxHeaderBytes: number | undefined) {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return problem(431, 'headers-too-large', maxHeaderBytes ? `request headers are limited to ${maxHeaderBytes} bytes` : 'the request headers are too large', { field: 'headers' });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return problem(408, 'request-timeout', 'the request did not arrive in time');
    default:
      return problem(400, 'malformed-request', 'the request is not valid HTTP/1.1');
  }
}
