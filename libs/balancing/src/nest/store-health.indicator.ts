import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { BalancerStore } from '../store/load-store';
import { BALANCER_STORE } from './tokens';

/** /health reports the store: "redis" up or down, or "memory" (always up). */
@Injectable()
export class StoreHealthIndicator {
  constructor(
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(timeoutMs = 1_000): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.store.kind);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: err instanceof Error ? err.message : String(err) });
    } finally {
      clearTimeout(timer);
    }
  }
}
