import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { StoreGuard, type GatewayDirectory, type LoadStore } from '@lb/balancing';
import type { Logger } from '@lb/runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { GatewayMetrics } from '../metrics';
import { poolsOf } from '../routing/route-table';
import { GatewayPresence } from '../presence';
import { StoreRecovery } from '../store-recovery';
import { GATEWAY_LOGGER } from '../tokens';
import { LeaseBook } from './lease-book';

/** How soon a pool marked dirty while the store answers is reconciled (coalesces a burst of local picks). */
const RECONCILE_DELAY_MS = 100;

/**
 * Keeps the store's copy of this gateway's lease tables true. Every LEASE_TTL_MS / 3 it beats for
 * each pool it routes to (so a crashed gateway's slots are reaped by the registry), or, for a pool
 * whose copy may be wrong, writes the whole table instead (replace, never add). A pool turns
 * dirty after a local pick, a release the store did not take, a beat the store did not recognise,
 * and every outage; recover() (run by the StoreGuard before it says "up" again) rewrites them all.
 */
@Injectable()
export class LeaseSync implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private readonly pools: readonly string[];

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(BALANCER_STORE) private readonly store: LoadStore & GatewayDirectory,
    private readonly guard: StoreGuard,
    private readonly book: LeaseBook,
    private readonly metrics: GatewayMetrics,
    private readonly recovery: StoreRecovery,
    private readonly presence: GatewayPresence,
    @Inject(GATEWAY_LOGGER) private readonly log: Logger,
  ) {
    this.pools = poolsOf(config.routes);
    book.onDirty = () => this.scheduleReconcile();
    recovery.add(() => this.recover());
  }

  onModuleInit(): void {
    for (const pool of this.pools) this.book.markDirty(pool); // the first write is a full table
    void this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.config.LEASE_TTL_MS / 3)));
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  /** A pool turned dirty: reconcile it shortly if the store answers (else recovery will). */
  scheduleReconcile(): void {
    if (this.soon || !this.guard.isUp) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.tick();
    }, RECONCILE_DELAY_MS);
    this.soon.unref();
  }

  /** Writes every routed pool's table, straight to the store (the guard's recovery runs this). */
  async recover(): Promise<void> {
    for (const pool of this.pools) this.book.markDirty(pool);
    await Promise.all(this.pools.map((pool) => this.reconcile(pool, (call) => call())));
  }

  private async tick(): Promise<void> {
    if (!this.guard.isUp) return;
    const guarded = <T>(call: () => Promise<T>) => this.guard.call(call);
    const adminUrl = this.presence.adminUrl;
    if (adminUrl) {
      // So the registry (its dashboard) can find this replica; lapses with the leases' TTL.
      const info = { id: this.config.gatewayId, adminUrl, pools: this.pools, startedAt: this.presence.startedAt };
      this.store.announceGateway(info, this.config.LEASE_TTL_MS).catch(() => undefined);
    }
    await Promise.all(
      this.pools.map(async (pool) => {
        try {
          if (this.book.isDirty(pool)) {
            await this.reconcile(pool, guarded);
            return;
          }
          const known = await guarded(() => this.store.beatHolder(pool, this.config.gatewayId, this.config.LEASE_TTL_MS));
          if (!known) {
            // The store did not know this gateway: a fresh Redis, or our leases were reaped (this
            // process stalled longer than LEASE_TTL_MS). Our table is the truth: write it.
            this.recovery.forgotten();
            this.book.markDirty(pool);
            await this.reconcile(pool, guarded);
          }
        } catch {
          // The guard has turned degraded; its recovery reconciles.
        }
      }),
    );
  }

  private async reconcile(pool: string, run: <T>(call: () => Promise<T>) => Promise<T>): Promise<void> {
    if (!this.book.isDirty(pool)) return;
    const snapshot = this.book.snapshot(pool);
    try {
      await run(() => this.store.reconcile(pool, this.config.gatewayId, snapshot.held, this.config.LEASE_TTL_MS));
      snapshot.landed();
      this.metrics.reconciliations.inc({ result: 'ok' });
      this.log.debug({ pool, slots: [...snapshot.held.values()].reduce((a, b) => a + b, 0) }, 'lease table written');
    } catch (err) {
      snapshot.failed();
      this.metrics.reconciliations.inc({ result: 'failed' });
      throw err;
    }
  }
}
