/** Epoch ms until which a backend (or gateway) counts as alive after a beat at `now`. */
export function livenessDeadline(now: number, ttlMs: number): number {
  return now + ttlMs;
}

export function isAlive(deadline: number | undefined, now: number): boolean {
  return deadline !== undefined && deadline >= now;
}

/** How often an agent beats for a given deadline: three chances before the deadline lapses. */
export function heartbeatIntervalFor(ttlMs: number): number {
  return Math.max(50, Math.floor(ttlMs / 3));
}
