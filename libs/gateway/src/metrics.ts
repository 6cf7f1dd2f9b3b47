import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one gateway, on its own registry so several gateways can share a process. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'lb_gateway_requests_total',
    help: 'Requests answered by the gateway, by pool and status code',
    labelNames: ['pool', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'lb_gateway_request_duration_seconds',
    help: 'Time from request arrival to the end of the response',
    labelNames: ['pool'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'lb_gateway_in_flight',
    help: 'Requests this gateway is forwarding right now',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly sessions = new Gauge({
    name: 'lb_gateway_sessions',
    help: 'Upgraded (WebSocket) sessions this gateway holds open',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly upstreamFailures = new Counter({
    name: 'lb_gateway_upstream_failures_total',
    help: 'Failed attempts to reach a backend, by error code',
    labelNames: ['pool', 'code'] as const,
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'lb_gateway_store_errors_total',
    help: 'Store calls that failed or missed their deadline (STORE_TIMEOUT_MS), by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly storeDegraded = new Gauge({
    name: 'lb_gateway_store_degraded',
    help: '1 while the store (Redis) does not answer in time and picks come from the local view',
    registers: [this.registry],
  });
  readonly storeDegradations = new Counter({
    name: 'lb_gateway_store_degradations_total',
    help: 'Times the store stopped answering in time (transitions to degraded)',
    registers: [this.registry],
  });
  readonly localPicks = new Counter({
    name: 'lb_gateway_local_picks_total',
    help: 'Picks made from the local view: the store was degraded, or knew no backend the view knows',
    labelNames: ['pool', 'reason'] as const,
    registers: [this.registry],
  });
  readonly reconciliations = new Counter({
    name: 'lb_gateway_lease_reconciliations_total',
    help: 'Lease tables written to the store (replace, never add), by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly backendRequests = new Counter({
    name: 'lb_gateway_backend_requests_total',
    help: 'Exchanges (requests, streams, sessions) each backend served through this gateway, however they ended',
    labelNames: ['pool', 'backend'] as const,
    registers: [this.registry],
  });
  readonly backendFailures = new Counter({
    name: 'lb_gateway_backend_failures_total',
    help: 'Failed attempts to reach or hear from each backend, by error code',
    labelNames: ['pool', 'backend', 'code'] as const,
    registers: [this.registry],
  });
  /** backendRequests' label children, bound once per pool and backend (the hot path hashes no labels), with their counts. */
  private readonly servedBy = new Map<string, Map<string, { readonly child: Counter.Internal; n: number }>>();
  private readonly failureCodes = new Set<string>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'lb_gateway_' });
  }

  /** One more exchange served by `backend`. */
  served(pool: string, backend: string): void {
    let byBackend = this.servedBy.get(pool);
    if (!byBackend) this.servedBy.set(pool, (byBackend = new Map()));
    let entry = byBackend.get(backend);
    if (!entry) byBackend.set(backend, (entry = { child: this.backendRequests.labels(pool, backend), n: 0 }));
    entry.child.inc();
    entry.n++;
  }

  /** One failed attempt on `backend`. */
  failed(pool: string, backend: string, code: string): void {
    this.failureCodes.add(code);
    this.backendFailures.inc({ pool, backend, code });
  }

  /** What each backend of each pool has served through this gateway so far (admin /status). */
  servedSoFar(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [pool, byBackend] of this.servedBy) out[pool] = Object.fromEntries([...byBackend].map(([id, e]) => [id, e.n]));
    return out;
  }

  /** A backend left its pool: its series go, so the label sets stay bounded by the fleet. */
  forgetBackend(pool: string, backend: string): void {
    this.servedBy.get(pool)?.delete(backend);
    this.backendRequests.remove(pool, backend);
    for (const code of this.failureCodes) this.backendFailures.remove(pool, backend, code);
  }
}
