import type { Candidate } from './types';

/**
 * Fewest active connections per unit of weight; ties go to `random()` in [0, 1).
 * Draining backends and backends without capacity (weight <= 0) are never chosen.
 * The Redis `reserve` script (store/redis/lua/scripts.ts) is the same rule spelled in Lua.
 */
export function selectLeastLoaded<C extends Candidate>(pool: readonly C[], random: () => number): C | undefined {
  // Two passes rather than a list of the tied: this runs once per request and allocates nothing.
  let bestLoad = Infinity;
  let ties = 0;
  for (const c of pool) {
    if (c.draining || !(c.weight > 0)) continue;
    const load = loadOf(c.active, c.weight);
    if (load < bestLoad) {
      bestLoad = load;
      ties = 1;
    } else if (load === bestLoad) {
      ties++;
    }
  }
  if (ties === 0) return undefined;
  let skip = Math.floor(random() * ties);
  for (const c of pool) {
    if (c.draining || !(c.weight > 0) || loadOf(c.active, c.weight) !== bestLoad) continue;
    if (skip-- === 0) return c;
  }
  return undefined; // not reached: `skip` < `ties`
}

/** The score a backend is ranked by. */
export function loadOf(active: number, weight: number): number {
  return active / weight;
}

/**
 * The load a pick compares. The gateways know exactly what they forward, the backend knows its own
 * total (including traffic no gateway saw): they count the same requests, so the larger wins and
 * neither hides the other. Pending redirect reservations are clients that have not reached the
 * backend yet, counted by nobody else, so they add.
 */
export function effectiveActive(inflight: number, reported: number, pending = 0): number {
  return Math.max(inflight, reported) + pending;
}
