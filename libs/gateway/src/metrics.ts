import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A count kept as a plain number on the request path and handed to its counter at scrape time. */
interface Tally {
  n: number;
  published: number;
}

/**
 * One pool's per-exchange meters. prom-client hashes and validates the label set on every inc()
 * (bound children included), so the request path only bumps plain numbers here: the counters take
 * the difference when scraped (GatewayMetrics' collect hooks), and the in-flight gauge reads
 * `inFlight`. The duration histogram is observed per exchange through its child.
 */
export class PoolMeters {
  inFlight = 0;
  readonly duration: Histogram.Internal<'pool'>;
  /** status -> answers */
  readonly byStatus = new Map<number, Tally>();
  /** backend id -> exchanges it served (also admin /status). */
  readonly servedBy = new Map<string, Tally>();

  constructor(
    metrics: GatewayMetrics,
    readonly pool: string,
  ) {
    this.duration = metrics.duration.labels(pool);
  }

  /** An exchange ended with `status` after `seconds`, served by `backend` if one was chosen. */
  ended(status: number, seconds: number, backend: string | undefined): void {
    const answered = this.byStatus.get(status);
    if (answered) answered.n++;
    else this.byStatus.set(status, { n: 1, published: 0 });
    this.duration.observe(seconds);
    if (backend === undefined) return;
    const served = this.servedBy.get(backend);
    if (served) served.n++;
    else this.servedBy.set(backend, { n: 1, published: 0 });
  }
}

/** Hands what a tally counted since the last scrape to its counter. */
function publish(counter: Counter, labels: Record<string, string>, tally: Tally): void {
  if (tally.n > tally.published) counter.inc(labels, tally.n - tally.published);
  tally.published = tally.n;
}

/** Prometheus metrics of one gateway, on its own registry so several gateways can share a process. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly pools = new Map<string, PoolMeters>();
  readonly requests = new Counter({
    name: 'lb_gateway_requests_total',
    help: 'Requests answered by the gateway, by pool and status code',
    labelNames: ['pool', 'status'] as const,
    registers: [this.registry],
    collect: () => {
      for (const m of this.pools.values()) for (const [status, tally] of m.byStatus) publish(this.requests, { pool: m.pool, status: String(status) }, tally);
    },
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
    collect: () => {
      for (const meters of this.pools.values()) this.inFlight.set({ pool: meters.pool }, meters.inFlight);
    },
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
    collect: () => {
      for (const m of this.pools.values()) for (const [backend, tally] of m.servedBy) publish(this.backendRequests, { pool: m.pool, backend }, tally);
    },
  });
  readonly backendFailures = new Counter({
    name: 'lb_gateway_backend_failures_total',
    help: 'Failed attempts to reach or hear from each backend, by error code',
    labelNames: ['pool', 'backend', 'code'] as const,
    registers: [this.registry],
  });
  private readonly failureCodes = new Set<string>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'lb_gateway_' });
  }

  /** The meters of one pool, made on its first exchange. */
  pool(pool: string): PoolMeters {
    let meters = this.pools.get(pool);
    if (!meters) this.pools.set(pool, (meters = new PoolMeters(this, pool)));
    return meters;
  }

  /** One failed attempt on `backend`. */
  failed(pool: string, backend: string, code: string): void {
    this.failureCodes.add(code);
    this.backendFailures.inc({ pool, backend, code });
  }

  /** What each backend of each pool has served through this gateway so far (admin /status). */
  servedSoFar(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [pool, meters] of this.pools) out[pool] = Object.fromEntries([...meters.servedBy].map(([id, e]) => [id, e.n]));
    return out;
  }

  /** A backend left its pool: its series go, so the label sets stay bounded by the fleet. */
  forgetBackend(pool: string, backend: string): void {
    this.pools.get(pool)?.servedBy.delete(backend);
    this.backendRequests.remove(pool, backend);
    for (const code of this.failureCodes) this.backendFailures.remove(pool, backend, code);
  }
}
