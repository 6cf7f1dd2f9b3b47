import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { withDeadline, type MembershipStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { ConfigError, type Logger } from '@lb/runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { GATEWAY_LOGGER } from '../tokens';
import { poolsOf } from './route-table';

/** How long the check waits for the store at start before starting without it. */
const CHECK_DEADLINE_MS = 3_000;

/**
 * A route to a pool nobody declared is a typo that would answer 503 forever: with an explicit
 * GATEWAY_ROUTES the gateway refuses to start instead, naming the pool and the known ones. A store
 * that does not answer at start skips the check (with a warning): a Redis outage must not keep
 * gateways from starting.
 */
@Injectable()
export class RouteTableCheck implements OnModuleInit {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(BALANCER_STORE) private readonly store: MembershipStore,
    @Inject(GATEWAY_LOGGER) private readonly log: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.GATEWAY_ROUTES) return;
    let pools: string[];
    try {
      pools = await withDeadline(this.store.pools(), CHECK_DEADLINE_MS);
    } catch (err) {
      this.log.warn({ err }, 'cannot check GATEWAY_ROUTES against the known pools: the store does not answer; starting anyway');
      return;
    }
    const known = new Set(pools);
    const unknown = poolsOf(this.config.routes).filter((pool) => !known.has(pool));
    if (unknown.length === 0) return;
    throw new ConfigError(
      `GATEWAY_ROUTES=${JSON.stringify(this.config.GATEWAY_ROUTES)}: unknown pool ${unknown.map((p) => `"${p}"`).join(', ')}; ` +
        `known pools: ${[...known].sort().join(', ') || '(none)'} (declare pools with the registry's REGISTRY_POOLS)`,
    );
  }
}
