import type { IncomingMessage } from 'node:http';
import type { Lease } from '@lb/balancing';
import type { Problem } from '@lb/runtime';

/**
 * How one attempt to hand an exchange to a backend failed. An attempt that did not fail was
 * delivered: a response that completed, a WebSocket upgraded, or a refusal relayed as is.
 */
export interface AttemptFailure {
  readonly error: Error;
  /** Part of the answer already reached the client: it can only be cut, not replaced. */
  readonly responseStarted: boolean;
}

/**
 * What differs between a plain request (or stream) and a WebSocket upgrade: how to answer the
 * client, how to forward to one backend, and whether a failed attempt may be replayed. Everything
 * else (admission, routing, the pick, retry, the release, the record) is ExchangeLifecycle's.
 */
export interface Transport {
  readonly kind: 'request' | 'session';
  readonly req: IncomingMessage;
  /** The client has gone (or the answer is complete). */
  readonly clientGone: boolean;
  /** Called once, when the exchange is over from the client's side, however it ends. */
  onClose(listener: () => void): void;
  /** Answers the client with problem+json (a response, or raw bytes on an upgrade socket). */
  reject(body: Problem, headers?: Record<string, string>): void;
  /** Stamps the request id on what the client will get. */
  identify(requestId: string): void;
  /** A problem to answer before any pick (e.g. a declared body over the limit), or undefined. */
  admissionProblem(): { readonly problem: Problem; readonly headers?: Record<string, string> } | undefined;
  /** Whether a request that never reached a backend may be sent to another one. */
  replayable(): boolean;
  /** Hands the exchange to one backend; `done` is called once: with the failure, or nothing once delivered. */
  forward(lease: Lease, requestId: string, done: (failure: AttemptFailure | undefined) => void): void;
  /** Stops the attempt in flight, if any (the client left). */
  abort(): void;
  /** A response already under way failed: cut the connection rather than end it cleanly. */
  cut(error: Error): void;
  /** The status to record once the exchange is over (499: the client left first). */
  finalStatus(): number;
  /** Redirect mode (plain requests only): answers 307 to `location`. */
  redirect?(location: string): void;
}
