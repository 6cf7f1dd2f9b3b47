import type { Lease, LoadStore, StoreGuard } from '@lb/balancing';

interface PoolLeases {
  /** backend id -> slots this gateway holds now: its lease table as it should be in the store. */
  readonly held: Map<string, number>;
  /** The store's copy may differ from `held` (a local pick, a failed release, a lost store). */
  dirty: boolean;
  /** Bumped when a reconcile takes its snapshot; a local lease belongs to the epoch it was taken in. */
  epoch: number;
  /** Local leases of epochs below this are in the store (a reconcile that included them landed). */
  confirmed: number;
}

/** Where a released lease goes: the store (which counts it off) or nowhere (the store never counted it). */
export interface LeaseReleaser {
  /**
   * Counts a slot off in the store: at once (the embedded store; it cannot fail), or a promise
   * that rejects if the store did not take it.
   */
  releaseInStore(lease: Lease): Promise<void> | void;
  /** False while the store is degraded: a release then only marks the pool for reconciliation. */
  storeUp(): boolean;
}

/** One slot this gateway holds, from the pick until the exchange ends; released exactly once. */
export class HeldLease {
  private done = false;

  constructor(
    readonly lease: Lease,
    /** Counted by the store when it was taken (a store pick), rather than picked locally. */
    readonly counted: boolean,
    readonly epoch: number,
    private readonly book: LeaseBook,
  ) {}

  /** Idempotent, never blocks the response path. */
  release(): void {
    if (this.done) return;
    this.done = true;
    this.book.release(this);
  }
}

/**
 * The gateway's own leases: the truth the store's per-gateway lease tables are reconciled to.
 * A slot picked from the store is counted there and released there; one picked locally (store
 * away) is held here only, and its pool marked dirty so the next reconcile writes it in. A
 * release the store did not take marks the pool dirty too: it is never just logged.
 */
export class LeaseBook {
  private readonly pools = new Map<string, PoolLeases>();
  /** Told when a pool turns dirty (LeaseSync schedules a reconcile). */
  onDirty: (pool: string) => void = () => undefined;

  constructor(
    private readonly releaser: LeaseReleaser,
    /** A release the store did not take (for the metrics). */
    private readonly onReleaseFailed: (err: unknown, lease: Lease) => void = () => undefined,
  ) {}

  hold(lease: Lease, counted: boolean): HeldLease {
    const p = this.poolOf(lease.pool);
    p.held.set(lease.backendId, (p.held.get(lease.backendId) ?? 0) + 1);
    const held = new HeldLease(lease, counted, p.epoch, this);
    if (!counted) this.markDirty(lease.pool);
    return held;
  }

  /** Called by HeldLease.release(), once per lease. */
  release(held: HeldLease): void {
    const { pool, backendId } = held.lease;
    const p = this.poolOf(pool);
    const n = (p.held.get(backendId) ?? 0) - 1;
    if (n > 0) p.held.set(backendId, n);
    else p.held.delete(backendId);
    const inStore = held.counted || held.epoch < p.confirmed;
    if (!inStore || !this.releaser.storeUp()) {
      this.markDirty(pool);
      return;
    }
    const pending = this.releaser.releaseInStore(held.lease);
    if (pending) {
      pending.catch((err: unknown) => {
        this.markDirty(pool);
        this.onReleaseFailed(err, held.lease);
      });
    }
  }

  /** This gateway's slots on a backend right now. */
  own(pool: string, backendId: string): number {
    return this.pools.get(pool)?.held.get(backendId) ?? 0;
  }

  /** This gateway's slots per backend of a pool right now (admin /status). */
  heldIn(pool: string): Record<string, number> {
    return Object.fromEntries(this.pools.get(pool)?.held ?? []);
  }

  /** Total slots held in a pool. */
  total(pool: string): number {
    let sum = 0;
    for (const n of this.pools.get(pool)?.held.values() ?? []) sum += n;
    return sum;
  }

  isDirty(pool: string): boolean {
    return this.pools.get(pool)?.dirty ?? false;
  }

  markDirty(pool: string): void {
    const p = this.poolOf(pool);
    const was = p.dirty;
    p.dirty = true;
    if (!was) this.onDirty(pool);
  }

  /**
   * Takes the snapshot a reconcile writes. `landed()` once the store took it: every local lease
   * held at the snapshot is then counted there (and released there); `failed()` otherwise.
   */
  snapshot(pool: string): { readonly held: ReadonlyMap<string, number>; landed(): void; failed(): void } {
    const p = this.poolOf(pool);
    p.epoch += 1;
    const epoch = p.epoch;
    p.dirty = false;
    return {
      held: new Map(p.held),
      landed: () => {
        p.confirmed = Math.max(p.confirmed, epoch);
      },
      failed: () => this.markDirty(pool),
    };
  }

  private poolOf(pool: string): PoolLeases {
    let p = this.pools.get(pool);
    if (!p) {
      p = { held: new Map(), dirty: false, epoch: 0, confirmed: 0 };
      this.pools.set(pool, p);
    }
    return p;
  }
}

/**
 * Releases into a remote store under the guard's deadline. The store sends the releases it
 * collects together in one call (riding on the next pick's, or alone) and hands each of them the
 * same promise, so the guard watches that promise once per call rather than once per release.
 */
export function guardedReleaser(store: Pick<LoadStore, 'release'>, guard: Pick<StoreGuard, 'isUp' | 'call'>): LeaseReleaser {
  let sent: Promise<void> | undefined;
  let guarded: Promise<void> | undefined;
  return {
    storeUp: () => guard.isUp,
    releaseInStore: (lease) => {
      const next = store.release(lease);
      if (next !== sent || !guarded) {
        sent = next;
        guarded = guard.call(() => next);
      }
      return guarded;
    },
  };
}
