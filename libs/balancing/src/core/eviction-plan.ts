/**
 * What the registry's sweep does with backends whose liveness deadline lapsed. A lapse means
 * "no beat was recorded", which is evidence that a backend is gone only if beats *could* be
 * recorded; and a whole pool lapsing at once is more likely the control plane's trouble than the
 * fleet's. So:
 * - While the store has not answered the registry without trouble (no failed or stalled call) for
 *   a full liveness TTL, nothing is evicted: every lapsed backend gets a new deadline (forgive).
 *   A Redis that stalled, restarted or failed over, and a registry that was itself down, thus
 *   evict nobody.
 * - Otherwise at most `maxShare` of the pool is evicted per TTL window on the lapse alone (oldest
 *   first); the rest must be confirmed down (nothing listens on their address) to go.
 */
export interface EvictionInput {
  /** Lapsed backends, oldest deadline first. */
  readonly lapsed: readonly { readonly id: string }[];
  /** Backends in the pool, lapsed or not. */
  readonly poolSize: number;
  /** How long the store has answered this registry without a failure or a stall (ms). */
  readonly storeHealthyForMs: number;
  readonly ttlMs: number;
  /** Share of the pool (0-1) that may be evicted per TTL window without confirmation. */
  readonly maxShare: number;
  /** Backends of this pool already evicted within the last TTL. */
  readonly recentlyEvicted: number;
}

export interface EvictionPlan {
  /** Evict now. */
  readonly evict: string[];
  /** Evict only if confirmed down. */
  readonly confirm: string[];
  /** Give a new deadline: their beats could not be recorded. */
  readonly forgive: string[];
}

export function planEviction(input: EvictionInput): EvictionPlan {
  const ids = input.lapsed.map((l) => l.id);
  if (ids.length === 0) return { evict: [], confirm: [], forgive: [] };
  if (input.storeHealthyForMs < input.ttlMs) return { evict: [], confirm: [], forgive: ids };
  const budget = Math.max(0, Math.floor(input.maxShare * input.poolSize) - input.recentlyEvicted);
  return { evict: ids.slice(0, budget), confirm: ids.slice(budget), forgive: [] };
}
