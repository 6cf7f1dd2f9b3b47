import type { Candidate } from './types';

/**
 * Fewest active connections per unit of weight; ties go to `random()` in [0, 1).
 * Draining backends and backends without capacity (weight <= 0) are never chosen.
 * The Redis pick script (store/redis/lua/reserve.lua) is the same rule spelled in Lua.
 */
export function selectLeastLoaded<C extends Candidate>(pool: readonly C[], random: () => number): C | undefined {
  let best: C[] = [];
  let bestLoad = Infinity;
  for (const c of pool) {
    if (c.draining || !(c.weight > 0)) continue;
    const load = loadOf(c.active, c.weight);
    if (load < bestLoad) {
      bestLoad = load;
      best = [c];
    } else if (load === bestLoad) {
      best.push(c);
    }
  }
  return best[Math.floor(random() * best.length)]; // undefined when nothing is eligible
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
