import { z } from '@lb/runtime';

/** `?ms=N`: a whole number of milliseconds up to the configured cap; absent means 0. */
export function workQuery(maxMs: number) {
  const rule = `expected a whole number of milliseconds 0-${maxMs} (BACKEND_MAX_WORK_MS)`;
  return z.object({
    ms: z
      .string({ message: rule })
      .regex(/^\d{1,15}$/, { message: rule })
      .transform(Number)
      .refine((n) => n <= maxMs, { message: rule })
      .default(0),
  });
}

/** Simulated durations stay within what a Node timer can wait (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function scaledDuration(ms: number, slowdown: number): number {
  return Math.min(MAX_TIMER_MS, Math.round(ms * slowdown));
}
