import type { ServerResponse } from 'node:http';

/**
 * Waits `ms`, unless the client goes away first: then the timer is cleared at once (a dropped
 * request holds nothing) and the result is false.
 */
export function waitUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

/** Keeps the CPU busy for `ms` (synchronously: the event loop is blocked, as real CPU-bound work does). */
export function burnCpu(ms: number, now: () => number = () => performance.now()): number {
  const end = now() + ms;
  let rounds = 0;
  let x = 0;
  do {
    for (let i = 0; i < 10_000; i++) x = Math.sqrt(x + i) * 1.000001;
    rounds++;
  } while (now() < end);
  return x > -1 ? rounds : 0; // use x, so the loop cannot be optimised away
}
