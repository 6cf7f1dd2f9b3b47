import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { BALANCER_STORE } from '@lb/balancing/nest';
import type { LoadStore } from '@lb/balancing';
import type { Logger } from '@lb/runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { GATEWAY_LOGGER } from './tokens';

/**
 * Keeps this gateway's reservations alive in the store. If the process dies, the beats stop and
 * the registry's sweep gives its slots back within LEASE_TTL_MS, so counts heal after a crash.
 */
@Injectable()
export class HolderBeat implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(BALANCER_STORE) private readonly store: LoadStore,
    @Inject(GATEWAY_LOGGER) private readonly log: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.beat().catch((err: unknown) => this.log.warn({ err }, 'first lease beat failed; retrying'));
    this.timer = setInterval(() => {
      this.beat().catch((err: unknown) => this.log.warn({ err }, 'lease beat failed'));
    }, Math.max(100, Math.floor(this.config.LEASE_TTL_MS / 3)));
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    const pools = new Set(this.config.routes.map((r) => r.pool));
    await Promise.all([...pools].map((pool) => this.store.beatHolder(pool, this.config.gatewayId, this.config.LEASE_TTL_MS)));
  }
}
