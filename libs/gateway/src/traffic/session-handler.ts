import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { failedBeforeSending, forwardUpgrade, statusForUpstreamFailure, upstreamFailureCode, upstreamRequestHeaders } from '@lb/proxy';
import { problem, requestIdFrom, writeRawProblem, type Logger } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import type { GatewayMetrics } from '../metrics';
import { matchRoute } from '../routing/route-table';
import type { HeldLease } from '../leases/lease-book';
import type { ExchangeTracker } from './exchange-tracker';
import { gatewayProblems } from './gateway-problems';
import type { Picker } from './picker';

/**
 * WebSocket (any HTTP/1.1 Upgrade) sessions: one slot on the chosen backend from the handshake
 * until either side closes, however it closes. Upgrades are always proxied, whatever the route's
 * mode: a redirect cannot carry a WebSocket handshake across origins reliably.
 */
export class SessionHandler {
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

  readonly handle = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy()); // a reset client must not crash the process
    if (req.url === undefined || req.url[0] !== '/') {
      writeRawProblem(socket, this.problems.invalidTarget());
      return;
    }
    const route = matchRoute(this.config.routes, req.headers.host, req.url);
    if (!route) {
      writeRawProblem(socket, problem(404, 'no-route', 'no route of this gateway matches this host and path'));
      return;
    }
    if (this.tracker.full) {
      writeRawProblem(socket, this.problems.tooManySessions(), { 'retry-after': '1' });
      return;
    }
    const pool = route.pool;
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const startedAt = performance.now();
    const tried: string[] = [];
    let lease: HeldLease | undefined;
    let status = 0;
    this.tracker.begin(pool);
    this.metrics.sessions.inc({ pool });
    socket.once('close', () => {
      lease?.release();
      this.metrics.sessions.dec({ pool });
      this.tracker.end({
        requestId,
        method: req.method,
        url: req.url,
        pool,
        status: status || 499,
        backend: lease?.lease.backendId,
        startedAt,
        kind: 'session',
      });
    });
    const fail = (body: ReturnType<typeof problem>, headers?: Record<string, string>) => {
      status = body.status;
      writeRawProblem(socket, body, headers);
    };

    const attempt = async (): Promise<void> => {
      let held: HeldLease | undefined;
      try {
        held = await this.picker.pick(pool, tried);
      } catch (err) {
        this.log.error({ err, reqId: requestId, pool }, 'pick failed');
        fail(this.problems.storeUnavailable(), { 'retry-after': '1' });
        return;
      }
      if (socket.destroyed) {
        held?.release();
        return;
      }
      if (!held) {
        fail(this.problems.noBackend(pool, tried), tried.length > 0 ? {} : { 'retry-after': '1' });
        return;
      }
      const current = held.lease;
      lease = held;
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
              this.picker.eject(current.backendId);
              lease?.release();
              lease = undefined;
              tried.push(current.backendId);
              if (tried.length <= this.config.UPSTREAM_RETRIES) {
                void attempt();
                return;
              }
            }
            this.log.warn({ reqId: requestId, backend: current.backendId, code }, 'upgrade failed');
            fail(this.problems.upstreamFailure(statusForUpstreamFailure(outcome.error), current.backendId, code));
          }
        },
        () => socket.destroy(),
      );
    };
    void attempt();
  };
}
