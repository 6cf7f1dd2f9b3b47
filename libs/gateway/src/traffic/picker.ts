import type { EventBus, Lease, LoadStore, ReserveOptions, StoreGuard } from '@lb/balancing';
import type { GatewayConfig } from '../config';
import type { HeldLease, LeaseBook } from '../leases/lease-book';
import type { GatewayMetrics } from '../metrics';
import type { LocalView } from '../view/local-view';
import { Ejections } from './ejections';

/** A redirect decision: `reserved` when the store holds a pending slot under the token id. */
export interface RedirectPick {
  readonly lease: Lease;
  readonly reserved: boolean;
}

type LocalReason = 'store-unavailable' | 'store-empty';

/**
 * One pick = one store call (one Redis round trip) under the guard's deadline: the configured
 * policy over the shared view, minus backends this gateway saw refuse connections and those this
 * request already failed on. When the store is degraded or late, or, just after it came back,
 * knows no backend that the local view knows (a Redis that restarted empty, before the agents
 * registered again), the pick comes from the local view instead, and the request is forwarded
 * all the same.
 */
export class Picker {
  private readonly ejections: Ejections;
  private turn = 0;
  /** Until then, a store that knows no eligible backend may have lost them (see distrustEmptyStore). */
  private emptyStoreSuspectUntil = 0;

  constructor(
    private readonly config: GatewayConfig,
    private readonly store: LoadStore & Pick<EventBus, 'publish'>,
    private readonly guard: StoreGuard,
    private readonly view: LocalView,
    private readonly book: LeaseBook,
    private readonly metrics: GatewayMetrics,
    private readonly random: () => number = Math.random,
  ) {
    this.ejections = new Ejections(config.UPSTREAM_EJECT_MS);
  }

  /** A slot on the chosen backend, held until the exchange ends; undefined when no backend is eligible. */
  async pick(pool: string, tried: readonly string[]): Promise<HeldLease | undefined> {
    const choice = await this.choose(pool, tried);
    return choice && this.book.hold(choice.lease, choice.inStore);
  }

  /**
   * Redirect mode: a pending slot in the store under the token id, or, while the store is away, a
   * local decision with no slot (the backend's own count covers the client once it arrives).
   */
  async pickForRedirect(pool: string, tried: readonly string[], pending: NonNullable<ReserveOptions['pending']>): Promise<RedirectPick | undefined> {
    const choice = await this.choose(pool, tried, pending);
    return choice && { lease: choice.lease, reserved: choice.inStore };
  }

  /** Cancels a pending redirect slot whose 307 was never sent (the client left). */
  cancel(pick: RedirectPick): void {
    if (!pick.reserved) return;
    this.guard.call(() => this.store.release(pick.lease)).catch(() => this.metrics.storeErrors.inc({ operation: 'release' }));
  }

  /**
   * The store may have just lost its data (it came back, or forgot this gateway): for `ms`, a pick
   * that finds no eligible backend in the store falls back to the local view, which still knows
   * the backends until their agents have registered again. Otherwise an empty answer is trusted:
   * a backend that left without this gateway hearing of it is more likely gone than lost.
   */
  distrustEmptyStore(ms: number): void {
    this.emptyStoreSuspectUntil = Math.max(this.emptyStoreSuspectUntil, Date.now() + ms);
  }

  /**
   * A backend could not be reached: skip it here for UPSTREAM_EJECT_MS, and tell the registry
   * (a `suspect` event), whose health check then takes it out of every gateway's picks if it fails.
   */
  eject(pool: string, backendId: string): void {
    if (!this.ejections.eject(backendId) || !this.guard.isUp) return;
    this.store.publish({ type: 'suspect', pool, id: backendId }).catch(() => undefined);
  }

  /** The store's choice (counted there), or the local view's when the store cannot give one. */
  private async choose(pool: string, tried: readonly string[], pending?: ReserveOptions['pending']): Promise<{ lease: Lease; inStore: boolean } | undefined> {
    const ejected = this.ejections.current();
    let reason: LocalReason = 'store-unavailable';
    if (this.guard.isUp) {
      try {
        const lease = await this.reserve(pool, tried, ejected, pending);
        if (lease) return { lease, inStore: true };
        if (!this.emptyStoreSuspect()) return undefined;
        reason = 'store-empty';
      } catch {
        this.metrics.storeErrors.inc({ operation: 'reserve' });
      }
    }
    const record = this.pickLocally(pool, tried, ejected, reason);
    if (!record) return undefined;
    return { lease: { pool, backendId: record.id, url: record.url, publicUrl: record.publicUrl, holder: this.config.gatewayId }, inStore: false };
  }

  private async reserve(pool: string, tried: readonly string[], ejected: readonly string[], pending?: ReserveOptions['pending']): Promise<Lease | undefined> {
    const holder = this.config.gatewayId;
    const exclude = ejected.length === 0 ? tried : [...new Set([...ejected, ...tried])];
    const options = { exclude, policy: this.config.GATEWAY_POLICY, pending };
    const lease = await this.guard.call(() => this.store.reserve(pool, holder, options));
    // Every backend ejected: try them anyway rather than refuse (they may be back).
    if (lease || ejected.length === 0) return lease;
    return this.guard.call(() => this.store.reserve(pool, holder, { ...options, exclude: tried }));
  }

  private emptyStoreSuspect(): boolean {
    return this.emptyStoreSuspectUntil > 0 && Date.now() < this.emptyStoreSuspectUntil;
  }

  private pickLocally(pool: string, tried: readonly string[], ejected: readonly string[], reason: LocalReason) {
    const own = (id: string) => this.book.own(pool, id);
    const policy = this.config.GATEWAY_POLICY;
    const turn = this.turn++;
    const exclude = ejected.length === 0 ? tried : [...new Set([...ejected, ...tried])];
    const record = this.view.pick(pool, exclude, policy, own, this.random, turn) ?? (ejected.length > 0 ? this.view.pick(pool, tried, policy, own, this.random, turn) : undefined);
    if (record) this.metrics.localPicks.inc({ pool, reason });
    return record;
  }
}
