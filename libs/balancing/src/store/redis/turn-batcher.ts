import type { Lease } from '../../core/types';

/**
 * How long queued releases wait for a pick of the same pool and holder to ride on before they go
 * on their own. They are off the response path either way; the price is that the shared count of
 * a finished request may stay up for at most this much longer (other picks see it a little late).
 */
export const RELEASE_LINGER_MS = 2;

export interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
}

/** What one pool and holder has queued: plain reserves of this turn, releases not sent yet. */
interface Queue {
  readonly pool: string;
  readonly holder: string;
  reserves: Waiter<Lease | undefined>[];
  /** One id per slot; every release queued shares `released`, which settles with the call that carries them. */
  releaseIds: string[];
  released: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;
  linger: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Per pool and holder, the plain reserves (least-connections, no exclusions, no pending
 * reservation) of the current event-loop turn, and the releases not sent yet.
 * - Reserves go at setImmediate, as one `sendReserves` call, which settles each of them; the
 *   releases queued by then ride on that same call.
 * - Releases wait for such a call up to RELEASE_LINGER_MS (an unref'd timer: it never keeps the
 *   process alive), then go on their own with `sendReleases`. A release never delays a response;
 *   the shared count of a finished request may stay up for at most RELEASE_LINGER_MS longer.
 * The releases of a queue share one promise: it resolves when the call that carried them
 * succeeded and rejects with its error when it failed (then the reserves it carried reject too).
 */
export class TurnBatcher {
  private readonly queues = new Map<string, Map<string, Queue>>();
  private scheduled = false;

  constructor(
    private readonly sendReserves: (pool: string, holder: string, waiters: readonly Waiter<Lease | undefined>[], releaseIds: readonly string[]) => Promise<void>,
    private readonly sendReleases: (pool: string, holder: string, ids: readonly string[]) => Promise<unknown>,
  ) {}

  reserve(pool: string, holder: string): Promise<Lease | undefined> {
    const queue = this.queueOf(pool, holder);
    const reserved = new Promise<Lease | undefined>((resolve, reject) => queue.reserves.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.endTurn());
    }
    return reserved;
  }

  release(lease: Lease): Promise<void> {
    const queue = this.queueOf(lease.pool, lease.holder);
    queue.releaseIds.push(lease.backendId);
    if (!queue.released) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      queue.released = { promise, resolve, reject };
      queue.linger = setTimeout(() => void this.sendQueuedReleases(queue), RELEASE_LINGER_MS);
      queue.linger.unref();
    }
    return queue.released.promise;
  }

  /** Sends every queued release now, on its own (reconcile, close); resolves when each call settled. */
  flushReleases(): Promise<void> {
    return Promise.allSettled(this.allQueues().map((q) => this.sendQueuedReleases(q))).then(() => undefined);
  }

  /** Rejects the reserves still waiting for the end of the turn (the store is closing). */
  rejectReserves(err: unknown): void {
    for (const queue of this.allQueues()) {
      for (const w of this.takeReserves(queue)) w.reject(err);
    }
  }

  private endTurn(): void {
    this.scheduled = false;
    for (const queue of this.allQueues()) {
      const waiters = this.takeReserves(queue);
      if (waiters.length === 0) continue;
      const { ids, released } = this.takeReleases(queue);
      // A waiter settled already ignores the rejection.
      this.sendReserves(queue.pool, queue.holder, waiters, ids).then(
        () => released?.resolve(),
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
          released?.reject(err);
        },
      );
    }
  }

  private sendQueuedReleases(queue: Queue): Promise<void> {
    const { ids, released } = this.takeReleases(queue);
    if (!released) return Promise.resolve();
    this.sendReleases(queue.pool, queue.holder, ids).then(() => released.resolve(), released.reject);
    return released.promise;
  }

  /** A queue per pool and holder, kept once made (a gateway has a few): a request allocates no key and no queue. */
  private queueOf(pool: string, holder: string): Queue {
    let byHolder = this.queues.get(pool);
    if (!byHolder) this.queues.set(pool, (byHolder = new Map()));
    let queue = byHolder.get(holder);
    if (!queue) byHolder.set(holder, (queue = { pool, holder, reserves: [], releaseIds: [], released: undefined, linger: undefined }));
    return queue;
  }

  private takeReserves(queue: Queue): Waiter<Lease | undefined>[] {
    const waiters = queue.reserves;
    if (waiters.length > 0) queue.reserves = [];
    return waiters;
  }

  private takeReleases(queue: Queue): { ids: string[]; released: Queue['released'] } {
    const taken = { ids: queue.releaseIds, released: queue.released };
    clearTimeout(queue.linger);
    queue.releaseIds = [];
    queue.released = undefined;
    queue.linger = undefined;
    return taken;
  }

  private allQueues(): Queue[] {
    return [...this.queues.values()].flatMap((byHolder) => [...byHolder.values()]);
  }
}

