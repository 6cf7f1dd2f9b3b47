import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { BalancerStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import type { Logger } from '@lb/runtime';
import type { RegistryConfig } from '../config';
import { REGISTRY_CONFIG, REGISTRY_LOGGER } from '../tokens';

/**
 * Evicts backends whose liveness lapsed (and reaps the leases of gateways that stopped beating),
 * then tells the gateways. Several registry replicas may sweep at once: eviction is atomic in the
 * store, so each backend is evicted, announced and logged by exactly one of them.
 */
@Injectable()
export class Sweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Logs a failing store once per outage, not once per tick. */
  private failing = false;

  constructor(
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    @Inject(REGISTRY_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: Sweeper.name });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), this.config.SWEEP_INTERVAL_MS);
    this.timer.unref(); // the HTTP server keeps the process alive, not this timer
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every pool (the timer's work; public for a caller that needs a sweep now). */
  async sweepOnce(): Promise<void> {
    for (const pool of await this.store.pools()) {
      if (this.stopped) return;
      const { evicted, reapedHolders, expiredPending } = await this.store.sweep(pool);
      for (const id of evicted) {
        this.log.info({ pool, backendId: id }, 'backend evicted: liveness lapsed');
        await this.store.publish({ type: 'evicted', pool, id });
      }
      for (const holder of reapedHolders) {
        this.log.warn({ pool, holder }, 'gateway stopped beating: its leases were released');
      }
      if (expiredPending > 0) this.log.debug({ pool, expiredPending }, 'redirect reservations expired unclaimed');
    }
  }

  private tick(): void {
    if (this.running) return; // a slow store: never stack sweeps
    this.running = this.sweepOnce()
      .then(() => {
        if (this.failing) this.log.info('sweeping again: the store answers');
        this.failing = false;
      })
      .catch((err: unknown) => {
        if (this.stopped || this.failing) return;
        this.failing = true;
        this.log.error({ err }, 'sweep failed; retrying every interval');
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
