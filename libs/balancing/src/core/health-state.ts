/**
 * Active health checks, HAProxy's `check inter rise fall`: a backend that is up goes down after
 * `fall` failed checks in a row, one that is down comes back after `rise` passed checks in a row.
 * A single result against the trend resets the streak.
 */
export type Health = 'up' | 'down';

export interface HealthTrack {
  readonly health: Health;
  /** Consecutive results that disagree with `health`. */
  readonly streak: number;
}

export interface HealthThresholds {
  readonly rise: number;
  readonly fall: number;
}

export function nextHealth(track: HealthTrack, passed: boolean, thresholds: HealthThresholds): HealthTrack {
  const agrees = passed === (track.health === 'up');
  if (agrees) return track.streak === 0 ? track : { health: track.health, streak: 0 };
  const streak = track.streak + 1;
  const needed = track.health === 'up' ? thresholds.fall : thresholds.rise;
  if (streak < needed) return { health: track.health, streak };
  return { health: passed ? 'up' : 'down', streak: 0 };
}
