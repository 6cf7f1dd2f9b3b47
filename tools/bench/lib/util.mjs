// Small helpers shared by the scenarios.

/** Median of a list (mean of the two middle values for an even count). @param {number[]} xs */
export function median(xs) {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `fn` with a list of cleanups that always run (in reverse order), even on failure.
 * @template T
 * @param {(stops: (() => Promise<unknown>)[]) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withCleanup(fn) {
  /** @type {(() => Promise<unknown>)[]} */
  const stops = [];
  try {
    return await fn(stops);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
