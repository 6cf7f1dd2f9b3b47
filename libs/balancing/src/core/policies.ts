import { loadOf, selectLeastLoaded } from './select-least-loaded';
import type { Candidate } from './types';

/**
 * How a gateway chooses among the active, healthy backends of a pool. All compare the same global
 * load (the shared view); they differ in how much of it they look at.
 * - least-connections: the lowest load of all (default; exact, what this system is for).
 * - power-of-two: the lower of two backends drawn at random (Mitzenmacher); fewer herding risks
 *   when views are stale, cheaper with very large pools.
 * - round-robin: in turn, ignoring load (for comparison in the benchmark).
 */
export const POLICIES = ['least-connections', 'power-of-two', 'round-robin'] as const;
export type Policy = (typeof POLICIES)[number];

function eligible<C extends Candidate>(pool: readonly C[]): C[] {
  return pool.filter((c) => !c.draining && c.weight > 0);
}

/** Two distinct backends drawn with `random`; the less loaded wins, a tie goes to the first drawn. */
export function selectPowerOfTwo<C extends Candidate>(pool: readonly C[], random: () => number): C | undefined {
  const candidates = eligible(pool);
  if (candidates.length <= 1) return candidates[0];
  const i = Math.floor(random() * candidates.length);
  let j = Math.floor(random() * (candidates.length - 1));
  if (j >= i) j += 1;
  const a = candidates[i];
  const b = candidates[j];
  return loadOf(b.active, b.weight) < loadOf(a.active, a.weight) ? b : a;
}

/** The `turn`-th eligible backend in id order. */
export function selectRoundRobin<C extends Candidate>(pool: readonly C[], turn: number): C | undefined {
  const candidates = eligible(pool).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return candidates.length === 0 ? undefined : candidates[turn % candidates.length];
}

export function selectByPolicy<C extends Candidate>(
  policy: Policy,
  pool: readonly C[],
  random: () => number,
  turn: number,
): C | undefined {
  switch (policy) {
    case 'least-connections':
      return selectLeastLoaded(pool, random);
    case 'power-of-two':
      return selectPowerOfTwo(pool, random);
    case 'round-robin':
      return selectRoundRobin(pool, turn);
  }
}

/**
 * Slow start: a backend that joined at `since` counts with a fraction of its weight that grows
 * linearly from `minFraction` to 1 at `until`, so a new allocation gets traffic from its first
 * second without receiving every new long-lived session at once.
 */
export function slowStartFactor(now: number, since: number, until: number, minFraction = SLOW_START_MIN_FRACTION): number {
  if (now >= until || until <= since) return 1;
  return Math.max(minFraction, Math.min(1, (now - since) / (until - since)));
}

export const SLOW_START_MIN_FRACTION = 0.1;
