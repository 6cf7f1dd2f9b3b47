import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { LastingSubscription, withDeadline, type BalancerStore, type MembershipEvent, StoreGuard } from '@lb/balancing';
import { UpstreamPools } from '@lb/proxy';
import type { Logger } from '@lb/runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { LeaseBook } from '../leases/lease-book';
import { GatewayMetrics } from '../metrics';
import { poolsOf } from '../routing/route-table';
import { StoreRecovery } from '../store-recovery';
import { GATEWAY_LOGGER } from '../tokens';
import { LocalView } from './local-view';

/** A refresh is background work: it may take longer than a pick, and a slow one never trips the guard. */
const REFRESH_DEADLINE_MS = 2_000;
/** How often a subscription that failed (store away at start) is tried again. */
const SUBSCRIBE_RETRY_MS = 1_000;

/**
 * Feeds the LocalView: a snapshot of every routed pool at start, membership events as they come
 * (a drain or an eviction applies at once; a registration triggers a refresh for the record), and
 * a refresh every VIEW_REFRESH_MS while the store answers. Also closes the upstream connections
 * of backends that left.
 */
@Injectable()
export class MembershipView implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly pools: readonly string[];
  private subscription: LastingSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    private readonly guard: StoreGuard,
    private readonly view: LocalView,
    private readonly book: LeaseBook,
    private readonly upstreams: UpstreamPools,
    private readonly metrics: GatewayMetrics,
    recovery: StoreRecovery,
    @Inject(GATEWAY_LOGGER) private readonly log: Logger,
  ) {
    this.pools = poolsOf(config.routes);
    recovery.add(() => this.refreshAll());
  }

  /** Every routed pool's membership is known (listed at least once). */
  get known(): boolean {
    return this.pools.every((pool) => this.view.isKnown(pool));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.refreshAll().catch((err: unknown) => this.log.warn({ err }, 'membership not listed at start (store away): will retry'));
    this.subscription = new LastingSubscription(this.store, (event) => this.onEvent(event), {
      retryMs: SUBSCRIBE_RETRY_MS,
      onFailure: (err) => this.log.warn({ err }, 'cannot subscribe to membership events yet; retrying'),
    });
    await this.subscription.started; // the first attempt; a failed one retries in the background
    this.timer = setInterval(() => {
      if (this.guard.isUp) void this.refreshAll().catch(() => undefined);
    }, this.config.VIEW_REFRESH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.subscription?.stop();
  }

  /** Lists every routed pool (coalesced: one refresh at a time); rejects if any list failed. */
  refreshAll(): Promise<void> {
    this.refreshing ??= Promise.all(this.pools.map((pool) => this.refresh(pool)))
      .then(() => undefined)
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private async refresh(pool: string): Promise<void> {
    const views = await withDeadline(this.store.list(pool), REFRESH_DEADLINE_MS);
    this.view.applySnapshot(pool, views, (id) => this.book.own(pool, id), Date.now());
  }

  private onEvent(event: MembershipEvent): void {
    if (!this.pools.includes(event.pool)) return;
    this.log.info({ event }, 'membership changed');
    const left = this.view.applyEvent(event);
    if (left) {
      void this.upstreams.retire(left.url);
      this.metrics.forgetBackend(event.pool, event.id);
    }
    if (event.type === 'registered' || event.type === 'activated') void this.refresh(event.pool).catch(() => undefined);
  }
}
