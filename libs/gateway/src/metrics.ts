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
    help: 'Picks or releases that failed because the load store (Redis) did not answer',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'lb_gateway_' });
  }
}
