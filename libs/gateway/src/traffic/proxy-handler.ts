import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Lease } from '@lb/balancing';
import { signToken, splitToken, withToken } from '@lb/balancing/token';
import {
  BodyLimit,
  BodyTooLargeError,
  failedBeforeSending,
  forwardRequest,
  statusForUpstreamFailure,
  upstreamFailureCode,
  upstreamRequestHeaders,
  type ForwardOutcome,
  type UpstreamPools,
} from '@lb/proxy';
import { problem, requestIdFrom, writeProblem, type Logger, type Problem } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import type { GatewayMetrics } from '../metrics';
import { matchRoute, type Route } from '../routing/route-table';
import type { HeldLease } from '../leases/lease-book';
import type { ExchangeTracker } from './exchange-tracker';
import type { Picker, RedirectPick } from './picker';
import { gatewayProblems } from './gateway-problems';

/** Methods that may be replayed on another backend when the first one could not be reached. */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly startedAt: number;
  readonly route: Route;
  readonly hasBody: boolean;
  readonly knownLength: boolean;
  /** Backends this request already failed on. */
  readonly tried: string[];
  lease?: HeldLease;
  backend?: string;
  abortUpstream?: (reason: Error) => void;
  upstreamError?: string;
}

/**
 * The HTTP traffic path, no framework on it: route, pick and reserve (one Redis round trip), then
 * forward and give the slot back exactly once when the exchange ends however it ends (the release
 * is fire-and-forget, off the response path) - or, in redirect mode, answer 307 with a signed token
 * and leave the slot pending for the backend to claim.
 */
export class ProxyHandler {
  private readonly problems: ReturnType<typeof gatewayProblems>;

  constructor(
    private readonly config: GatewayConfig,
    private readonly picker: Picker,
    private readonly pools: UpstreamPools,
    private readonly tracker: ExchangeTracker,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {
    this.problems = gatewayProblems(config);
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    // No open proxy: only origin-form targets ("/path?query") are forwarded, to registered backends.
    if (req.url === undefined || req.url[0] !== '/') {
      writeProblem(res, this.problems.invalidTarget());
      return;
    }
    const route = matchRoute(this.config.routes, req.headers.host, req.url);
    if (!route) {
      writeProblem(res, problem(404, 'no-route', 'no route of this gateway matches this host and path'));
      return;
    }
    const x: Exchange = {
      req,
      res,
      requestId,
      startedAt: performance.now(),
      route,
      hasBody: req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0',
      knownLength: req.headers['content-length'] !== undefined,
      tried: [],
    };
    if (this.tracker.full) {
      this.reject(x, this.problems.tooManySessions(), { 'retry-after': '1' });
      return;
    }
    this.tracker.begin(route.pool);
    res.once('close', () => this.onClose(x));
    if (Number(req.headers['content-length'] ?? 0) > this.config.GATEWAY_MAX_BODY_BYTES) {
      this.reject(x, this.problems.bodyTooLarge(), { connection: 'close' });
      return;
    }
    if (route.mode === 'redirect') void this.redirect(x);
    else void this.forward(x);
  };

  private async forward(x: Exchange): Promise<void> {
    const held = await this.pick(x, () => this.picker.pick(x.route.pool, x.tried), (h) => h.release());
    if (!held) return;
    const lease = held.lease;
    x.lease = held;
    x.backend = lease.backendId;
    const body = !x.hasBody ? null : x.knownLength ? x.req : x.req.pipe(new BodyLimit(this.config.GATEWAY_MAX_BODY_BYTES));
    const upstream = forwardRequest(
      this.pools.get(lease.url),
      {
        path: x.req.url as string,
        method: x.req.method as string,
        headers: upstreamRequestHeaders(x.req.rawHeaders, x.req.headers.connection, {
          clientIp: x.req.socket.remoteAddress,
          proto: 'http',
          requestId: x.requestId,
        }),
        body,
        headersTimeoutMs: this.config.UPSTREAM_HEADERS_TIMEOUT_MS,
        bodyTimeoutMs: this.config.UPSTREAM_BODY_TIMEOUT_MS,
      },
      x.res,
      (outcome) => this.onUpstreamDone(x, lease, outcome),
    );
    x.abortUpstream = (reason) => upstream.abort(reason);
  }

  /**
   * Redirect ("iterative") mode: decide, reserve a pending slot under a fresh token id, answer 307
   * to the backend's public URL. The client repeats method and body there; the backend verifies
   * the token and claims the slot, or the slot lapses with the token.
   */
  private async redirect(x: Exchange): Promise<void> {
    const keyRing = this.config.keyRing;
    if (!keyRing) throw new Error('redirect route without REDIRECT_KEYS'); // refused at start
    const tokenId = randomBytes(12).toString('base64url');
    const ttlMs = this.config.REDIRECT_TOKEN_TTL_MS;
    const decision = await this.pick(x, () => this.picker.pickForRedirect(x.route.pool, x.tried, { tokenId, ttlMs }), (p: RedirectPick) => this.picker.cancel(p));
    if (!decision) return;
    const { lease } = decision;
    x.backend = lease.backendId;
    const { pathAndQuery } = splitToken(x.req.url as string); // a token the client brought is not ours to pass on
    const token = signToken(keyRing, {
      method: x.req.method as string,
      pathAndQuery,
      backendId: lease.backendId,
      expiresAt: Date.now() + ttlMs,
      tokenId,
    });
    x.res.writeHead(307, {
      location: `${lease.publicUrl}${withToken(pathAndQuery, token)}`,
      'cache-control': 'no-store',
      'content-length': '0',
      // The client sends the body again to the backend; do not read this copy of it.
      ...(x.hasBody ? { connection: 'close' } : {}),
    });
    x.res.end();
  }

  /**
   * Picks (the store, or the local view while the store is away); answers the client and returns
   * undefined when nothing is eligible. A pick made for a client that left meanwhile is undone.
   */
  private async pick<P>(x: Exchange, pick: () => Promise<P | undefined>, undo: (p: P) => void): Promise<P | undefined> {
    let picked: P | undefined;
    try {
      picked = await pick();
    } catch (err) {
      this.log.error({ err, reqId: x.requestId, pool: x.route.pool }, 'pick failed');
      this.reject(x, this.problems.storeUnavailable(), { 'retry-after': '1' });
      return undefined;
    }
    if (x.res.destroyed) {
      if (picked) undo(picked);
      return undefined;
    }
    if (!picked) {
      this.reject(x, this.problems.noBackend(x.route.pool, x.tried), x.tried.length > 0 ? {} : { 'retry-after': '1' });
      return undefined;
    }
    return picked;
  }

  private onUpstreamDone(x: Exchange, lease: Lease, outcome: ForwardOutcome): void {
    if (outcome.ok) return; // the response is complete; 'close' releases and records
    const { error } = outcome;
    if (x.res.destroyed && !x.res.writableFinished) return; // the client went away: nothing to answer
    const code = upstreamFailureCode(error);
    x.upstreamError = code;
    this.metrics.upstreamFailures.inc({ pool: x.route.pool, code });
    if (outcome.responseStarted) {
      // Mid-body failure: the status line is gone, so cut the connection rather than end cleanly.
      this.log.warn({ reqId: x.requestId, backend: lease.backendId, code }, 'upstream failed mid-response');
      x.res.destroy(error);
      return;
    }
    if (error instanceof BodyTooLargeError || (error as { cause?: unknown }).cause instanceof BodyTooLargeError) {
      this.reject(x, this.problems.bodyTooLarge(), { connection: 'close' });
      return;
    }
    if (failedBeforeSending(error)) {
      this.picker.eject(lease.backendId);
      if (this.mayRetry(x)) {
        x.lease?.release();
        x.lease = undefined;
        x.tried.push(lease.backendId);
        void this.forward(x);
        return;
      }
    }
    this.log.warn({ reqId: x.requestId, backend: lease.backendId, code }, 'upstream failed');
    this.reject(x, this.problems.upstreamFailure(statusForUpstreamFailure(error), lease.backendId, code));
  }

  private mayRetry(x: Exchange): boolean {
    return !x.hasBody && RETRYABLE_METHODS.has(x.req.method as string) && x.tried.length < this.config.UPSTREAM_RETRIES;
  }

  private onClose(x: Exchange): void {
    x.lease?.release();
    if (!x.res.writableFinished) x.abortUpstream?.(new Error('client closed the connection'));
    this.tracker.end({
      requestId: x.requestId,
      method: x.req.method,
      url: x.req.url,
      pool: x.route.pool,
      status: x.res.writableFinished ? x.res.statusCode : 499, // 499: the client closed first (nginx's convention)
      backend: x.backend,
      startedAt: x.startedAt,
      upstreamError: x.upstreamError,
      kind: x.route.mode === 'redirect' ? 'redirect' : 'request',
    });
  }

  private reject(x: Exchange, body: Problem, headers: Record<string, string> = {}): void {
    writeProblem(x.res, body, headers);
  }
}
