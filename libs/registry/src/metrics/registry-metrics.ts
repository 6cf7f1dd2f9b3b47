import { Inject, Injectable } from '@nestjs/common';
import type { BalancerStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The cluster's load as Prometheus sees it, read from the store at scrape time: one scrape of the
 * registry shows every backend's load, whichever gateway or backend put it there. Two counters are
 * this process's own: what its sweeps evicted and reaped (each eviction and reap is done by one
 * registry replica, so sum them over the replicas).
 */
@Injectable()
export class RegistryMetrics {
  readonly registry = new Registry();
  private readonly gauges;
  private readonly evictions = new Counter({
    name: 'lb_registry_evictions_total',
    help: 'Backends this registry evicted because their liveness lapsed',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  private readonly reapedGateways = new Counter({
    name: 'lb_registry_reaped_gateways_total',
    help: 'Gateways whose leases this registry released because they stopped beating (a gateway died or lost the store)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  constructor(@Inject(BALANCER_STORE) private readonly store: BalancerStore) {
    const labelNames = ['pool', 'backend'] as const;
    this.gauges = {
      active: new Gauge({ name: 'lb_backend_active', help: 'Load a pick compares: max(gateway slots, backend report) + pending redirects', labelNames, registers: [this.registry] }),
      inflight: new Gauge({ name: 'lb_backend_gateway_slots', help: 'Slots the gateways hold on the backend', labelNames, registers: [this.registry] }),
      reported: new Gauge({ name: 'lb_backend_reported', help: 'The backend\u2019s own count of active connections', labelNames, registers: [this.registry] }),
      pending: new Gauge({ name: 'lb_backend_pending_redirects', help: 'Redirected clients not yet arrived', labelNames, registers: [this.registry] }),
      weight: new Gauge({ name: 'lb_backend_weight', help: 'Registered weight', labelNames, registers: [this.registry] }),
      draining: new Gauge({ name: 'lb_backend_draining', help: '1 while the backend drains', labelNames, registers: [this.registry] }),
      healthy: new Gauge({ name: 'lb_backend_healthy', help: '1 while the health checks find the backend up (only healthy backends are picked)', labelNames, registers: [this.registry] }),
    };
  }

  /** A pool this registry sweeps: its counters exist from 0 on, so rate() and increase() see the first event. */
  sweeping(pool: string): void {
    this.evictions.inc({ pool }, 0);
    this.reapedGateways.inc({ pool }, 0);
  }

  evicted(pool: string): void {
    this.evictions.inc({ pool });
  }

  reapedGateway(pool: string): void {
    this.reapedGateways.inc({ pool });
  }

  /** Reads the store once for every gauge (backends that left disappear), then renders. */
  async scrape(): Promise<string> {
    const gauges = this.gauges;
    const pools = await this.store.pools();
    const listings = await Promise.all(pools.map(async (pool) => ({ pool, views: await this.store.list(pool) })));
    for (const gauge of Object.values(gauges)) gauge.reset();
    for (const { pool, views } of listings) {
      for (const view of views) {
        const labels = { pool, backend: view.id };
        gauges.active.set(labels, view.active);
        gauges.inflight.set(labels, view.inflight);
        gauges.reported.set(labels, view.reported);
        gauges.pending.set(labels, view.pending);
        gauges.weight.set(labels, view.weight);
        gauges.draining.set(labels, view.state === 'draining' ? 1 : 0);
        gauges.healthy.set(labels, view.health === 'up' ? 1 : 0);
      }
    }
    return this.registry.metrics();
  }
}
