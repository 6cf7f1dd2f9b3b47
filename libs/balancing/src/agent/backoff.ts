export interface BackoffSettings {
  /** Delay before the second attempt. */
  readonly initialMs: number;
  /** No delay is longer than this. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 500, maxMs: 15_000 };

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: doubling from `initialMs`, capped at
 * `maxMs`, spread by +-20% (`random()` in [0, 1)) so that backends restarted together do not retry
 * in lockstep against a registry that is coming back.
 */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(settings.maxMs, settings.initialMs * 2 ** exponent);
  return Math.round(Math.min(settings.maxMs, base * (0.8 + 0.4 * random())));
}
