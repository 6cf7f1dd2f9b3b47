/** What a slot waits on: the raw response, whose 'close' means the client left (or the answer went out). */
export interface SlotOwner {
  readonly destroyed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

export interface SlotGrant {
  /** Whole milliseconds the request waited in the queue (0 when a slot was free). */
  readonly waitedMs: number;
  /** Frees the slot for the next in line. Idempotent; also happens when the response closes. */
  release(): void;
}

export interface SlotStats {
  /** The limit; null = unlimited. */
  readonly slots: number | null;
  readonly running: number;
  readonly queued: number;
  /** Over every slot granted since start: how many, the sum and the largest of their waits (ms). */
  readonly queueWait: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
}

interface Waiter {
  readonly owner: SlotOwner;
  readonly since: number;
  readonly resolve: (grant: SlotGrant | undefined) => void;
  readonly onClose: () => void;
}

/**
 * A worker pool (BACKEND_SLOTS): at most `limit` requests run at once, the rest wait in arrival
 * order. A request whose client leaves while it waits leaves the queue at once. Without a limit
 * every request runs at once, and is still counted in `running` and in the wait statistics (all 0 ms).
 */
export class WorkerSlots {
  private runningCount = 0;
  /** Insertion-ordered, with O(1) removal of a waiter whose client left. */
  private readonly queue = new Set<Waiter>();
  private waits = { count: 0, totalMs: 0, maxMs: 0 };

  constructor(
    readonly limit: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get stats(): SlotStats {
    return { slots: this.limit ?? null, running: this.runningCount, queued: this.queue.size, queueWait: { ...this.waits } };
  }

  /** A slot for `owner`, once one is free; undefined if its client left first. */
  acquire(owner: SlotOwner): Promise<SlotGrant | undefined> {
    if (owner.destroyed) return Promise.resolve(undefined);
    if (this.queue.size === 0 && this.hasRoom()) return Promise.resolve(this.grant(owner, 0));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        owner,
        since: this.now(),
        resolve,
        onClose: () => {
          this.queue.delete(waiter);
          resolve(undefined);
        },
      };
      this.queue.add(waiter);
      owner.once('close', waiter.onClose);
    });
  }

  private hasRoom(): boolean {
    return this.limit === undefined || this.runningCount < this.limit;
  }

  private grant(owner: SlotOwner, waitedMs: number): SlotGrant {
    this.runningCount++;
    this.waits = { count: this.waits.count + 1, totalMs: this.waits.totalMs + waitedMs, maxMs: Math.max(this.waits.maxMs, waitedMs) };
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      owner.off('close', release);
      this.runningCount--;
      this.pump();
    };
    owner.once('close', release);
    return { waitedMs, release };
  }

  private pump(): void {
    for (const waiter of this.queue) {
      if (!this.hasRoom()) return;
      this.queue.delete(waiter);
      waiter.owner.off('close', waiter.onClose);
      waiter.resolve(this.grant(waiter.owner, Math.max(0, Math.round(this.now() - waiter.since))));
    }
  }
}
