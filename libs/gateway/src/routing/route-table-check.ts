import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { MembershipStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { ConfigError } from '@lb/runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { poolsOf } from './route-table';

/**
 * A route to a pool nobody declared is a typo that would answer 503 forever: with an explicit
 * GATEWAY_ROUTES the gateway refuses to start instead, naming the pool and the known ones.
 */
@Injectable()
export class RouteTableCheck implements OnModuleInit {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(BALANCER_STORE) private readonly store: MembershipStore,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.GATEWAY_ROUTES) return;
    const known = new Set(await this.store.pools());
    const unknown = poolsOf(this.config.routes).filter((pool) => !known.has(pool));
    if (unknown.length === 0) return;
    throw new ConfigError(
      `GATEWAY_ROUTES=${JSON.stringify(this.config.GATEWAY_ROUTES)}: unknown pool ${unknown.map((p) => `"${p}"`).join(', ')}; ` +
        `known pools: ${[...known].sort().join(', ') || '(none)'} (declare pools with the registry's REGISTRY_POOLS)`,
    );
  }
}
