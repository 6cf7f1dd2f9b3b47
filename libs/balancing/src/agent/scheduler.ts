/** Timers as a port, so the agent's schedule can be driven by a fake clock in unit tests. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: an agent's beats never keep a process alive on their own. */
export const realScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Resolves with the promise's value, or with `fallback` after `ms` (the promise keeps running). */
export function settleWithin<T>(promise: Promise<T>, ms: number, fallback: T, scheduler: Scheduler = realScheduler): Promise<T> {
  let handle: unknown;
  const timeout = new Promise<T>((resolve) => {
    handle = scheduler.setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => scheduler.clearTimeout(handle));
}
