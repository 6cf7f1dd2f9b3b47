import { z } from '@lb/runtime';

/** A query number as /work takes it: digits only, within [min, max]; `rule` is what the 400 says. */
export function wholeNumber(min: number, max: number, rule: string) {
  return z
    .string({ message: rule })
    .regex(/^\d{1,15}$/, { message: rule })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: rule });
}

/** `?ms=N`: a whole number of milliseconds up to the configured cap; absent means 0. */
export function workQuery(maxMs: number) {
  return z.object({ ms: wholeNumber(0, maxMs, `expected a whole number of milliseconds 0-${maxMs} (BACKEND_MAX_WORK_MS)`).default(0) });
}

/** Simulated durations stay within what a Node timer can wait (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function scaledDuration(ms: number, slowdown: number): number {
  return Math.min(MAX_TIMER_MS, Math.round(ms * slowdown));
}
