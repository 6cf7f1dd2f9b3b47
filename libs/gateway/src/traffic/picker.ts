import { answersAtOnce, type EventBus, type ImmediateLoadStore, type Lease, type LoadStore, type ReserveOptions, type StoreGuard } from '@lb/balancing';
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

/** How a pick ended: a held slot, none (no eligible backend), or an error (a bug: answered 503). */
export type PickDone = (err: unknown, held: HeldLease | undefined) => void;

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
  /** The embedded store answers in the same call: no promise, no deadline, never degraded. */
  private readonly immediate: ImmediateLoadStore | undefined;
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
    this.immediate = answersAtOnce(store) ? store : undefined;
  }

  /**
   * A slot on the chosen backend, held until the exchange ends (undefined when no backend is
   * eligible), handed to `done`: in the same call on the embedded store, once Redis answered (or
   * the local view did) otherwise. A callback rather than a promise: this runs once per request.
   */
  pick(pool: string, tried: readonly string[], done: PickDone): void {
    const ejected = this.ejections.current();
    if (this.immediate) {
      let lease: Lease | undefined;
      try {
        lease = this.reserveNow(this.immediate, pool, tried, ejected);
      } catch (err) {
        done(err, undefined);
        return;
      }
      done(undefined, lease && this.book.hold(lease, true));
      return;
    }
    if (!this.guard.isUp) {
      this.pickedLocally(pool, tried, ejected, 'store-unavailable', done);
      return;
    }
    this.reserve(pool, tried, ejected).then(
      (lease) => {
        if (lease) done(undefined, this.book.hold(lease, true));
        else if (this.emptyStoreSuspect()) this.pickedLocally(pool, tried, ejected, 'store-empty', done);
        else done(undefined, undefined);
      },
      () => {
        this.metrics.storeErrors.inc({ operation: 'reserve' });
        this.pickedLocally(pool, tried, ejected, 'store-unavailable', done);
      },
    );
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

  private pickedLocally(pool: string, tried: readonly string[], ejected: readonly string[], reason: LocalReason, done: PickDone): void {
    let record;
    try {
      record = this.pickLocally(pool, tried, ejected, reason);
    } catch (err) {
      done(err, undefined);
      return;
    }
    done(undefined, record && this.book.hold(this.localLease(pool, record), false));
  }

  private localLease(pool: string, record: { id: string; url: string; publicUrl: string }): Lease {
    return { pool, backendId: record.id, url: record.url, publicUrl: record.publicUrl, holder: this.config.gatewayId };
  }

  /** Every backend ejected: try them anyway rather than refuse (they may be back). */
  private reserveNow(store: ImmediateLoadStore, pool: string, tried: readonly string[], ejected: readonly string[]): Lease | undefined {
    const holder = this.config.gatewayId;
    const policy = this.config.GATEWAY_POLICY;
    const lease = store.reserveNow(pool, holder, { exclude: ejected.length === 0 ? tried : [...new Set([...ejected, ...tried])], policy });
    if (lease || ejected.length === 0) return lease;
    return store.reserveNow(pool, holder, { exclude: tried, policy });
  }

  /** The store's choice (counted there), or the local view's when the store cannot give one (redirect mode). */
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
    return record && { lease: this.localLease(pool, record), inStore: false };
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
