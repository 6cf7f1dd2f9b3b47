import { Controller, Get, Header, Inject } from '@nestjs/common';
import { StoreGuard, type GatewayPoolStatus, type GatewayStatus } from '@lb/balancing';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { LeaseBook } from '../leases/lease-book';
import { GatewayMetrics } from '../metrics';
import { GatewayPresence } from '../presence';
import { poolsOf } from '../routing/route-table';

/**
 * GET /status on the admin port: this replica at a glance, for the registry's dashboard (which
 * finds replicas through their announcements in the store) and for a person with curl.
 */
@Controller('status')
export class StatusController {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly guard: StoreGuard,
    private readonly book: LeaseBook,
    private readonly metrics: GatewayMetrics,
    private readonly presence: GatewayPresence,
  ) {}

  @Get()
  @Header('cache-control', 'no-store')
  status(): GatewayStatus {
    const served = this.metrics.servedSoFar();
    const pools: Record<string, GatewayPoolStatus> = {};
    let inFlight = 0;
    for (const pool of poolsOf(this.config.routes)) {
      inFlight += this.book.total(pool);
      pools[pool] = { leases: this.book.heldIn(pool), served: served[pool] ?? {} };
    }
    return {
      id: this.config.gatewayId,
      startedAt: this.presence.startedAt,
      store: { state: this.guard.state, since: this.guard.stateSince },
      inFlight,
      pools,
    };
  }
}
