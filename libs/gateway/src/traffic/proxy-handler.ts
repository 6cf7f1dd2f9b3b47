import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { LeaseHandle, type Lease, type LoadStore } from '@lb/balancing';
import {
  BodyLimit,
  BodyTooLargeError,
  failedBeforeSending,
  forwardRequest,
  forwardUpgrade,
  statusForUpstreamFailure,
  upstreamFailureCode,
  upstreamRequestHeaders,
  type ForwardOutcome,
  type UpstreamPools,
} from '@lb/proxy';
import { problem, writeProblem, writeRawProblem, type Logger, type Problem } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import type { GatewayMetrics } from '../metrics';
import { Ejections } from './ejections';
import { requestIdFor } from './request-id';

/** Methods that may be replayed on another backend when the first one could not be reached. */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly startedAt: number;
  readonly pool: string;
  readonly hasBody: boolean;
  readonly knownLength: boolean;
  /** Backends this request already failed on. */
  readonly tried: string[];
  lease?: LeaseHandle;
  abortUpstream?: (reason: Error) => void;
  upstreamError?: string;
}

/**
 * The traffic path, one function per step and no framework on it: pick and reserve (one Redis
 * round trip), forward, and give the slot back exactly once when the exchange ends however it
 * ends. The release is fire-and-forget, so it never delays the response.
 */
export class ProxyHandler {
  private readonly ejections: Ejections;
  private inFlightCount = 0;
  /** Origin of each backend this gateway has sent to, so its pool can be closed when it leaves. */
  readonly originsById = new Map<string, string>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly store: LoadStore,
    private readonly pools: UpstreamPools,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {
    this.ejections = new Ejections(config.UPSTREAM_EJECT_MS);
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIdFor(req.headers['x-request-id']);
    const pool = this.config.GATEWAY_POOL;
    const exchange: Exchange = {
      req,
      res,
      requestId,
      startedAt: performance.now(),
      pool,
      hasBody: req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0',
      knownLength: req.headers['content-length'] !== undefined,
      tried: [],
    };
    this.inFlightCount++;
    this.metrics.inFlight.inc({ pool });
    res.setHeader('x-request-id', requestId);
    res.once('close', () => this.onClose(exchange));

    if (this.inFlightCount > this.config.GATEWAY_MAX_SESSIONS) {
      this.reject(exchange, this.tooManySessions(), { 'retry-after': '1' });
      return;
    }
    // No open proxy: only origin-form targets ("/path?query") are forwarded, to registered backends.
    if (req.url === undefined || req.url[0] !== '/') {
      this.reject(exchange, problem(400, 'invalid-target', 'only origin-form request targets (starting with "/") are accepted', { field: 'request-target' }));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.config.GATEWAY_MAX_BODY_BYTES) {
      this.reject(exchange, this.bodyTooLarge(), { connection: 'close' });
      return;
    }
    void this.attempt(exchange);
  };

  private async attempt(x: Exchange): Promise<void> {
    let lease: Lease | undefined;
    try {
      lease = await this.reserve(x);
    } catch (err) {
      this.metrics.storeErrors.inc({ operation: 'reserve' });
      this.log.error({ err, reqId: x.requestId, pool: x.pool }, 'load store unavailable');
      this.reject(x, problem(503, 'store-unavailable', 'the load store cannot be reached; try again shortly'), { 'retry-after': '1' });
      return;
    }
    if (x.res.destroyed) {
      // The client left while we were picking: give the slot back at once.
      if (lease) new LeaseHandle(lease, this.store, this.onReleaseError).release();
      return;
    }
    if (!lease) {
      this.reject(
        x,
        x.tried.length > 0 // every backend left to try has failed this request already
          ? problem(502, 'upstream-failed', `no backend of pool "${x.pool}" could be reached (tried ${x.tried.join(', ')})`)
          : problem(503, 'no-backend', `no live backend in pool "${x.pool}"`),
        x.tried.length > 0 ? {} : { 'retry-after': '1' },
      );
      return;
    }
    x.lease = new LeaseHandle(lease, this.store, this.onReleaseError);
    this.originsById.set(lease.backendId, lease.url);
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
      (outcome) => this.onUpstreamDone(x, lease as Lease, outcome),
    );
    x.abortUpstream = (reason) => upstream.abort(reason);
  }

  /**
   * A WebSocket (or other Upgrade) session: one slot on its backend from the handshake until
   * either side closes, however it closes.
   */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pool = this.config.GATEWAY_POOL;
    if (this.inFlightCount >= this.config.GATEWAY_MAX_SESSIONS) {
      writeRawProblem(socket, this.tooManySessions(), { 'retry-after': '1' });
      return;
    }
    if (req.url === undefined || req.url[0] !== '/') {
      writeRawProblem(socket, problem(400, 'invalid-target', 'only origin-form request targets (starting with "/") are accepted', { field: 'request-target' }));
      return;
    }
    const requestId = requestIdFor(req.headers['x-request-id']);
    const startedAt = performance.now();
    this.inFlightCount++;
    this.metrics.inFlight.inc({ pool });
    this.metrics.sessions.inc({ pool });
    socket.on('error', () => socket.destroy()); // a reset client must not crash the process
    let lease: LeaseHandle | undefined;
    let status = 0;
    socket.once('close', () => {
      lease?.release();
      this.inFlightCount--;
      this.metrics.inFlight.dec({ pool });
      this.metrics.sessions.dec({ pool });
      this.metrics.requests.inc({ pool, status: String(status || 499) });
      if (this.config.GATEWAY_ACCESS_LOG) {
        this.log.info(
          { req: { id: requestId, method: req.method, url: req.url }, res: { statusCode: status || 499 }, pool, backend: lease?.lease.backendId, durationMs: Math.round(performance.now() - startedAt) },
          'session',
        );
      }
    });
    const tried: string[] = [];
    const attempt = async (): Promise<void> => {
      let reserved: Lease | undefined;
      try {
        reserved = await this.reservePick(pool, tried);
      } catch (err) {
        this.metrics.storeErrors.inc({ operation: 'reserve' });
        this.log.error({ err, reqId: requestId, pool }, 'load store unavailable');
        status = 503;
        writeRawProblem(socket, problem(503, 'store-unavailable', 'the load store cannot be reached; try again shortly'), { 'retry-after': '1' });
        return;
      }
      if (socket.destroyed) {
        if (reserved) new LeaseHandle(reserved, this.store, this.onReleaseError).release();
        return;
      }
      if (!reserved) {
        status = tried.length > 0 ? 502 : 503;
        writeRawProblem(socket, tried.length > 0 ? problem(502, 'upstream-failed', `no backend of pool "${pool}" could be reached`) : problem(503, 'no-backend', `no live backend in pool "${pool}"`));
        return;
      }
      const current = reserved;
      lease = new LeaseHandle(current, this.store, this.onReleaseError);
      this.originsById.set(current.backendId, current.url);
      forwardUpgrade(
        socket,
        head,
        {
          origin: current.url,
          path: req.url as string,
          method: req.method as string,
          headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { clientIp: req.socket.remoteAddress, proto: 'http', requestId }),
          upgrade: String(req.headers.upgrade),
          connectTimeoutMs: this.config.UPSTREAM_CONNECT_TIMEOUT_MS,
          idleTimeoutMs: this.config.GATEWAY_SESSION_IDLE_TIMEOUT_MS,
        },
        (outcome) => {
          if (outcome.kind === 'upgraded') status = 101;
          else if (outcome.kind === 'refused') status = outcome.status;
          else {
            const code = upstreamFailureCode(outcome.error);
            this.metrics.upstreamFailures.inc({ pool, code });
            if (failedBeforeSending(outcome.error) && !socket.destroyed) {
              this.ejections.eject(current.backendId);
              lease?.release();
              lease = undefined;
              tried.push(current.backendId);
              if (tried.length <= this.config.UPSTREAM_RETRIES) {
                void attempt();
                return;
              }
            }
            status = statusForUpstreamFailure(outcome.error);
            writeRawProblem(socket, problem(status, 'upstream-failed', `backend ${current.backendId} failed (${code})`));
          }
        },
        () => socket.destroy(),
      );
    };
    void attempt();
  };

  private reserve(x: Exchange): Promise<Lease | undefined> {
    return this.reservePick(x.pool, x.tried);
  }

  private async reservePick(pool: string, tried: readonly string[]): Promise<Lease | undefined> {
    const ejected = this.ejections.current();
    const exclude = ejected.length === 0 ? tried : [...new Set([...ejected, ...tried])];
    const lease = await this.store.reserve(pool, this.config.gatewayId, { exclude });
    // Every backend ejected: try them anyway rather than refuse (they may be back).
    if (!lease && ejected.length > 0) return this.store.reserve(pool, this.config.gatewayId, { exclude: tried });
    return lease;
  }

  private onUpstreamDone(x: Exchange, lease: Lease, outcome: ForwardOutcome): void {
    if (outcome.ok) return; // the response is complete; 'close' releases and logs
    const { error } = outcome;
    if (x.res.destroyed && !x.res.writableFinished) return; // client went away: nothing to answer
    const code = upstreamFailureCode(error);
    x.upstreamError = code;
    this.metrics.upstreamFailures.inc({ pool: x.pool, code });
    if (outcome.responseStarted) {
      // Mid-body failure: the status line is gone, so cut the connection rather than end cleanly.
      this.log.warn({ reqId: x.requestId, backend: lease.backendId, code }, 'upstream failed mid-response');
      x.res.destroy(error);
      return;
    }
    if (error instanceof BodyTooLargeError || (error as { cause?: unknown }).cause instanceof BodyTooLargeError) {
      this.reject(x, this.bodyTooLarge(), { connection: 'close' });
      return;
    }
    if (failedBeforeSending(error)) {
      this.ejections.eject(lease.backendId);
      if (this.mayRetry(x)) {
        x.lease?.release();
        x.lease = undefined;
        x.tried.push(lease.backendId);
        void this.attempt(x);
        return;
      }
    }
    this.log.warn({ reqId: x.requestId, backend: lease.backendId, code }, 'upstream failed');
    const status = statusForUpstreamFailure(error);
    this.reject(
      x,
      status === 504
        ? problem(504, 'upstream-timeout', `backend ${lease.backendId} did not answer in time`)
        : problem(502, 'upstream-failed', `backend ${lease.backendId} failed (${code})`),
    );
  }

  private mayRetry(x: Exchange): boolean {
    return !x.hasBody && RETRYABLE_METHODS.has(x.req.method as string) && x.tried.length < this.config.UPSTREAM_RETRIES;
  }

  private onClose(x: Exchange): void {
    x.lease?.release();
    if (!x.res.writableFinished) x.abortUpstream?.(new Error('client closed the connection'));
    this.inFlightCount--;
    const status = x.res.writableFinished ? x.res.statusCode : 499; // 499: client closed first (nginx's convention)
    const seconds = (performance.now() - x.startedAt) / 1000;
    this.metrics.inFlight.dec({ pool: x.pool });
    this.metrics.requests.inc({ pool: x.pool, status: String(status) });
    this.metrics.duration.observe({ pool: x.pool }, seconds);
    if (this.config.GATEWAY_ACCESS_LOG) {
      this.log.info(
        {
          req: { id: x.requestId, method: x.req.method, url: x.req.url },
          res: { statusCode: status },
          pool: x.pool,
          backend: x.lease?.lease.backendId,
          upstreamError: x.upstreamError,
          durationMs: Math.round(seconds * 1e4) / 10,
        },
        'request',
      );
    }
  }

  private reject(x: Exchange, body: ReturnType<typeof problem>, headers: Record<string, string> = {}): void {
    writeProblem(x.res, body, headers);
  }

  private tooManySessions(): Problem {
    return problem(503, 'too-many-sessions', `this gateway holds its limit of ${this.config.GATEWAY_MAX_SESSIONS} concurrent sessions`);
  }

  private bodyTooLarge() {
    return problem(413, 'body-too-large', `request bodies are limited to ${this.config.GATEWAY_MAX_BODY_BYTES} bytes`, {
      field: 'body',
      allowed: `at most ${this.config.GATEWAY_MAX_BODY_BYTES} bytes`,
    });
  }

  private readonly onReleaseError = (err: unknown, lease: Lease): void => {
    // The holder's lease table still has the slot; it is reaped if this gateway stops beating.
    this.metrics.storeErrors.inc({ operation: 'release' });
    this.log.error({ err, backend: lease.backendId, pool: lease.pool }, 'release failed');
  };
}
