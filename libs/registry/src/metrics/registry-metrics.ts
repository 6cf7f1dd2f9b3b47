import { Inject, Injectable } from '@nestjs/common';
import type { BalancerStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { Gauge, Registry } from 'prom-client';

/**
 * The cluster's load as Prometheus sees it, read from the store at scrape time: one scrape of the
 * registry shows every backend's load, whichever gateway or backend put it there.
 */
@Injectable()
export class RegistryMetrics {
  readonly registry = new Registry();
  private readonly gauges;

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
