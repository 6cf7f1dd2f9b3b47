import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { signToken, splitToken, withToken } from '@lb/balancing/token';
import { BodyTooLargeError, failedBeforeAnswer, failedBeforeSending, statusForUpstreamFailure, unforwardableReason, upstreamFailureCode } from '@lb/proxy';
import { problem, requestIdFrom, type Logger } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import type { HeldLease } from '../leases/lease-book';
import type { GatewayMetrics, PoolMeters } from '../metrics';
import { matchRoute, type Route } from '../routing/route-table';
import type { ExchangeTracker, FinishedExchange } from './exchange-tracker';
import { gatewayProblems } from './gateway-problems';
import type { Picker } from './picker';
import type { AttemptFailure, Transport } from './transport';

const NONE_TRIED: readonly string[] = [];

/** One exchange from admission to its record; the tracker reads it as a FinishedExchange. */
class Exchange implements FinishedExchange {
  /** Backends this exchange already failed on (made on the first failure). */
  tried: readonly string[] = NONE_TRIED;
  lease: HeldLease | undefined = undefined;
  backend: string | undefined = undefined;
  upstreamError: string | undefined = undefined;
  status = 0;
  kind: FinishedExchange['kind'] = 'request';

  constructor(
    readonly t: Transport,
    readonly requestId: string,
    readonly route: Route,
    readonly meters: PoolMeters,
    readonly startedAt: number,
  ) {}

  get method(): string | undefined {
    return this.t.req.method;
  }

  get url(): string | undefined {
    return this.t.req.url;
  }
}

/**
 * The one lifecycle of every exchange, whatever carries it (a request, a stream, a WebSocket
 * upgrade): admit (origin-form target, headers it can forward, route, session cap, declared
 * size), pick and reserve one
 * slot, forward, and on a failure before anything reached the backend, eject it and retry on
 * another one when the exchange can be replayed; release the slot exactly once when the exchange
 * ends however it ends; record it once (metrics and one access line). Redirect mode answers 307
 * with a signed token instead of forwarding. Transports (http-transport.ts, upgrade-transport.ts)
 * only say how to answer and how to forward.
 */
export class ExchangeLifecycle {
  private readonly problems: ReturnType<typeof gatewayProblems>;

  constructor(
    private readonly config: GatewayConfig,
    private readonly picker: Picker,
    private readonly tracker: ExchangeTracker,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {
    this.problems = gatewayProblems(config);
  }

  run(t: Transport): void {
    const { req } = t;
    const requestId = requestIdFrom(req.headers['x-request-id']);
    t.identify(requestId);
    // No open proxy: only origin-form targets ("/path?query") are forwarded, to registered backends.
    if (req.url === undefined || req.url[0] !== '/') {
      t.reject(this.problems.invalidTarget());
      return;
    }
    // A request the gateway cannot pass on as sent is the client's fault: answered before any
    // pick, never a 502 counted against a backend.
    const unforwardable = unforwardableReason(req.rawHeaders, req.url);
    if (unforwardable) {
      t.reject(this.problems.unforwardable(unforwardable), { connection: 'close' });
      return;
    }
    const route = matchRoute(this.config.routes, req.headers.host, req.url);
    if (!route) {
      t.reject(problem(404, 'no-route', 'no route of this gateway matches this host and path'));
      return;
    }
    if (this.tracker.full) {
      t.reject(this.problems.tooManySessions(), { 'retry-after': '1' });
      return;
    }
    const x = new Exchange(t, requestId, route, this.metrics.pool(route.pool), performance.now());
    this.tracker.begin(x.meters);
    if (t.kind === 'session') this.metrics.sessions.inc({ pool: route.pool });
    t.onClose(() => this.end(x));
    const refusal = t.admissionProblem();
    if (refusal) {
      t.reject(refusal.problem, refusal.headers);
      return;
    }
    // WebSocket upgrades are always proxied: a redirect cannot carry a handshake across origins reliably.
    if (route.mode === 'redirect' && t.redirect) void this.redirect(x);
    else this.attempt(x);
  }

  private attempt(x: Exchange): void {
    this.picker.pick(x.route.pool, x.tried, (err, held) => this.picked(x, err, held));
  }

  private picked(x: Exchange, err: unknown, held: HeldLease | undefined): void {
    if (err !== undefined) {
      this.log.error({ err, reqId: x.requestId, pool: x.route.pool }, 'pick failed');
      x.t.reject(this.problems.storeUnavailable(), { 'retry-after': '1' });
      return;
    }
    if (x.t.clientGone) {
      held?.release(); // the client left while we were picking
      return;
    }
    if (!held) {
      x.t.reject(this.problems.noBackend(x.route.pool, x.tried), x.tried.length > 0 ? {} : { 'retry-after': '1' });
      return;
    }
    x.lease = held;
    x.backend = held.lease.backendId;
    x.t.forward(held.lease, x.requestId, (failure) => {
      if (failure) this.failed(x, held, failure); // delivered: the exchange runs on; its end releases and records
    });
  }

  private failed(x: Exchange, held: HeldLease, failure: AttemptFailure): void {
    if (x.t.clientGone) return; // the client went away: nothing to answer
    const { error } = failure;
    const backend = held.lease.backendId;
    const code = upstreamFailureCode(error);
    x.upstreamError = code;
    this.metrics.upstreamFailures.inc({ pool: x.route.pool, code });
    this.metrics.failed(x.route.pool, backend, code);
    if (failure.responseStarted) {
      this.log.warn({ reqId: x.requestId, backend, code }, 'upstream failed mid-response');
      x.t.cut(error);
      return;
    }
    if (error instanceof BodyTooLargeError || (error as { cause?: unknown }).cause instanceof BodyTooLargeError) {
      x.t.reject(this.problems.bodyTooLarge(), { connection: 'close' });
      return;
    }
    // Could not connect: skip that backend for a while (and tell the registry).
    if (failedBeforeSending(error)) this.picker.eject(x.route.pool, backend);
    // No answer at all (never connected, or a reused connection to a backend that just died):
    // a request that may be replayed goes to another backend.
    if (failedBeforeAnswer(error) && x.t.replayable() && x.tried.length < this.config.UPSTREAM_RETRIES) {
      held.release();
      x.lease = undefined;
      x.tried = [...x.tried, backend];
      this.attempt(x);
      return;
    }
    this.log.warn({ reqId: x.requestId, backend, code }, 'upstream failed');
    x.t.reject(this.problems.upstreamFailure(statusForUpstreamFailure(error), backend, code));
  }

  /**
   * Redirect ("iterative") mode: decide, reserve a pending slot under a fresh token id (or decide
   * locally while the store is away), answer 307 to the backend's public URL. The client repeats
   * method and body there; the backend verifies the token and claims the slot, or it lapses.
   */
  private async redirect(x: Exchange): Promise<void> {
    const keyRing = this.config.keyRing;
    if (!keyRing) throw new Error('redirect route without REDIRECT_KEYS'); // refused at start
    const tokenId = randomBytes(12).toString('base64url');
    const ttlMs = this.config.REDIRECT_TOKEN_TTL_MS;
    const decision = await this.picker.pickForRedirect(x.route.pool, x.tried, { tokenId, ttlMs }).catch((err: unknown) => {
      this.log.error({ err, reqId: x.requestId, pool: x.route.pool }, 'pick failed');
      return null;
    });
    if (decision === null) {
      x.t.reject(this.problems.storeUnavailable(), { 'retry-after': '1' });
      return;
    }
    if (x.t.clientGone) {
      if (decision) this.picker.cancel(decision);
      return;
    }
    if (!decision) {
      x.t.reject(this.problems.noBackend(x.route.pool, x.tried), { 'retry-after': '1' });
      return;
    }
    const { lease } = decision;
    x.backend = lease.backendId;
    const { pathAndQuery } = splitToken(x.t.req.url as string); // a token the client brought is not ours to pass on
    const token = signToken(keyRing, { method: x.t.req.method as string, pathAndQuery, backendId: lease.backendId, expiresAt: Date.now() + ttlMs, tokenId });
    x.t.redirect?.(`${lease.publicUrl}${withToken(pathAndQuery, token)}`);
  }

  private end(x: Exchange): void {
    x.lease?.release();
    x.t.abort();
    if (x.t.kind === 'session') this.metrics.sessions.dec({ pool: x.route.pool });
    x.status = x.t.finalStatus();
    x.kind = x.t.kind === 'session' ? 'session' : x.route.mode === 'redirect' ? 'redirect' : 'request';
    this.tracker.end(x);
  }
}
