import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DEFAULT_POOL, planEviction, type BalancerStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import type { Logger } from '@lb/runtime';
import type { RegistryConfig } from '../config';
import { RegistryMetrics } from '../metrics/registry-metrics';
import { REGISTRY_CONFIG, REGISTRY_LOGGER } from '../tokens';
import { isListening } from './listening';
import { StoreTrouble } from './store-trouble';

/** How long the sweep waits for a backend to accept a connection before it counts as down. */
const CONFIRM_TIMEOUT_MS = 1_000;

/**
 * Judges liveness (see core/eviction-plan.ts for the rule), evicts and announces, reaps the leases
 * of gateways that stopped beating, expires unclaimed redirect slots, and declares the pools again
 * if the store lost them. Several registry replicas may sweep at once: eviction re-checks the
 * deadline atomically in the store, so each backend is evicted, announced and logged by one of them.
 */
@Injectable()
export class Sweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Logs a failing store once per outage, not once per tick. */
  private failing = false;
  /** Logs extended deadlines once per stall, not once per tick. */
  private forgiving = false;
  /** "pool/id" of lapsed backends kept because they still accept connections (logged once each). */
  private readonly kept = new Set<string>();
  /** pool -> times of recent evictions, for the per-TTL share. */
  private readonly evictedAt = new Map<string, number[]>();
  private readonly stallMs: number;

  constructor(
    @Inject(BALANCER_STORE) private readonly store: BalancerStore,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    private readonly trouble: StoreTrouble,
    private readonly metrics: RegistryMetrics,
    @Inject(REGISTRY_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: Sweeper.name });
    // A read slower than this means beats may have waited as long: they could not be recorded in time.
    this.stallMs = Math.max(50, Math.floor(config.LIVENESS_TTL_MS / 4));
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
    const pools = await this.timed(() => this.store.pools());
    const declared = this.config.REGISTRY_POOLS ?? [DEFAULT_POOL];
    if (declared.some((pool) => !pools.includes(pool))) {
      // The store came back empty (or was flushed): gateways check their routes against these.
      await this.store.declarePools(declared);
      this.log.warn({ pools: declared }, 'the store did not know the declared pools (it came back empty?): declared again');
    }
    let forgave = 0;
    for (const pool of new Set([...pools, ...declared])) {
      if (this.stopped) return;
      this.metrics.sweeping(pool);
      forgave += await this.judgeLiveness(pool);
      const { reapedHolders, expiredPending } = await this.store.sweep(pool);
      for (const holder of reapedHolders) {
        this.metrics.reapedGateway(pool);
        this.log.warn({ pool, holder }, 'gateway stopped beating: its leases were released');
      }
      if (expiredPending > 0) this.log.debug({ pool, expiredPending }, 'redirect reservations expired unclaimed');
    }
    if (forgave === 0) this.forgiving = false;
  }

  /** Evicts what the plan allows; returns how many deadlines it extended instead. */
  private async judgeLiveness(pool: string): Promise<number> {
    const { lapsed, size } = await this.timed(() => this.store.lapsed(pool));
    for (const key of this.kept) if (key.startsWith(`${pool}/`) && !lapsed.some((l) => `${pool}/${l.id}` === key)) this.kept.delete(key);
    if (lapsed.length === 0) return 0;
    const ttlMs = this.config.LIVENESS_TTL_MS;
    const plan = planEviction({
      lapsed,
      poolSize: size,
      storeHealthyForMs: this.trouble.healthyForMs(),
      ttlMs,
      maxShare: this.config.EVICTION_MAX_SHARE,
      recentlyEvicted: this.recentEvictions(pool),
    });
    if (plan.forgive.length > 0) {
      const extended = await this.store.extendLiveness(pool, plan.forgive, ttlMs);
      if (extended > 0 && !this.forgiving) {
        this.forgiving = true;
        this.log.warn(
          { pool, backends: extended, storeHealthyForMs: this.trouble.healthyForMs() },
          'liveness deadlines extended, not evicted: the store stalled, failed or came back within the last liveness TTL, so beats may not have been recorded',
        );
      }
      return extended;
    }
    const evict = [...plan.evict, ...(await this.confirmedDown(pool, plan.confirm))];
    const evicted = await this.store.evict(pool, evict);
    const now = Date.now();
    for (const id of evicted) {
      this.evictedAt.set(pool, [...(this.evictedAt.get(pool) ?? []), now]);
      this.metrics.evicted(pool);
      this.log.info({ pool, backendId: id }, 'backend evicted: liveness lapsed');
      await this.store.publish({ type: 'evicted', pool, id });
    }
    return 0;
  }

  /** Of `ids`, those nothing listens for any more; the others stay (lapsed) and are logged once. */
  private async confirmedDown(pool: string, ids: readonly string[]): Promise<string[]> {
    const checks = await Promise.all(
      ids.map(async (id) => {
        const view = await this.store.get(pool, id);
        return { id, down: !view || !(await isListening(view.url, CONFIRM_TIMEOUT_MS)) };
      }),
    );
    for (const { id, down } of checks) {
      if (down || this.kept.has(`${pool}/${id}`)) continue;
      this.kept.add(`${pool}/${id}`);
      this.log.warn(
        { pool, backendId: id, maxShare: this.config.EVICTION_MAX_SHARE },
        'liveness lapsed but the backend still accepts connections, and evicting it would exceed EVICTION_MAX_SHARE of its pool: kept for now',
      );
    }
    return checks.filter((c) => c.down).map((c) => c.id);
  }

  private recentEvictions(pool: string): number {
    const cutoff = Date.now() - this.config.LIVENESS_TTL_MS;
    const recent = (this.evictedAt.get(pool) ?? []).filter((t) => t > cutoff);
    this.evictedAt.set(pool, recent);
    return recent.length;
  }

  /** A store read; one that took longer than a beat could wait marks the store as troubled. */
  private async timed<T>(read: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const result = await read();
    if (Date.now() - started > this.stallMs) this.trouble.mark();
    return result;
  }

  private tick(): void {
    if (this.running) return; // a slow store: never stack sweeps
    this.running = this.sweepOnce()
      .then(() => {
        if (this.failing) this.log.info('sweeping again: the store answers');
        this.failing = false;
      })
      .catch((err: unknown) => {
        this.trouble.mark();
        if (this.stopped || this.failing) return;
        this.failing = true;
        this.log.error({ err }, 'sweep failed; retrying every interval');
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
